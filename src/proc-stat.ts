import { readFileSync } from 'node:fs';

/**
 * The fields of a Linux /proc stat file (/proc/PID/stat, or /proc/PID/task/TID/stat for a thread)
 * from field 3 (state) on, so that field N (1-based, as proc(5) numbers them) is at index N - 3.
 * They are split from the last ')': field 2, the command in parentheses, may hold spaces and ')'.
 * Throws if the file cannot be read.
 */
export function procStatFields(statPath: string): string[] {
  const stat = readFileSync(statPath, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
