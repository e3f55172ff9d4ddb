/** DistributedSampler: torch.utils.data.DistributedSampler's sharding, padding and epoch shuffle. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DistributedSampler } from '../../src/distributed';

const shards = (length: number, worldSize: number, epoch: number, extra: { shuffle?: boolean; dropLast?: boolean; seed?: number } = {}) =>
  Array.from({ length: worldSize }, (_, rank) => {
    const s = new DistributedSampler({ length, rank, worldSize, ...extra });
    s.setEpoch(epoch);
    return [...s];
  });

test('divisible: every index exactly once per epoch across ranks, equal shard sizes', () => {
  for (const world of [1, 2, 3, 4]) {
    const parts = shards(12, world, 5);
    parts.forEach((p) => assert.equal(p.length, 12 / world));
    assert.deepEqual(parts.flat().sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i));
  }
});

test('not divisible: padded by repeating from the start; rank r takes indices[r::world]', () => {
  const parts = shards(10, 3, 0, { shuffle: false });
  // total_size = ceil(10 / 3) * 3 = 12: [0..9, 0, 1]
  assert.deepEqual(parts, [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]);
  const s = new DistributedSampler({ length: 10, rank: 0, worldSize: 3 });
  assert.equal(s.numSamples, 4);
  assert.equal(s.totalSize, 12);
  const shuffled = shards(10, 3, 2);
  const all = shuffled.flat();
  assert.equal(all.length, 12);
  assert.equal(new Set(all).size, 10, 'every index covered');
  // the padding repeats the first two of the epoch's permutation
  const perm = [0, 1, 2, 3].flatMap((i) => shuffled.map((p) => p[i]));
  assert.deepEqual(perm.slice(10), perm.slice(0, 2));
});

test('dropLast: the tail is dropped, no index repeats', () => {
  const parts = shards(10, 3, 0, { shuffle: false, dropLast: true });
  assert.deepEqual(parts, [[0, 3, 6], [1, 4, 7], [2, 5, 8]]);
  const s = new DistributedSampler({ length: 10, rank: 2, worldSize: 3, dropLast: true });
  assert.equal(s.numSamples, 3);
  assert.equal(s.totalSize, 9);
  const shuffled = shards(10, 3, 1, { dropLast: true }).flat();
  assert.equal(shuffled.length, 9);
  assert.equal(new Set(shuffled).size, 9);
  assert.deepEqual(shards(2, 3, 0, { dropLast: true }), [[], [], []]);
});

test('the shuffle changes with the epoch and the seed, and agrees across ranks', () => {
  const e0 = shards(100, 4, 0);
  const e1 = shards(100, 4, 1);
  assert.notDeepEqual(e0, e1);
  assert.deepEqual(shards(100, 4, 1), e1, 'same epoch, same shards (each rank builds its own sampler)');
  assert.notDeepEqual(shards(100, 4, 1, { seed: 7 }), e1);
  assert.notDeepEqual(e0.flat(), Array.from({ length: 100 }, (_, i) => [0, 1, 2, 3].map((r) => r + 4 * i)).flat(), 'shuffled');
  for (const e of [e0, e1]) assert.deepEqual(e.flat().sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
});

test('argument checks', () => {
  assert.throws(() => new DistributedSampler({ length: 10, rank: 2, worldSize: 2 }), /DistributedSampler: rank should be an integer in \[0, 1\], got 2/);
  assert.throws(() => new DistributedSampler({ length: 10, rank: 0, worldSize: 0 }), /DistributedSampler: worldSize/);
  assert.throws(() => new DistributedSampler({ length: -1, rank: 0, worldSize: 1 }), /DistributedSampler: length/);
  assert.throws(() => new DistributedSampler({ length: 3, rank: 0, worldSize: 1 }).setEpoch(-1), /epoch/);
  assert.deepEqual([...new DistributedSampler({ length: 0, rank: 0, worldSize: 2 })], []);
});
