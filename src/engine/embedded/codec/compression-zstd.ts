import type { CompressionCodec } from './compression';
import { lazyNative } from './compression-native';

interface ZstdBinding {
  Encoder: new (level: number) => { encodeSync(data: Buffer): Buffer };
  Decoder: new () => { decodeSync(data: Buffer): Buffer };
}

/** Kafka's default compression.zstd.level. */
const ZSTD_LEVEL = 3;

const zstd = lazyNative('zstd', () => {
  // Node 20's zlib has no zstd; this package binds libzstd through prebuilt per-platform binaries.
  const binding = require('@toondepauw/node-zstd') as ZstdBinding;
  return { encoder: new binding.Encoder(ZSTD_LEVEL), decoder: new binding.Decoder() };
});

/**
 * zstd (codec 4): one zstd frame. Reading accepts any frames libzstd accepts, with or without a
 * content size (Java's streaming writer leaves it out) and several frames back to back.
 */
export const zstdCodec: CompressionCodec = {
  id: 4,
  name: 'zstd',
  compress: (data) => zstd().encoder.encodeSync(data),
  decompress: (data) => zstd().decoder.decodeSync(data),
};
