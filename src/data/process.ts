/** The per-sample work a loader does, in a worker thread or inline: read, decode, transform. */
import type { FileBackend } from './backends';
import type { DataInfo } from './datasets/dataset';
import { finishSample, loadSample, type LoadOptions } from './load';
import { Rng } from './rng';
import type { Sample } from './sample';
import type { Compose } from './transforms';

export interface SampleTask {
  /** Dataset index (for error messages). */
  index: number;
  info: DataInfo;
  /** The sample's own RNG seed (from run seed, epoch and index). */
  seed: number;
}

export async function processSample(task: SampleTask, backend: FileBackend, pipeline: Compose, opts: LoadOptions): Promise<Sample> {
  const sample = await loadSample(task.info, backend, opts);
  return finishSample(await pipeline.apply(sample, new Rng(task.seed)));
}
