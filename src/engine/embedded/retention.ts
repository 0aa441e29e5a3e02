import { LogConfig } from './log-config';
import { LogSegment } from './log-segment';

/**
 * Kafka's retention rules for the delete cleanup policy, over a partition's inactive segments
 * (oldest first, all below the high watermark). Both rules delete a prefix of them:
 * - time: segments whose largest record timestamp is more than retention.ms old;
 * - size: the oldest segments, as long as the log without them is still at least retention.bytes
 *   (so the log never drops below the limit, as in Kafka).
 * The result is the longer of the two prefixes.
 */
export async function segmentsToDelete(
  inactive: LogSegment[],
  config: LogConfig,
  now: number,
  logSize: number,
): Promise<LogSegment[]> {
  let byTime = 0;
  if (config.retentionMs >= 0) {
    while (byTime < inactive.length && now - (await inactive[byTime].largestTimestamp()) > config.retentionMs) byTime++;
  }
  let bySize = 0;
  if (config.retentionBytes >= 0) {
    let excess = logSize - config.retentionBytes;
    while (bySize < inactive.length && excess - inactive[bySize].writtenSize >= 0) {
      excess -= inactive[bySize].writtenSize;
      bySize++;
    }
  }
  return inactive.slice(0, Math.max(byTime, bySize));
}
