/**
 * Every task's train and val data: a BatchSource over a DataLoader made on first use (datasets
 * load asynchronously, and a run that never validates never loads its val set).
 */
import type { Batch } from '../data/collate';
import type { DataLoader } from '../data/loader';
import type { BatchSource } from '../engine/types';

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
