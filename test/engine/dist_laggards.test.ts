/**
 * RunDist.laggards (what a failed collective's message says about the other ranks): the ranks whose
 * last mark (iteration, phase) is behind this rank's are named, in the phases' order; none behind,
 * or a rank that never marked, adds nothing. A store in memory stands in for the TCPStore.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunDist, PHASES } from '../../src/engine/dist';
import type { ProcessGroup } from '../../src/distributed';

function groupWith(rank: number, worldSize: number, timeoutMs = 1000): { pg: ProcessGroup; keys: Map<string, string>; bounds: number[] } {
  const keys = new Map<string, string>();
  const bounds: number[] = [];
  const store = {
    withTimeout: <T>(ms: number, fn: () => T): T => { bounds.push(ms); return fn(); },
    set: (k: string, v: string) => { keys.set(k, v); },
    getString: (k: string) => {
      const v = keys.get(k);
      if (v === undefined) throw new Error(`key ${k} not set`);
      return v;
    },
  };
  return { pg: { rank, worldSize, timeoutMs, store } as unknown as ProcessGroup, keys, bounds };
}

test('the phases are ordered as an iteration runs them', () => {
  assert.deepEqual([...PHASES], ['data', 'forward', 'backward', 'step', 'hooks']);
});

test('ranks behind this one are named with where they are; ranks level with or ahead of it are not', () => {
  const { pg } = groupWith(0, 4);
  const ranks = [0, 1, 2, 3].map((r) => new RunDist({ ...pg, rank: r } as ProcessGroup));
  ranks[0].mark(7, 'backward');
  ranks[1].mark(7, 'forward'); // same iteration, an earlier phase
  ranks[2].mark(6, 'hooks'); // the previous iteration
  ranks[3].mark(7, 'backward'); // level
  assert.equal(ranks[0].laggards(), ' (rank 1 is behind, at iteration 7 (forward); rank 2 is behind, at iteration 6 (hooks); this rank at iteration 7 (backward): it hung or is slow)');
  assert.equal(ranks[3].laggards(), ' (rank 1 is behind, at iteration 7 (forward); rank 2 is behind, at iteration 6 (hooks); this rank at iteration 7 (backward): it hung or is slow)');
  assert.equal(ranks[2].laggards(), '', 'the last rank has no one behind it');
  ranks[1].mark(8, 'data');
  assert.equal(ranks[0].laggards(), ' (rank 2 is behind, at iteration 6 (hooks); this rank at iteration 7 (backward): it hung or is slow)');
});

test('marks and the peer queries wait at most min(1 s, the timeout) on the store (a stalled server must not hold a failing rank for the whole timeout)', () => {
  const slow = groupWith(0, 2, 60_000);
  const [r0, r1] = [0, 1].map((r) => new RunDist({ ...slow.pg, rank: r } as ProcessGroup));
  r0.mark(2, 'backward');
  r1.mark(2, 'data');
  assert.equal(r0.peers(), ' (rank 1 is behind, at iteration 2 (data); this rank at iteration 2 (backward): it hung or is slow)');
  assert.deepEqual(slow.bounds, [1000, 1000, 1000]);
  const fast = groupWith(0, 2, 300);
  new RunDist(fast.pg).mark(1, 'step');
  assert.deepEqual(fast.bounds, [300]);
});

test('a rank that never marked (or a store that is gone) adds nothing', () => {
  const { pg } = groupWith(0, 2);
  const r0 = new RunDist(pg);
  r0.mark(3, 'step');
  assert.equal(r0.laggards(), '');
  const gone = new RunDist({ rank: 0, worldSize: 2, timeoutMs: 1, store: { set: () => { throw new Error('gone'); }, getString: () => { throw new Error('gone'); } } } as unknown as ProcessGroup);
  assert.doesNotThrow(() => gone.mark(1, 'data'));
  assert.equal(gone.laggards(), '');
});
