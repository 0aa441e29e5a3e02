import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PARTITION_METADATA_FILE } from './log-file-names';

/**
 * Kafka's partition.metadata: names the topic id a partition directory belongs to, so that a
 * directory left behind by a deleted topic is never mistaken for a new topic of the same name.
 *
 *   version: 0
 *   topic_id: 3f2c9a...
 */
export async function writePartitionMetadata(dir: string, topicId: string): Promise<void> {
  await fsp.writeFile(path.join(dir, PARTITION_METADATA_FILE), `version: 0\ntopic_id: ${topicId}\n`);
}

/** The topic id, or undefined when the file is absent or unreadable. */
export async function readPartitionMetadata(dir: string): Promise<string | undefined> {
  try {
    const text = await fsp.readFile(path.join(dir, PARTITION_METADATA_FILE), 'utf8');
    return /^topic_id: (\S+)$/m.exec(text)?.[1];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
