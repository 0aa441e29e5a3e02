import type { CompressionCodec } from './compression';
import { lazyNative } from './compression-native';

interface Lz4Binding {
  compressFrameSync(data: Buffer): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
}

const lz4 = lazyNative('lz4', () => require('lz4-napi') as Lz4Binding);

/**
 * lz4 (codec 3): the LZ4 frame format (magic 0x184D2204), as Kafka has used since message format
 * v1. Written with FLG version 01 and independent blocks, no block or content checksum (the batch
 * CRC covers the bytes) and a correct header checksum byte, which is what Kafka's reader requires
 * (it refuses dependent blocks). Reading accepts any standard frame: checksums, content size,
 * linked blocks.
 */
export const lz4Codec: CompressionCodec = {
  id: 3,
  name: 'lz4',
  compress: (data) => lz4().compressFrameSync(data),
  decompress: (data) => lz4().decompressFrameSync(data),
};
