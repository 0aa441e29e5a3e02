import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertTransition, IllegalStateTransition, VALID_PREVIOUS_STATES } from '../../../src/coordinator/group/group-state';

test("the state table is Kafka's: each state lists its valid previous states", () => {
  assert.deepEqual(VALID_PREVIOUS_STATES.Stable, ['CompletingRebalance']);
  assert.deepEqual(VALID_PREVIOUS_STATES.CompletingRebalance, ['PreparingRebalance']);
  assert.doesNotThrow(() => assertTransition('g', 'Stable', 'PreparingRebalance'));
  assert.doesNotThrow(() => assertTransition('g', 'Empty', 'Dead'));
  assert.throws(() => assertTransition('g', 'Empty', 'Stable'), IllegalStateTransition);
  assert.throws(() => assertTransition('g', 'Dead', 'Empty'), /cannot go from Dead to Empty/);
  assert.throws(() => assertTransition('g', 'PreparingRebalance', 'Stable'), IllegalStateTransition);
});
