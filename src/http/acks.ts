import { ApiError } from '../errors';
import type { Acks } from '../engine/storage-engine';

/** Parses Kafka's acks spellings: all / -1, 1, 0. */
export function parseAcks(raw: string | undefined, fallback: Acks): Acks {
  if (raw === undefined || raw === '') return fallback;
  switch (raw.trim().toLowerCase()) {
    case 'all':
    case '-1':
      return -1;
    case '1':
      return 1;
    case '0':
      return 0;
    default:
      throw new ApiError('INVALID_REQUEST', `Invalid acks '${raw}': expected all, -1, 1 or 0`);
  }
}
