import assert from 'node:assert/strict';
import { EngineError } from '../../../src/engine/engine-error';
import { incrementSequence, type BatchMetadata } from '../../../src/engine/embedded/producer-state-manager';

/** A batch of `count` records from sequence `firstSeq` at `firstOffset`; its timestamp is 1000 + firstOffset. */
export function batch(firstSeq: number, count: number, firstOffset: number): BatchMetadata {
  return { firstSeq, lastSeq: incrementSequence(firstSeq, count - 1), firstOffset, lastOffset: firstOffset + count - 1, timestamp: 1000 + firstOffset };
}

/** The EngineError code `fn` throws; undefined when it does not throw. */
export function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof EngineError);
    return err.code;
  }
}
