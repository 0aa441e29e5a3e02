import { crc32c } from '../engine/embedded/codec/crc32c';
import { readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from '../engine/embedded/codec/varint';

/**
 * The topics of one event stream, in canonical order (sorted, no duplicates), and their identity:
 * the CRC-32C of the names joined by ',' (a character topic names cannot hold). A cursor carries the
 * identity, so a cursor issued for another set of topics is refused rather than misread.
 */
export class TopicSet {
  readonly topics: readonly string[];
  readonly id: number;

  private constructor(topics: string[]) {
    this.topics = topics;
    this.id = crc32c(Buffer.from(topics.join(','), 'utf8'));
  }

  static of(names: Iterable<string>): TopicSet {
    return new TopicSet([...new Set(names)].sort());
  }

  indexOf(topic: string): number {
    return this.topics.indexOf(topic);
  }
}

/** Next offset per partition, per topic in TopicSet order. -1 marks a partition the stream does not read. */
export type StreamPositions = number[][];

export const NOT_READ = -1;

export class CursorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CursorError';
  }
}

const VERSION = 1;
const HEADER_BYTES = 5;
/** Far above any real stream (topics per stream × partitions); bounds what a hostile cursor can make us allocate. */
const MAX_CURSOR_CHARS = 64 * 1024;
const MAX_PARTITIONS = 100_000;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The resume cursor: every event's `id:`, so that a browser's Last-Event-ID (or `cursor=`) resumes
 * exactly after the last event the client saw. Compact and URL-safe: base64url, without padding, of
 *
 *   version       1 byte, 1
 *   topicSetId    uint32 big-endian (TopicSet.id)
 *   per topic, in TopicSet order:
 *     partitionCount  varint
 *     nextOffset      varlong per partition (zig-zag as Kafka's records; -1 = not read by this stream)
 *
 * A cursor names as many partitions as the topic had when it was issued; partitions only grow, so a
 * cursor with fewer partitions than the topic now has is valid and the new ones start at their
 * beginning. Decoding checks everything, so a bad cursor is a clear 400, never a wrong position.
 */
export function encodeCursor(set: TopicSet, positions: StreamPositions): string {
  let size = HEADER_BYTES;
  for (let t = 0; t < positions.length; t++) {
    const offsets = positions[t];
    size += sizeOfVarint(offsets.length);
    for (let p = 0; p < offsets.length; p++) size += sizeOfVarlong(offsets[p]);
  }
  const buf = Buffer.allocUnsafe(size);
  buf[0] = VERSION;
  buf.writeUInt32BE(set.id, 1);
  let pos = HEADER_BYTES;
  for (let t = 0; t < positions.length; t++) {
    const offsets = positions[t];
    pos = writeVarint(buf, pos, offsets.length);
    for (let p = 0; p < offsets.length; p++) pos = writeVarlong(buf, pos, offsets[p]);
  }
  return buf.toString('base64url');
}

/** Reads a cursor issued for `set`; throws CursorError saying what is wrong with it. */
export function decodeCursor(set: TopicSet, text: string): StreamPositions {
  if (text.length === 0) throw new CursorError('the cursor is empty');
  if (text.length > MAX_CURSOR_CHARS) throw new CursorError(`the cursor is longer than ${MAX_CURSOR_CHARS} characters`);
  if (!BASE64URL.test(text)) throw new CursorError('the cursor is not base64url text');
  const buf = Buffer.from(text, 'base64url');
  // Node's decoder skips stray trailing characters; a cursor we issued re-encodes to itself.
  if (buf.length < HEADER_BYTES || buf.toString('base64url') !== text) throw new CursorError('the cursor is truncated or corrupt');
  if (buf[0] !== VERSION) throw new CursorError(`unknown cursor version ${buf[0]}`);
  if (buf.readUInt32BE(1) !== set.id) {
    throw new CursorError(`the cursor was issued for another set of topics than ${set.topics.join(',')}`);
  }
  const cursor = { pos: HEADER_BYTES };
  const positions: StreamPositions = [];
  try {
    for (let t = 0; t < set.topics.length; t++) {
      const count = readVarint(buf, cursor);
      if (count < 0 || count > MAX_PARTITIONS) throw new CursorError(`the cursor names ${count} partitions of '${set.topics[t]}'`);
      const offsets: number[] = [];
      for (let p = 0; p < count; p++) {
        const offset = readVarlong(buf, cursor);
        if (offset < NOT_READ) throw new CursorError(`the cursor holds offset ${offset} for ${set.topics[t]}-${p}`);
        offsets.push(offset);
      }
      positions.push(offsets);
    }
  } catch (err) {
    if (err instanceof CursorError) throw err;
    throw new CursorError('the cursor is truncated or corrupt');
  }
  if (cursor.pos !== buf.length) throw new CursorError('the cursor has trailing bytes');
  return positions;
}
