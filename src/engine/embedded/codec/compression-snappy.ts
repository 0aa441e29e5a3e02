import { CorruptBatchError } from './record-batch-format';
import type { CompressionCodec } from './compression';
import { lazyNative } from './compression-native';

interface SnappyBinding {
  compressSync(data: Buffer, options: { copyOutputData: boolean }): Buffer;
  uncompressSync(data: Buffer, options: { asBuffer: true; copyOutputData: boolean }): Buffer;
}

const snappy = lazyNative('snappy', () => require('snappy') as SnappyBinding);

// Copying the output is about five times faster here than wrapping native memory in an external Buffer.
const COMPRESS_OPTIONS = { copyOutputData: true };
const UNCOMPRESS_OPTIONS = { asBuffer: true, copyOutputData: true } as const;

/** "\x82SNAPPY\0", then version 1 and minimum compatible version 1 as big-endian int32s. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_VERSION = 1;
const XERIAL_HEADER_SIZE = XERIAL_MAGIC.length + 8;
/** Uncompressed bytes per block, as Java's SnappyOutputStream by default. */
const XERIAL_BLOCK_SIZE = 32 * 1024;

/**
 * snappy (codec 2) in the framing Kafka's Java client writes (xerial's SnappyOutputStream, not the
 * snappy framing format of the snappy project):
 *
 *   header  8  magic "\x82SNAPPY\0"
 *           4  version int32 BE = 1
 *           4  minimum compatible version int32 BE = 1
 *   blocks     int32 BE compressed length, then one raw snappy block of at most 32 KiB uncompressed
 *
 * Reading also accepts a bare raw snappy block, as xerial's SnappyInputStream does when the magic is
 * missing: other clients (librdkafka among them) produce that.
 */
export const snappyCodec: CompressionCodec = {
  id: 2,
  name: 'snappy',
  compress: compressXerial,
  decompress: (data) => (isXerialFramed(data) ? decompressXerial(data) : snappy().uncompressSync(data, UNCOMPRESS_OPTIONS)),
};

function compressXerial(data: Buffer): Buffer {
  const lib = snappy();
  const parts: Buffer[] = [xerialHeader()];
  let total = XERIAL_HEADER_SIZE;
  for (let start = 0; start < data.length; start += XERIAL_BLOCK_SIZE) {
    const block = lib.compressSync(data.subarray(start, Math.min(data.length, start + XERIAL_BLOCK_SIZE)), COMPRESS_OPTIONS);
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
    total += 4 + block.length;
  }
  return Buffer.concat(parts, total);
}

function xerialHeader(): Buffer {
  const header = Buffer.allocUnsafe(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, XERIAL_MAGIC.length);
  header.writeInt32BE(XERIAL_VERSION, XERIAL_MAGIC.length + 4);
  return header;
}

function isXerialFramed(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_SIZE && data.compare(XERIAL_MAGIC, 0, XERIAL_MAGIC.length, 0, XERIAL_MAGIC.length) === 0;
}

function decompressXerial(data: Buffer): Buffer {
  const lib = snappy();
  const parts: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    if (data.length - pos < 4) throw new CorruptBatchError(`snappy block length at ${pos} is cut short`);
    const length = data.readInt32BE(pos);
    pos += 4;
    if (length < 0 || length > data.length - pos) {
      throw new CorruptBatchError(`snappy block at ${pos} claims ${length} bytes, ${data.length - pos} remain`);
    }
    const block = lib.uncompressSync(data.subarray(pos, pos + length), UNCOMPRESS_OPTIONS);
    parts.push(block);
    total += block.length;
    pos += length;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
}
