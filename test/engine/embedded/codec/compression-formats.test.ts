/**
 * The stream formats inside compressed batches, checked against what Kafka's Java client writes and
 * reads: xerial-framed snappy (and bare snappy from other clients), LZ4 frames with independent
 * blocks, zstd and gzip frames. Where the reference command-line tools are installed (lz4, zstd),
 * they decode what we write and we decode what they write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { compressionCodec } from '../../../../src/engine/embedded/codec/compression';

/* eslint-disable @typescript-eslint/no-require-imports */
const snappyLib: { compressSync(b: Buffer): Buffer } = require('snappy');
const lz4Lib: { compressFrameSync(b: Buffer): Buffer; decompressFrameSync(b: Buffer): Buffer } = require('lz4-napi');
/* eslint-enable @typescript-eslint/no-require-imports */

const gzip = compressionCodec(1);
const snappy = compressionCodec(2);
const lz4 = compressionCodec(3);
const zstd = compressionCodec(4);

/** About 300 KB of JSON lines: several 32 KiB snappy blocks and several LZ4 blocks. */
const text = Buffer.from(
  Array.from({ length: 4_000 }, (_, i) => JSON.stringify({ id: i, user: `user-${(i * 7919) % 1000}`, note: 'x'.repeat(i % 50) })).join('\n'),
);

/** Runs a reference tool on `input`; undefined when it is not installed. */
function tool(command: string, args: string[], input: Buffer): Buffer | undefined {
  const result = spawnSync(command, args, { input, maxBuffer: 64 << 20 });
  if (result.error !== undefined && (result.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  assert.equal(result.status, 0, `${command} ${args.join(' ')}: ${result.stderr?.toString()}`);
  return result.stdout;
}

test('snappy is written in xerial framing: magic, versions 1 and 1, blocks of at most 32 KiB', () => {
  const out = snappy.compress(text);
  assert.deepEqual([...out.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  assert.equal(out.readInt32BE(8), 1);
  assert.equal(out.readInt32BE(12), 1);
  let pos = 16;
  let blocks = 0;
  while (pos < out.length) {
    const length = out.readInt32BE(pos);
    pos += 4 + length;
    blocks++;
  }
  assert.equal(pos, out.length, 'blocks end exactly at the end');
  assert.equal(blocks, Math.ceil(text.length / 32_768));
  assert.ok(snappy.decompress(out).equals(text));
});

test('snappy reads a bare raw snappy block too, as Java readers do', () => {
  assert.ok(snappy.decompress(snappyLib.compressSync(text)).equals(text));
  assert.ok(snappy.decompress(snappyLib.compressSync(Buffer.from('short'))).equals(Buffer.from('short')));
});

test('snappy refuses a xerial stream whose block length runs past the end', () => {
  const out = snappy.compress(text);
  const bad = Buffer.from(out);
  bad.writeInt32BE(out.length, 16);
  assert.throws(() => snappy.decompress(bad), /claims/);
  assert.throws(() => snappy.decompress(out.subarray(0, out.length - 3)));
});

test('empty input round-trips through every codec', () => {
  for (const codec of [gzip, snappy, lz4, zstd]) {
    assert.equal(codec.decompress(codec.compress(Buffer.alloc(0))).length, 0, codec.name);
  }
});

test('lz4 is an LZ4 frame as Kafka writes it: version 01, independent 64 KiB blocks, header checksum', () => {
  const out = lz4.compress(text);
  assert.deepEqual([...out.subarray(0, 7)], [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
  let pos = 7;
  let blocks = 0;
  for (let size = out.readUInt32LE(pos); size !== 0; size = out.readUInt32LE(pos)) {
    assert.ok((size & 0x7fff_ffff) <= 65_536);
    pos += 4 + (size & 0x7fff_ffff);
    blocks++;
  }
  assert.equal(pos + 4, out.length, 'the end mark ends the frame');
  assert.equal(blocks, Math.ceil(text.length / 65_536));
  // The library's own frame decoder checks the header checksum: a second, independent reader.
  assert.ok(lz4Lib.decompressFrameSync(out).equals(text));
  assert.ok(lz4.decompress(out).equals(text));
  assert.ok(lz4.decompress(lz4Lib.compressFrameSync(text)).equals(text), 'frames the library writes');
});

test('lz4 stores incompressible blocks uncompressed (high bit) and reads them back', () => {
  const noise = randomBytes(150_000);
  const out = lz4.compress(noise);
  assert.ok((out.readUInt32LE(7) & 0x8000_0000) !== 0);
  assert.ok(lz4Lib.decompressFrameSync(out).equals(noise));
  assert.ok(lz4.decompress(out).equals(noise));
});

test('lz4 refuses frames cut short, with blocks past the end, or with bytes after the end mark', () => {
  const out = lz4.compress(text);
  assert.throws(() => lz4.decompress(out.subarray(0, out.length - 4)), /end mark/);
  assert.throws(() => lz4.decompress(out.subarray(0, 1_000)), /does not fit/);
  assert.throws(() => lz4.decompress(Buffer.concat([out, Buffer.from([1])])), /after its end mark/);
  const bad = Buffer.from(out);
  bad.writeUInt32LE(0, 0);
  assert.throws(() => lz4.decompress(bad), /magic/);
});

test('lz4: the reference lz4 tool decodes our frames (header checksum included) and we decode its', (t) => {
  const decoded = tool('lz4', ['-dc'], lz4.compress(text));
  if (decoded === undefined) return t.skip('lz4 command not installed');
  assert.ok(decoded.equals(text));
  // Its defaults add a content checksum; -BD links blocks (read by the library's frame decoder);
  // -BX adds block checksums; the content size needs a file, as the tool must know the size.
  const file = join(mkdtempSync(join(tmpdir(), 'basket-lz4-')), 'text');
  writeFileSync(file, text);
  try {
    for (const args of [['-c'], ['-c', '-BD', '-B4'], ['-c', '-BX', '-B4'], ['-c', '--content-size', '-B5', file]]) {
      const theirs = tool('lz4', args, text)!;
      assert.ok(lz4.decompress(theirs).equals(text), `lz4 ${args.join(' ')}`);
    }
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
});

test('zstd is a zstd frame; the reference zstd tool decodes it and we decode its streaming frames', (t) => {
  const out = zstd.compress(text);
  assert.equal(out.readUInt32LE(0), 0xfd2fb528);
  const decoded = tool('zstd', ['-dc'], out);
  if (decoded === undefined) return t.skip('zstd command not installed');
  assert.ok(decoded.equals(text));
  // From a pipe the tool does not know the size: no content size in the frame, as Java's stream.
  const theirs = tool('zstd', ['-c', '-19'], text)!;
  assert.ok(zstd.decompress(theirs).equals(text));
  assert.ok(zstd.decompress(Buffer.concat([theirs, out])).equals(Buffer.concat([text, text])), 'two frames back to back');
});

test('gzip is one gzip member; concatenated members are read as one stream', () => {
  const out = gzip.compress(text);
  assert.deepEqual([...out.subarray(0, 2)], [0x1f, 0x8b]);
  assert.ok(gunzipSync(out).equals(text));
  assert.ok(gzip.decompress(Buffer.concat([out, gzip.compress(Buffer.from('tail'))])).equals(Buffer.concat([text, Buffer.from('tail')])));
});
