import { gunzipSync, gzipSync } from 'node:zlib';
import type { CompressionCodec } from './compression';

/**
 * gzip (codec 1): a gzip member as Java's GZIPOutputStream writes it, at zlib's default level as
 * Kafka's default compression.gzip.level. Reading accepts concatenated members too.
 */
export const gzipCodec: CompressionCodec = {
  id: 1,
  name: 'gzip',
  compress: (data) => gzipSync(data),
  decompress: (data) => gunzipSync(data),
};
