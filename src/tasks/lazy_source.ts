/**
 * Every task's train and val data: a BatchSource over a DataLoader made on first use (datasets
 * load asynchronously, and a run that never validates never loads its val set).
 */
import type { Batch } from '../data/collate';
import type { DataLoader } from '../data/loader';
import type { BatchSource } from '../engine/types';
import type { DataShard } from '../config/types';

/**
 * The DataLoader options of a distributed rank's shard: training shards padded to equal length
 * (every rank runs the same number of iterations), validation shards unpadded (every sample
 * evaluated exactly once). No shard: the whole dataset.
 */
export function shardOptions(split: 'train' | 'val', shard: DataShard | undefined): { rank?: number; worldSize?: number; pad?: boolean } {
  return shard ? { rank: shard.rank, worldSize: shard.worldSize, pad: split === 'train' } : {};
}

export function lazyLoaderSource(make: () => Promise<DataLoader>): BatchSource<Batch> {
  let loader: DataLoader | undefined;
  return {
    async *epoch(e: number) {
      loader ??= await make();
      yield* loader.epoch(e);
    },
    async close() {
      await loader?.close();
    },
  };
}
