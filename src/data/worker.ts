/**
 * Loader worker thread: builds the backend and pipeline from workerData, then processes
 * tasks one at a time (so one worker keeps about one core busy) and posts each sample
 * back with its pixel buffers in the transfer list (moved, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { createBackend, type BackendSpec } from './backends';
import { ImageDecodeError } from './image';
import type { LoadOptions } from './load';
import { processSample, type SampleTask } from './process';
import { transferables } from './sample';
import { buildPipeline, loadPipelineContext, type TransformSpec } from './transforms';

export interface WorkerInit {
  backend: BackendSpec;
  pipeline: TransformSpec[];
  load: LoadOptions;
  /** DataLoaderOptions.pipelineContextModule. */
  pipelineContextModule?: string;
}

export type WorkerReply =
  | { id: number; ok: true; sample: import('./sample').Sample }
  | { id: number; ok: false; message: string; corrupt: boolean };

sharp.concurrency(1);
sharp.cache(false);
const init = workerData as WorkerInit;
const backend = createBackend(init.backend);
const pipeline = buildPipeline(init.pipeline, loadPipelineContext(init.pipelineContextModule));
const queue: Array<{ id: number; task: SampleTask }> = [];
let busy = false;

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  while (queue.length) {
    const { id, task } = queue.shift()!;
    try {
      const sample = await processSample(task, backend, pipeline, init.load);
      parentPort!.postMessage({ id, ok: true, sample } satisfies WorkerReply, transferables(sample));
    } catch (err) {
      parentPort!.postMessage({ id, ok: false, message: (err as Error).message ?? String(err), corrupt: err instanceof ImageDecodeError } satisfies WorkerReply);
    }
  }
  busy = false;
}

parentPort!.on('message', (msg: { id: number; task: SampleTask } | 'close') => {
  if (msg === 'close') {
    void backend.close().then(() => process.exit(0));
    return;
  }
  queue.push(msg);
  void drain();
});
