/**
 * Samplers: which dataset indices each process reads, in what order, and how they group
 * into batches. All are deterministic from (seed, epoch, rank).
 */
import { Rng, hash32 } from './rng';

export interface ShardOptions {
  /** Dataset length. */
  length: number;
  shuffle?: boolean;
  seed?: number;
  /** This process's rank and the number of processes (torch DistributedSampler). */
  rank?: number;
  worldSize?: number;
}

/**
 * One epoch's indices for this rank: the (shuffled) permutation padded by wrapping to a
 * multiple of worldSize, then every worldSize-th index from `rank`, so every rank gets the
 * same number of samples and together they cover the dataset.
 */
export function shardIndices(opts: ShardOptions, epoch: number): number[] {
  const { length, shuffle = true, seed = 0, rank = 0, worldSize = 1 } = opts;
  if (!(Number.isInteger(worldSize) && worldSize >= 1 && Number.isInteger(rank) && rank >= 0 && rank < worldSize)) {
    throw new Error(`sampler: expected 0 <= rank < worldSize, got rank ${rank}, worldSize ${worldSize}`);
  }
  const order = Array.from({ length }, (_, i) => i);
  if (shuffle) new Rng(hash32(seed) ^ hash32(epoch + 1)).shuffle(order);
  const total = Math.ceil(length / worldSize) * worldSize;
  for (let i = 0; order.length < total; i++) order.push(order[i % length]);
  return order.filter((_, i) => i % worldSize === rank);
}

/** Endless indices for iteration-based training: shard after shard, reshuffled each pass. */
export function* infiniteIndices(opts: ShardOptions): Generator<number> {
  if (opts.length === 0) throw new Error('sampler: empty dataset');
  for (let epoch = 0; ; epoch++) yield* shardIndices(opts, epoch);
}

/** Consecutive batches of `batchSize` from `indices`; the last one short unless dropLast. */
export function* batchIndices(indices: Iterable<number>, batchSize: number, dropLast = false): Generator<number[]> {
  let batch: number[] = [];
  for (const i of indices) {
    batch.push(i);
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length && !dropLast) yield batch;
}

/**
 * MMDetection's AspectRatioBatchSampler: indices go to a landscape (w >= h) or portrait
 * bucket, and a batch is emitted when a bucket fills, so batches pad less. Leftovers
 * are emitted mixed at the end unless dropLast.
 */
export function* aspectRatioBatches(indices: Iterable<number>, sizeOf: (i: number) => { width: number; height: number }, batchSize: number, dropLast = false): Generator<number[]> {
  const buckets: number[][] = [[], []];
  for (const i of indices) {
    const { width, height } = sizeOf(i);
    const b = buckets[width >= height ? 0 : 1];
    b.push(i);
    if (b.length === batchSize) {
      yield b.splice(0);
    }
  }
  const left = [...buckets[0], ...buckets[1]];
  yield* batchIndices(left, batchSize, dropLast);
}
