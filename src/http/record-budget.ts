import type { ConsumerRecord } from '../engine/storage-engine';

/**
 * Confluent's `max_bytes` for reads: a budget of key and value bytes. Engines answer whole record
 * batches (as Kafka does), so the HTTP layer cuts the list here: records in order while their
 * keys and values fit, and always at least one, so a reader never stalls on a large record.
 */
export function withinRecordBudget(records: ConsumerRecord[], maxBytes: number): ConsumerRecord[] {
  let used = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as ConsumerRecord;
    used += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    if (used > maxBytes && i > 0) return records.slice(0, i);
  }
  return records;
}
