import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { TEMP_FILE_SUFFIX } from './log-file-names';

export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

const VERSION = 0;

/**
 * Kafka's OffsetCheckpointFile: one offset per partition, as text.
 *
 *   0                      version
 *   2                      number of entries
 *   orders 0 1042          topic, partition, offset
 *   orders 1 977
 *
 * Written whole to a temporary file, fsynced and renamed over the old one, then the directory is
 * fsynced: a crash leaves either the old or the new checkpoint, never a mix.
 */
export class OffsetCheckpointFile {
  constructor(readonly file: string) {}

  async write(entries: Iterable<PartitionOffset>): Promise<void> {
    const lines: string[] = [];
    for (const e of entries) lines.push(`${e.topic} ${e.partition} ${e.offset}`);
    const text = `${VERSION}\n${lines.length}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
    const temp = this.file + TEMP_FILE_SUFFIX;
    const handle = await fsp.open(temp, 'w');
    try {
      await handle.writeFile(text);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, this.file);
    await syncDirectory(path.dirname(this.file));
  }

  /** Offsets keyed by `topic-partition`; empty when the file is absent. Throws on a malformed file. */
  async read(): Promise<Map<string, number>> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw err;
    }
    const lines = text.split('\n').filter((l) => l.length > 0);
    if (lines.length < 2 || Number(lines[0]) !== VERSION) throw new Error(`${this.file}: unsupported checkpoint version or format`);
    const count = Number(lines[1]);
    if (!Number.isInteger(count) || count !== lines.length - 2) throw new Error(`${this.file}: expected ${lines[1]} entries, found ${lines.length - 2}`);
    const out = new Map<string, number>();
    for (const line of lines.slice(2)) {
      const match = /^(\S+) (\d+) (-?\d+)$/.exec(line);
      if (match === null) throw new Error(`${this.file}: malformed line '${line}'`);
      out.set(`${match[1]}-${match[2]}`, Number(match[3]));
    }
    return out;
  }
}

/** Replaces `file` whole: a temporary file written and fsynced, renamed over it, the directory fsynced. */
export async function writeFileDurably(file: string, data: string | Buffer): Promise<void> {
  const temp = file + TEMP_FILE_SUFFIX;
  const handle = await fsp.open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await fsp.rename(temp, file);
  await syncDirectory(path.dirname(file));
}

/** fsync of a directory, so a rename or unlink in it survives a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
