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
  /**
   * Drop the tail so the shards divide evenly (no padding): each rank gets floor(length /
   * worldSize) samples, as torch's DistributedSampler(drop_last=True). Default false: pad.
   */
  dropLast?: boolean;
  /**
   * Pad by wrapping so every rank gets the same number of samples (default true, torch's
   * DistributedSampler). false: no sample twice, and the first length % worldSize ranks get one
   * more (distributed evaluation, where every sample must count exactly once).
   */
  pad?: boolean;
}

/**
 * One epoch's indices for this rank: the (shuffled) permutation padded by wrapping to a
 * multiple of worldSize (or, with dropLast, cut down to one), then every worldSize-th index
 * from `rank`, so every rank gets the same number of samples and together they cover the
 * dataset. The shuffle depends on (seed, epoch) only, so every rank draws the same permutation.
 */
export function shardIndices(opts: ShardOptions, epoch: number): number[] {
  const { length, shuffle = true, seed = 0, rank = 0, worldSize = 1, dropLast = false, pad = true } = opts;
  if (!(Number.isInteger(worldSize) && worldSize >= 1 && Number.isInteger(rank) && rank >= 0 && rank < worldSize)) {
    throw new Error(`sampler: expected 0 <= rank < worldSize, got rank ${rank}, worldSize ${worldSize}`);
  }
  const order = Array.from({ length }, (_, i) => i);
  if (shuffle) new Rng(hash32(seed) ^ hash32(epoch + 1)).shuffle(order);
  if (dropLast) {
    order.length = Math.floor(length / worldSize) * worldSize;
  } else if (pad) {
    const total = Math.ceil(length / worldSize) * worldSize;
    for (let i = 0; order.length < total; i++) order.push(order[i % length]);
  }
  return order.filter((_, i) => i % worldSize === rank);
}

export interface DistributedSamplerOptions {
  /** Dataset length. */
  length: number;
  /** This process's rank and the number of processes. */
  rank: number;
  worldSize: number;
  /** Shuffle each epoch (default true); the permutation depends on (seed, epoch) only. */
  shuffle?: boolean;
  seed?: number;
  /** Drop the tail instead of padding by repeating from the start (default false). */
  dropLast?: boolean;
}

/**
 * torch.utils.data.DistributedSampler: this rank's shard of the dataset. Without dropLast the
 * (shuffled) indices are padded by repeating from the start to totalSize = ceil(length /
 * worldSize) * worldSize and rank r takes indices[r::worldSize]; with dropLast the tail is cut
 * to floor(length / worldSize) * worldSize. Call setEpoch(e) at the start of each epoch so the
 * shuffle changes (identically on every rank).
 */
export class DistributedSampler implements Iterable<number> {
  readonly length: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Samples per rank and epoch. */
  readonly numSamples: number;
  /** numSamples * worldSize. */
  readonly totalSize: number;
  private epoch = 0;

  constructor(opts: DistributedSamplerOptions) {
    const fn = 'DistributedSampler';
    const int = (name: string, v: unknown, lo: number, hi = Number.MAX_SAFE_INTEGER): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
        throw new RangeError(`${fn}: ${name} should be an integer in [${lo}, ${hi}], got ${String(v)}`);
      }
      return v;
    };
    this.length = int('length', opts.length, 0);
    this.worldSize = int('worldSize', opts.worldSize, 1);
    this.rank = int('rank', opts.rank, 0, this.worldSize - 1);
    this.seed = int('seed', opts.seed ?? 0, 0);
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? false;
    this.numSamples = this.dropLast ? Math.floor(this.length / this.worldSize) : Math.ceil(this.length / this.worldSize);
    this.totalSize = this.numSamples * this.worldSize;
  }

  /** Selects the epoch's shuffle. */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`DistributedSampler: epoch should be an integer >= 0, got ${String(epoch)}`);
    this.epoch = epoch;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  /** This rank's indices for the current epoch (numSamples of them). */
  indices(): number[] {
    if (this.length === 0) return [];
    return shardIndices({ length: this.length, shuffle: this.shuffle, seed: this.seed, rank: this.rank, worldSize: this.worldSize, dropLast: this.dropLast }, this.epoch);
  }

  [Symbol.iterator](): Iterator<number> {
    return this.indices()[Symbol.iterator]();
  }
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
