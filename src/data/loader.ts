/**
 * DataLoader: reads, decodes and transforms samples in worker threads (or inline with
 * workers = 0), keeps `prefetch` batches in flight, and yields collated batches in order.
 *
 * Reproducibility: every sample's RNG is seeded from (seed, epoch, dataset index), so the
 * batches are the same whatever the number of workers or the order they finish in.
 *
 * A worker thread that dies (exits, throws uncaught, is killed) fails the samples it
 * held with an Error naming it and its exit code; its slot is respawned on the next job.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { createBackend, type BackendSpec, type FileBackend } from './backends';
import { collate, type Batch } from './collate';
import type { Dataset } from './datasets/dataset';
import { ImageDecodeError } from './image';
import type { LoadOptions } from './load';
import { processSample, type SampleTask } from './process';
import { sampleSeed } from './rng';
import type { Sample } from './sample';
import { aspectRatioBatches, batchIndices, shardIndices } from './samplers';
import { buildPipeline, loadPipelineContext, type Compose, type TransformSpec } from './transforms';
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
  /** This process's shard of the dataset (torch's DistributedSampler; default the whole dataset). */
  rank?: number;
  worldSize?: number;
  /** Shards padded to equal length by repeating samples (default true; false for distributed evaluation). */
  pad?: boolean;
  /** Where image files are read from (default local disk). */
  backend?: BackendSpec;
  /** Channel order of decoded images and label-map decoding (defaults from the dataset). */
  load?: LoadOptions;
  /** Drop samples whose image cannot be decoded (counted in `skipped`) instead of failing. */
  skipCorrupt?: boolean;
  /**
   * Absolute path of a module exporting `pipelineContext: PipelineContext`, for specs that name
   * objects (GenerateTarget's codec). A path, not the object, because worker threads build their
   * own pipelines and functions cannot be posted to them; every thread requires the module.
   */
  pipelineContextModule?: string;
}

interface Job {
  resolve(s: Sample | undefined): void;
  reject(e: Error): void;
  task: SampleTask;
  /** The worker slot processing it (undefined: inline). */
  worker?: number;
}

export class DataLoader {
  /** Samples dropped because their image could not be decoded (with skipCorrupt). */
  skipped = 0;
  /** Messages of the skipped samples. */
  readonly skippedErrors: string[] = [];
  /** Worker slots; a slot whose worker died is empty until the next job respawns it. */
  private workers: Array<Worker | undefined> = [];
  private jobs = new Map<number, Job>();
  private nextJob = 0;
  private inFlight: number[] = [];
  private inline: { backend: FileBackend; pipeline: Compose } | undefined;
  private readonly o: Required<Omit<DataLoaderOptions, 'load' | 'backend' | 'pipelineContextModule'>> & Pick<DataLoaderOptions, 'load' | 'backend' | 'pipelineContextModule'>;

  constructor(opts: DataLoaderOptions) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw new Error(`DataLoader.batchSize: expected a positive integer, got ${opts.batchSize}`);
    this.o = { workers: 0, prefetch: 2, shuffle: true, seed: 0, groupByAspectRatio: false, dropLast: false, rank: 0, worldSize: 1, pad: true, skipCorrupt: false, ...opts };
    buildPipeline(opts.pipeline, loadPipelineContext(opts.pipelineContextModule)); // fail here, not in a worker, on a bad spec
  }

  private loadOptions(): LoadOptions {
    return { segMap: this.o.dataset.segMap, ...this.o.load };
  }

  private startWorkers(): void {
    if (this.workers.length || this.o.workers === 0) return;
    for (let w = 0; w < this.o.workers; w++) {
      this.workers.push(undefined);
      this.inFlight.push(0);
      this.spawn(w);
    }
  }

  private spawn(w: number): Worker {
    const init: WorkerInit = { backend: this.o.backend ?? { kind: 'local' }, pipeline: this.o.pipeline, load: this.loadOptions(), pipelineContextModule: this.o.pipelineContextModule };
    const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: init });
    let error: Error | undefined;
    worker.on('message', (r: WorkerReply) => this.onReply(w, r));
    worker.on('error', (err) => (error = err));
    worker.on('exit', (code) => this.onExit(w, worker, code, error));
    worker.unref();
    this.workers[w] = worker;
    this.inFlight[w] = 0;
    return worker;
  }

  /**
   * A worker thread ended (process.exit in it, an uncaught error, a resource-limit kill):
   * its slot is emptied (the next job respawns it) and every job it held is rejected
   * with an Error naming the worker, its exit code and the samples, so nothing hangs.
   */
  private onExit(w: number, worker: Worker, code: number, error: Error | undefined): void {
    if (this.workers[w] !== worker) return; // closed by close(), or already replaced
    this.workers[w] = undefined;
    this.inFlight[w] = 0;
    const lost = [...this.jobs].filter(([, job]) => job.worker === w);
    if (lost.length === 0) return;
    const samples = lost.map(([, job]) => job.task.index).join(', ');
    const why = error ? `failed (${error.message}) and exited with code ${code}` : `exited unexpectedly with code ${code}`;
    const err = new Error(`${this.o.dataset.name}: data loader worker ${w} ${why} while processing sample(s) ${samples}`);
    for (const [id, job] of lost) {
      this.jobs.delete(id);
      job.reject(err);
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
        if (!this.inline) {
          // As the worker threads do (libvips' cache is per process): every file is decoded once
          // per epoch, so libvips' operation cache (50 MB / 100 operations by default) only holds
          // memory, which shows as RSS growth over a long run.
          sharp.cache(false);
          this.inline = { backend: createBackend(this.o.backend), pipeline: buildPipeline(this.o.pipeline, loadPipelineContext(this.o.pipelineContextModule)) };
        }
        processSample(task, this.inline.backend, this.inline.pipeline, this.loadOptions()).then(resolve, (err: Error) => this.settleError(job, err.message, err instanceof ImageDecodeError));
        return;
      }
      this.startWorkers();
      // The least busy worker takes it (a dead worker's slot is respawned).
      let w = 0;
      for (let k = 1; k < this.workers.length; k++) if (this.inFlight[k] < this.inFlight[w]) w = k;
      const worker = this.workers[w] ?? this.spawn(w);
      const id = this.nextJob++;
      job.worker = w;
      this.jobs.set(id, job);
      if (this.inFlight[w]++ === 0) worker.ref();
      try {
        worker.postMessage({ id, task });
      } catch (err) {
        // e.g. a dataset record that cannot be cloned to the worker
        this.jobs.delete(id);
        if (--this.inFlight[w] === 0) worker.unref();
        reject(new Error(`${this.o.dataset.name}: sample ${task.index}: cannot send it to a data loader worker: ${(err as Error).message}`));
      }
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
    const { dataset, shuffle, seed, rank, worldSize, pad } = this.o;
    return { length: dataset.length, shuffle, seed, rank, worldSize, pad };
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
    await Promise.all(ws.map((w) => w?.terminate()));
    this.failAll(new Error('data loader closed'));
    if (this.inline) await this.inline.backend.close();
    this.inline = undefined;
  }
}
