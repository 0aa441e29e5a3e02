import { CorruptBatchError } from './record-batch-format';
import type { CompressionCodec } from './compression';
import { lazyNative } from './compression-native';

interface Lz4Binding {
  /** One raw LZ4 block after a 4-byte little-endian uncompressed size. */
  compressSync(data: Buffer): Buffer;
  /** Takes the same form; the size may be an upper bound of the block's uncompressed size. */
  uncompressSync(data: Buffer): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
}

const lz4 = lazyNative('lz4', () => require('lz4-napi') as Lz4Binding);

const MAGIC = 0x184d2204;
/** FLG: version 01, independent blocks, no block checksum, no content size or checksum, no dictionary. */
const FLG = 0x60;
/** BD: 64 KiB blocks, as Kafka's Java writer. */
const BD = 0x40;
/** Header checksum: second byte of xxHash32 (seed 0) of FLG and BD, constant for these two. */
const HC = 0x82;
const BLOCK_SIZE = 64 * 1024;
const UNCOMPRESSED_BLOCK = 0x8000_0000;

const FLG_VERSION_MASK = 0xc0;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICTIONARY_ID = 0x01;

/**
 * lz4 (codec 3): the LZ4 frame format, as Kafka has used since message format v1.
 *
 *   magic 4 (LE 0x184D2204) | FLG 1 | BD 1 | [content size 8] | [dictionary id 4] | HC 1
 *   blocks: size uint32 LE (high bit: stored uncompressed), data, [block checksum 4]
 *   end mark: uint32 0, then [content checksum 4]
 *
 * Written as Kafka's Java writer does: independent 64 KiB blocks, no checksums (the batch CRC covers
 * the bytes), which is also what Kafka's reader requires (it refuses dependent blocks). The frame is
 * parsed here and each block goes to the library's block codec: its frame decoder measured about
 * ten times slower. Frames with linked blocks or a dictionary id, which Kafka never writes, go to
 * that frame decoder whole. Checksums in frames from others are skipped, not verified: the batch CRC
 * has already been checked when this runs.
 */
export const lz4Codec: CompressionCodec = {
  id: 3,
  name: 'lz4',
  compress: compressFrame,
  decompress: decompressFrame,
};

function compressFrame(data: Buffer): Buffer {
  const lib = lz4();
  const header = Buffer.allocUnsafe(7);
  header.writeUInt32LE(MAGIC, 0);
  header[4] = FLG;
  header[5] = BD;
  header[6] = HC;
  const parts: Buffer[] = [header];
  let total = header.length;
  for (let start = 0; start < data.length; start += BLOCK_SIZE) {
    const chunk = data.subarray(start, Math.min(data.length, start + BLOCK_SIZE));
    const sized = lib.compressSync(chunk);
    const compressed = sized.length - 4 < chunk.length;
    const size = Buffer.allocUnsafe(4);
    size.writeUInt32LE(compressed ? sized.length - 4 : (chunk.length | UNCOMPRESSED_BLOCK) >>> 0, 0);
    const block = compressed ? sized.subarray(4) : chunk;
    parts.push(size, block);
    total += 4 + block.length;
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts, total + 4);
}

function decompressFrame(data: Buffer): Buffer {
  if (data.length < 7 || data.readUInt32LE(0) !== MAGIC) throw new CorruptBatchError('not an LZ4 frame: bad magic');
  const flg = data[4];
  if ((flg & FLG_VERSION_MASK) !== 0x40) throw new CorruptBatchError(`LZ4 frame version ${flg >> 6} is not 1`);
  if ((flg & FLG_BLOCK_INDEPENDENCE) === 0 || (flg & FLG_DICTIONARY_ID) !== 0) return lz4().decompressFrameSync(data);
  const maxBlockSize = 1 << (2 * ((data[5] >> 4) & 7) + 8);
  let pos = 6 + ((flg & FLG_CONTENT_SIZE) !== 0 ? 8 : 0) + 1;
  const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0 ? 4 : 0;
  const lib = lz4();
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    if (data.length - pos < 4) throw new CorruptBatchError('LZ4 frame ends before its end mark');
    const word = data.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & ~UNCOMPRESSED_BLOCK;
    if (size > maxBlockSize || size > data.length - pos - blockChecksum) {
      throw new CorruptBatchError(`LZ4 block of ${size} bytes does not fit (max ${maxBlockSize}, ${data.length - pos} left)`);
    }
    let block: Buffer;
    if ((word & UNCOMPRESSED_BLOCK) !== 0) {
      block = data.subarray(pos, pos + size);
    } else {
      // The block codec wants its uncompressed size first; the frame's block size bounds it.
      const sized = Buffer.allocUnsafe(4 + size);
      sized.writeUInt32LE(maxBlockSize, 0);
      data.copy(sized, 4, pos, pos + size);
      block = lib.uncompressSync(sized);
    }
    parts.push(block);
    total += block.length;
    pos += size + blockChecksum;
  }
  const trailer = (flg & FLG_CONTENT_CHECKSUM) !== 0 ? 4 : 0;
  if (data.length - pos !== trailer) throw new CorruptBatchError(`LZ4 frame has ${data.length - pos} bytes after its end mark`);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
}
