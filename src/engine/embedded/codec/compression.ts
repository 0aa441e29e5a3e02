import { EngineError } from '../../engine-error';
import { gzipCodec } from './compression-gzip';
import { lz4Codec } from './compression-lz4';
import { snappyCodec } from './compression-snappy';
import { zstdCodec } from './compression-zstd';
import { CompressionName, COMPRESSION_NONE } from './record-batch-format';

/**
 * One of Kafka's batch compression codecs. In a compressed v2 batch the records section (every byte
 * after the 61-byte header) is one blob in the codec's stream format, and attributes bits 0-2 hold
 * `id`; the header, recordCount and CRC included, stays as it is, so the CRC covers the compressed
 * bytes and offset and time indexes never need to decompress.
 *
 * Both directions are synchronous: offsets are assigned synchronously in call order (see
 * partition-log.ts), and a batch of about 100 KB takes about a millisecond with gzip and a fraction
 * of one with the others (bench/compression.ts).
 */
export interface CompressionCodec {
  readonly id: number;
  readonly name: Exclude<CompressionName, 'none'>;
  compress(data: Buffer): Buffer;
  /** Throws on malformed input; the caller turns that into corruption of the batch. */
  decompress(data: Buffer): Buffer;
}

/**
 * The codecs by id. gzip comes with Node's zlib; the others are native packages loaded on first
 * use (see each codec's file), so a platform without one still runs every other codec.
 */
const CODECS: readonly (CompressionCodec | undefined)[] = [undefined, gzipCodec, snappyCodec, lz4Codec, zstdCodec];

/** Values of the `compression.type` topic config, Kafka's names. */
export type CompressionType = 'producer' | CompressionName;

/**
 * The codec id a topic's `compression.type` stores batches with. `producer` keeps the producer's
 * codec; records reaching the engine as ProducerRecords arrive uncompressed, so that is none.
 */
export function compressionIdOf(type: string): number {
  if (type === 'producer' || type === 'none') return COMPRESSION_NONE;
  const id = CODECS.findIndex((c) => c !== undefined && c.name === type);
  if (id < 0) throw new EngineError('INVALID_CONFIG', `Unknown compression.type '${type}'`);
  return id;
}

/**
 * The codec for a batch's id; ids Kafka does not define (5-7) are RangeError, a caller's bug. A codec
 * whose library cannot be loaded on this platform throws UNSUPPORTED_COMPRESSION_TYPE when used.
 */
export function compressionCodec(id: number): CompressionCodec {
  const codec = CODECS[id];
  if (codec === undefined) throw new RangeError(`no compression codec has id ${id}`);
  return codec;
}

/**
 * Throws INVALID_CONFIG when `compression.type` names a codec this process cannot run, so a topic
 * is refused rather than created with batches it could never write.
 */
export function assertCompressionTypeAvailable(type: string | null | undefined): void {
  if (type === undefined || type === null) return;
  const id = compressionIdOf(type);
  if (id === COMPRESSION_NONE) return;
  try {
    compressionCodec(id).compress(Buffer.alloc(1));
  } catch (err) {
    throw new EngineError(
      'INVALID_CONFIG',
      `compression.type '${type}' is not available on this platform (UNSUPPORTED_COMPRESSION_TYPE): ${(err as Error).message}`,
      { cause: err },
    );
  }
}
