/**
 * DataLoader: reads, decodes and transforms samples in worker threads (or inline with
 * workers = 0), keeps `prefetch` batches in flight, and yields collated batches in order.
 *
 * Reproducibility: every sample's RNG is seeded from (seed, epoch, dataset index), so the
 * batches are the same whatever the number of workers or the order they finish in.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createBackend, type BackendSpec, type FileBackend } from './backends';
import { collate, type Batch } from './collate';
import type { Dataset } from './datasets/dataset';
import { ImageDecodeError } from './image';
import type { LoadOptions } from './load';
import { processSample, type SampleTask } from './process';
import { sampleSeed } from './rng';
import type { Sample } from './sample';
import { aspectRatioBatches, batchIndices, shardIndices } from './samplers';
import { buildPipeline, type Compose, type TransformSpec } from './transforms';
import type { WorkerInit, WorkerReply } from './worker';

export interface DataLoaderOptions {
  dataset: Dataset;
  pipeline: TransformSpec[];
  batchSize: number;
  /** Worker threads (0 = decode on the calling thread). */
  workers?: number;
  /** Batches kept in flight ahead of the consumer. */
  prefetch?: number;
  shuffle?: boolean;
  seed?: number;
  /** Group landscape and portrait images into separate batches. */
  groupByAspectRatio?: boolean;
  dropLast?: boolean;
  rank?: number;
  worldSize?: number;
  /** Where image files are read from (default local disk). */
  backend?: BackendSpec;
  /** Channel order of decoded images and label-map decoding (defaults from the dataset). */
  load?: LoadOptions;
  /** Drop samples whose image cannot be decoded (counted in `skipped`) instead of failing. */
  skipCorrupt?: boolean;
}

interface Job {
  resolve(s: Sample | undefined): void;
  reject(e: Error): void;
  task: SampleTask;
}

export class DataLoader {
  /** Samples dropped because their image could not be decoded (with skipCorrupt). */
  skipped = 0;
  /** Messages of the skipped samples. */
  readonly skippedErrors: string[] = [];
  private workers: Worker[] = [];
  private jobs = new Map<number, Job>();
  private nextJob = 0;
  private inFlight: number[] = [];
  private inline: { backend: FileBackend; pipeline: Compose } | undefined;
  private readonly o: Required<Omit<DataLoaderOptions, 'load' | 'backend'>> & Pick<DataLoaderOptions, 'load' | 'backend'>;

  constructor(opts: DataLoaderOptions) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw new Error(`DataLoader.batchSize: expected a positive integer, got ${opts.batchSize}`);
    this.o = { workers: 0, prefetch: 2, shuffle: true, seed: 0, groupByAspectRatio: false, dropLast: false, rank: 0, worldSize: 1, skipCorrupt: false, ...opts };
    buildPipeline(opts.pipeline); // fail here, not in a worker, on a bad spec
  }

  private loadOptions(): LoadOptions {
    return { segMap: this.o.dataset.segMap, ...this.o.load };
  }

  private startWorkers(): void {
    if (this.workers.length || this.o.workers === 0) return;
    const init: WorkerInit = { backend: this.o.backend ?? { kind: 'local' }, pipeline: this.o.pipeline, load: this.loadOptions() };
    for (let w = 0; w < this.o.workers; w++) {
      const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: init });
      worker.on('message', (r: WorkerReply) => this.onReply(w, r));
      worker.on('error', (err) => this.failAll(new Error(`data loader worker ${w}: ${err.message}`)));
      worker.unref();
      this.workers.push(worker);
      this.inFlight.push(0);
    }
  }

  private onReply(w: number, r: WorkerReply): void {
    // An idle worker does not keep the process alive; a busy one does.
    if (--this.inFlight[w] === 0) this.workers[w]?.unref();
    const job = this.jobs.get(r.id);
    if (!job) return;
    this.jobs.delete(r.id);
    if (r.ok) job.resolve(r.sample);
    else this.settleError(job, r.message, r.corrupt);
  }

  private settleError(job: Job, message: string, corrupt: boolean): void {
    if (corrupt && this.o.skipCorrupt) {
      this.skipped++;
      this.skippedErrors.push(message);
      job.resolve(undefined);
    } else {
      job.reject(new Error(`${this.o.dataset.name}: sample ${job.task.index}: ${message}`));
    }
  }

  private failAll(err: Error): void {
    for (const job of this.jobs.values()) job.reject(err);
    this.jobs.clear();
  }

  /** Processes one sample (resolves undefined when it was skipped as corrupt). */
  private run(task: SampleTask): Promise<Sample | undefined> {
    return new Promise((resolve, reject) => {
      const job: Job = { resolve, reject, task };
      if (this.o.workers === 0) {
        this.inline ??= { backend: createBackend(this.o.backend), pipeline: buildPipeline(this.o.pipeline) };
        processSample(task, this.inline.backend, this.inline.pipeline, this.loadOptions()).then(resolve, (err: Error) => this.settleError(job, err.message, err instanceof ImageDecodeError));
        return;
      }
      this.startWorkers();
      // The least busy worker takes it.
      let w = 0;
      for (let k = 1; k < this.workers.length; k++) if (this.inFlight[k] < this.inFlight[w]) w = k;
      const id = this.nextJob++;
      this.jobs.set(id, job);
      if (this.inFlight[w]++ === 0) this.workers[w].ref();
      this.workers[w].postMessage({ id, task });
    });
  }

  private async loadBatch(indices: number[], epoch: number): Promise<Batch | undefined> {
    const ds = this.o.dataset;
    const samples = await Promise.all(indices.map((index) => this.run({ index, info: ds.info(index), seed: sampleSeed(this.o.seed, epoch, index) })));
    const kept = samples.filter((s): s is Sample => s !== undefined);
    return kept.length ? collate(kept) : undefined;
  }

  /** Yields batches for `batches` (dataset indices and the epoch seeding them), `prefetch` in flight. */
  async *load(batches: Iterable<{ indices: number[]; epoch: number }>): AsyncGenerator<Batch> {
    const pending: Array<Promise<Batch | undefined>> = [];
    const it = batches[Symbol.iterator]();
    const fill = () => {
      while (pending.length < Math.max(1, this.o.prefetch)) {
        const next = it.next();
        if (next.done) return;
        const p = this.loadBatch(next.value.indices, next.value.epoch);
        p.catch(() => undefined); // surfaced when awaited below
        pending.push(p);
      }
    };
    fill();
    while (pending.length) {
      const batch = await pending.shift()!;
      fill();
      if (batch) yield batch;
    }
  }

  private *batchesOf(epoch: number): Generator<{ indices: number[]; epoch: number }> {
    const { batchSize, dropLast, dataset } = this.o;
    const indices = shardIndices(this.shard(), epoch);
    const batches = this.o.groupByAspectRatio ? aspectRatioBatches(indices, (i) => dataset.info(i), batchSize, dropLast) : batchIndices(indices, batchSize, dropLast);
    for (const b of batches) yield { indices: b, epoch };
  }

  private shard() {
    const { dataset, shuffle, seed, rank, worldSize } = this.o;
    return { length: dataset.length, shuffle, seed, rank, worldSize };
  }

  /** One epoch of this rank's shard. */
  epoch(epoch = 0): AsyncGenerator<Batch> {
    return this.load(this.batchesOf(epoch));
  }

  /** Endless batches for iteration-based training. */
  infinite(): AsyncGenerator<Batch> {
    if (this.o.dataset.length === 0) throw new Error(`${this.o.dataset.name}: empty dataset`);
    const self = this;
    return this.load((function* () {
      for (let epoch = 0; ; epoch++) yield* self.batchesOf(epoch);
    })());
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    this.inFlight = [];
    await Promise.all(ws.map((w) => w.terminate()));
    this.failAll(new Error('data loader closed'));
    if (this.inline) await this.inline.backend.close();
    this.inline = undefined;
  }
}
