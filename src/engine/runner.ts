/**
 * Runner: the training loop (epoch- or iteration-based), validation and testing, with
 * hooks for logging, lr schedules and checkpoints, and resuming (MMEngine's Runner,
 * small). Its parts are built and passed in; `buildRunner` builds them from a config.
 *
 * Reproducibility: `buildRunner` seeds libtorch before building the model; the data's
 * order depends only on (seed, epoch) (BatchSource's contract); a checkpoint stores the
 * RNG state, counters, optimizer and scheduler state, and a resumed run skips the
 * iterations of the current epoch already done, so on CPU the losses after a resume
 * equal those of an uninterrupted run. Validation restores the RNG state it found, so it
 * never changes the training that follows.
 *
 * Distributed training (on when the default process group has world size > 1, or a group is
 * passed in): every rank runs this loop on its shard of the data (the config's batch size is
 * per process, as MMEngine), gradients are averaged through a GradSync, and
 *   - rank 0 alone writes the console, the run folder and the checkpoints; a barrier follows
 *     each checkpoint, so no rank runs ahead of a half-written one;
 *   - auto-resume: rank 0 picks the checkpoint and every rank loads that one;
 *   - RNG: the model is built with the config's seed on every rank (rank 0's weights are then
 *     broadcast anyway), training randomness uses seed + rank (MMEngine's diff_rank_seed=True);
 *     checkpoints store every rank's RNG state, so a resumed run continues exactly;
 *   - the logged losses are rank 0's own (as MMEngine logs them), not the mean over ranks;
 *   - validation: each rank predicts its unpadded share, the evaluators' states are gathered to
 *     rank 0 one rank at a time, rank 0 evaluates and shares the metrics with every rank.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../torch';
import { ParamSchedulerList, type Optimizer } from '../optim';
import type { LoadedConfig } from '../config/io';
import { dumpConfig } from '../config/io';
import type { RunConfig } from '../config/types';
import { validateConfig } from '../config/validate';
import { iteratorOf, type BatchSource, type Evaluator, type TrainableModel } from './types';
import type { DataShard } from '../config/types';
import { getProcessGroup, isInitialized, type ProcessGroup } from '../distributed';
import { RunDist } from './dist';
import { createGradSync, type GradSync } from './grad_sync';
import { buildOptimizer, trainStep } from './optim_wrapper';
import { CheckpointHook, ParamSchedulerHook, type Hook, type IterInfo } from './hooks';
import { LineFile, LoggerHook, summaryMetrics } from './logger';
import {
  findLatestCheckpoint, loadCheckpoint, loadModelWeights, loadWeights, removeStaleTempFiles,
  type CheckpointState, type Progress, type SafetensorsWriter,
} from './checkpoint';

export interface RunnerOptions<B, P> {
  model: TrainableModel<B, P>;
  /** The resolved config (its train, optimWrapper, paramScheduler and hooks settings drive the run). */
  config: RunConfig;
  /** The config's name, recorded in dumps and checkpoints. */
  configName: string;
  workDir: string;
  trainData?: BatchSource<B>;
  valData?: BatchSource<B>;
  evaluator?: Evaluator<B, P>;
  /** true: resume from the work dir's latest checkpoint, if any (auto-resume); a path: from that checkpoint. */
  resume?: boolean | string;
  /** Weights to start from (non-strict; ignored when resuming from a checkpoint). */
  loadFrom?: string | null;
  /** Hooks called after the default ones (logger, schedulers, checkpoints). */
  hooks?: Hook[];
  /** Replaces the checkpoint writer (tests simulate crashes with it). */
  checkpointWriter?: SafetensorsWriter;
  /** No console output (the run's log files are still written). */
  quiet?: boolean;
  /**
   * Train distributed over this group (world size > 1). Default: the default process group
   * (initProcessGroup) when it is initialized with world size > 1; else one process.
   */
  processGroup?: ProcessGroup;
}

/** `sync` that also marks (RunDist.mark) when backward starts and when it has returned. */
function markingSync(sync: GradSync, dist: RunDist, iter: number): GradSync {
  return {
    beforeBackward: (loss) => {
      dist.mark(iter, 'backward');
      sync.beforeBackward(loss);
    },
    afterBackward: () => {
      sync.afterBackward();
      dist.mark(iter, 'step');
    },
    explainBackwardError: sync.explainBackwardError?.bind(sync),
    close: () => sync.close(),
  };
}

/** The default process group when it spans more than one process. */
function defaultDistributedGroup(): ProcessGroup | undefined {
  if (!isInitialized()) return undefined;
  const pg = getProcessGroup();
  return pg.worldSize > 1 ? pg : undefined;
}

/**
 * Lets the event loop turn. libtorch tensors are freed eagerly by tidy/dispose, but the
 * JavaScript wrappers' native finalizers run from the event loop; a loop that only awaits
 * already-resolved promises (a synchronous data source) would never let them run, and
 * memory would grow until training ends.
 */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Dotted keys whose values differ between two JSON configs (objects compared key by key, arrays whole). */
function changedKeys(a: unknown, b: unknown, at = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => changedKeys(a[k], b[k], at ? `${at}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [at];
}

/** `YYYYMMDD_HHMMSS` in local time (MMEngine's run folder name). */
function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export class Runner<B = unknown, P = unknown> {
  readonly model: TrainableModel<B, P>;
  readonly config: RunConfig;
  readonly configName: string;
  readonly workDir: string;
  readonly hooks: Hook[];
  readonly progress: Progress = { epoch: 0, iter: 0, innerIter: 0 };
  /** `<workDir>/<timestamp>`: this run's config dump and logs (created by train() or test()). */
  runDir: string | undefined;
  private readonly opts: RunnerOptions<B, P>;
  private readonly _optimizer: Optimizer | undefined;
  private readonly _schedulers: ParamSchedulerList | undefined;
  private logFile: LineFile | undefined;
  private scalarsFile: LineFile | undefined;
  /** The outermost folder startRun created for the work dir (none: it existed). */
  private createdWorkDir: string | undefined;
  /** The collectives of a distributed run (undefined: one process). */
  readonly dist: RunDist | undefined;
  /** Averages gradients across ranks while training distributed. */
  private gradSync: GradSync | undefined;

  constructor(opts: RunnerOptions<B, P>) {
    this.opts = opts;
    this.model = opts.model;
    this.config = opts.config;
    this.configName = opts.configName;
    this.workDir = path.resolve(opts.workDir);
    const pg = opts.processGroup ?? defaultDistributedGroup();
    this.dist = pg && pg.worldSize > 1 ? new RunDist(pg) : undefined;
    if (opts.trainData) {
      this._optimizer = buildOptimizer(opts.config.optimWrapper, opts.model);
      this._schedulers = ParamSchedulerList.build(this._optimizer, opts.config.paramScheduler, { epochLength: opts.trainData.length });
    }
    const h = opts.config.hooks;
    this.hooks = [
      new LoggerHook(h.logger.interval, this.isMain ? {} : { tty: false }),
      new ParamSchedulerHook(),
      new CheckpointHook(h.checkpoint, opts.checkpointWriter),
      ...(opts.hooks ?? []),
    ];
  }

  /** This process's rank (0 without distribution). */
  get rank(): number {
    return this.dist?.rank ?? 0;
  }

  get worldSize(): number {
    return this.dist?.worldSize ?? 1;
  }

  /** Rank 0 (or the only process): the one that logs and saves. */
  get isMain(): boolean {
    return this.rank === 0;
  }

  get optimizer(): Optimizer {
    if (!this._optimizer) throw new Error('Runner: no optimizer (the runner was built without training data)');
    return this._optimizer;
  }

  get schedulers(): ParamSchedulerList {
    if (!this._schedulers) throw new Error('Runner: no schedulers (the runner was built without training data)');
    return this._schedulers;
  }

  get byEpoch(): boolean {
    return this.config.train.byEpoch;
  }

  get maxEpochs(): number | undefined {
    return this.config.train.byEpoch ? this.config.train.maxEpochs : undefined;
  }

  get maxIters(): number | undefined {
    return this.config.train.byEpoch ? undefined : this.config.train.maxIters;
  }

  /** Batches per epoch, when the training data says. */
  get epochLength(): number | undefined {
    return this.opts.trainData?.length;
  }

  /** Iterations of the whole run, when known (for the ETA). */
  get totalIters(): number | undefined {
    const t = this.config.train;
    if (!t.byEpoch) return t.maxIters;
    return this.epochLength === undefined ? undefined : t.maxEpochs * this.epochLength;
  }

  get onCuda(): boolean {
    for (const [, p] of this.model.namedParameters()) return p.isCuda;
    return false;
  }

  /** A line to the run's log file and (unless quiet, or console false) stdout. */
  logLine(line: string, opts: { console?: boolean } = {}): void {
    this.logFile?.append(line);
    if ((opts.console ?? true) && !this.opts.quiet && this.isMain) {
      // Clear the logger's progress bar (if any) first; it is redrawn at the next iteration.
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      console.log(line);
    }
  }

  /** One JSON object to the run's scalars.jsonl. */
  writeScalars(record: Record<string, unknown>): void {
    this.scalarsFile?.append(JSON.stringify(record));
  }

  /**
   * What a checkpoint stores now. Distributed: collective (every rank's RNG state is gathered);
   * the caller disposes `rngStates`.
   */
  checkpointState(): CheckpointState {
    let rngStates: torch.Tensor[] | undefined;
    if (this.dist) {
      const own = torch.getRngState();
      try {
        rngStates = this.dist.allgather('RNG states for the checkpoint', own);
      } finally {
        own.dispose();
      }
    }
    return {
      rngStates,
      ...this.progress,
      configName: this.configName,
      config: this.config,
      model: this.model.stateDict(),
      optimizer: this.optimizer.stateDict(),
      schedulers: this.schedulers.stateDict(),
    };
  }

  /** Creates `<workDir>/<timestamp>[_N]/` with the config dump and the log files. */
  private startRun(): void {
    this.createdWorkDir = fs.mkdirSync(this.workDir, { recursive: true }) ?? undefined;
    const stamp = timestamp();
    for (let n = 0; ; n++) {
      const dir = path.join(this.workDir, n === 0 ? stamp : `${stamp}_${n}`);
      try {
        fs.mkdirSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e;
      }
      this.runDir = dir;
      break;
    }
    dumpConfig(this.config, path.join(this.runDir!, 'config.json'), { base: this.configName });
    this.logFile = new LineFile(path.join(this.runDir!, 'run.log'));
    this.scalarsFile = new LineFile(path.join(this.runDir!, 'scalars.jsonl'));
    this.logLine(`Config ${this.configName}; work dir ${this.workDir}; run dir ${this.runDir}`);
  }

  /**
   * After a failed train() or test(): a run folder that recorded nothing (no scalars: the
   * attempt failed before its first logged iteration or metric) is removed with the config
   * dump and log this attempt wrote, and so is a work dir this attempt created, if empty.
   * A run folder that did record something is kept, with the error at the end of its log.
   */
  private abandonRun(error: unknown): void {
    const dir = this.runDir;
    if (dir === undefined) return;
    const message = error instanceof Error ? error.message : String(error);
    const scalars = path.join(dir, 'scalars.jsonl');
    if (fs.existsSync(scalars) && fs.statSync(scalars).size > 0) {
      this.logFile?.append(`Failed: ${message}`);
      return;
    }
    this.logFile = undefined;
    this.scalarsFile = undefined;
    this.runDir = undefined;
    try {
      for (const name of ['config.json', 'run.log', 'scalars.jsonl']) fs.rmSync(path.join(dir, name), { force: true });
      fs.rmdirSync(dir); // fails (and keeps it) if anything else is in it
      // the work dir and its parents, up to the outermost folder this attempt created, while empty
      if (this.createdWorkDir !== undefined) {
        const stop = path.dirname(this.createdWorkDir);
        for (let d = this.workDir; d !== stop && d.startsWith(this.createdWorkDir) && fs.readdirSync(d).length === 0; d = path.dirname(d)) fs.rmdirSync(d);
      }
    } catch {
      // best effort: a folder that is not empty stays
    }
    if (!fs.existsSync(dir)) this.logLine(`Removed run dir ${dir}: the attempt failed before recording anything`);
  }

  private async callHooks<K extends keyof Hook>(point: K, ...args: unknown[]): Promise<void> {
    for (const hook of this.hooks) {
      const fn = hook[point] as ((...a: unknown[]) => void | Promise<void>) | undefined;
      if (typeof fn === 'function') await fn.call(hook, this, ...args);
    }
  }

  /**
   * Restores model, optimizer, schedulers, RNG state and counters from a training checkpoint
   * (in a distributed run, every rank calls it with the same file and takes its own RNG state).
   */
  resumeFrom(file: string): void {
    const ck = loadCheckpoint(file);
    const savedWorld = ck.rngStates.length;
    try {
      this.model.loadStateDict(ck.model, { strict: true });
      this.optimizer.loadStateDict(ck.optimizer);
      this.schedulers.loadStateDict(ck.meta.schedulers);
      Object.assign(this.progress, { epoch: ck.meta.epoch, iter: ck.meta.iter, innerIter: ck.meta.innerIter });
      if (savedWorld === this.worldSize) torch.setRngState(ck.rngStates[this.rank]);
      else {
        // Other ranks, other shards: fresh per-rank seeds (distinct from the run's start), and the
        // epoch resumes after about as many samples as the checkpoint had seen.
        torch.manualSeed(this.config.seed + this.rank + this.worldSize * this.progress.iter);
        this.progress.innerIter = Math.floor((this.progress.innerIter * savedWorld) / this.worldSize);
      }
    } finally {
      torch.dispose([...ck.model.values(), ...ck.rngStates, ...Object.values(ck.optimizer.state).flatMap((s) => Object.values(s))]);
    }
    this.logLine(`Resumed from ${file} (epoch ${this.progress.epoch}, iter ${this.progress.iter})`);
    if (savedWorld !== this.worldSize) {
      this.logLine(`Note: the checkpoint was saved by ${savedWorld} process(es), this run has ${this.worldSize}: fresh per-rank RNG seeds (seed + rank + worldSize × iter), and epoch ${this.progress.epoch + 1} resumes at its batch ${this.progress.innerIter} of this sharding`);
    }
    const changed = changedKeys(ck.meta.config, this.config).filter((k) => k !== 'workDir' && k !== 'loadFrom');
    if (changed.length > 0) this.logLine(`Note: the config differs from the checkpoint's in ${changed.join(', ')}`);
  }

  /**
   * Loads model weights only (loadModelWeights): non-strict for training's loadFrom (fine-tuning,
   * as MMEngine's load_from), strict unless told otherwise for testing. A checkpoint that matches
   * no parameter is an error either way; a non-strict load logs what it did not load.
   */
  loadWeightsFrom(file: string, opts: { strict?: boolean } = {}): void {
    const sd = loadWeights(file);
    try {
      loadModelWeights(this.model, sd, { strict: opts.strict ?? false, file, log: (line) => this.logLine(line) });
    } finally {
      torch.dispose([...sd.values()]);
    }
  }

  /** Trains to the configured length (resuming or loading weights first, as the options say). */
  async train(): Promise<void> {
    const data = this.opts.trainData;
    if (!data) throw new Error('Runner.train: no training data');
    if (this.config.train.valInterval > 0 && !(this.opts.valData && this.opts.evaluator)) {
      throw new Error(`train.valInterval is ${this.config.train.valInterval} but the runner has no validation data or evaluator (set it to 0)`);
    }
    if (data.length === 0) throw new Error(`${this.configName}: the training data has no batches: training would run 0 iterations`);
    if (this.dist && this.config.train.valInterval > 0) this.checkDistributedEvaluator();
    if (this.isMain) this.startRun();
    try {
      if (this.isMain) for (const name of removeStaleTempFiles(this.workDir)) this.logLine(`Removed ${name}, left by a killed run`);
      const resume = this.opts.resume;
      let from = resume || undefined;
      if (resume === true) {
        const latest = () => findLatestCheckpoint(this.workDir) ?? null;
        from = (this.dist ? await this.dist.shareFromMain('checkpoint to resume from', latest) : latest()) ?? undefined;
      }
      if (from) this.resumeFrom(from as string);
      else {
        if (resume === true) this.logLine(`No checkpoint in ${this.workDir}: training from the start`);
        // Distributed: rank 0 loads the weights, the GradSync below broadcasts them to the others.
        if (this.isMain) {
          if (this.model.initWeights) await this.model.initWeights((line) => this.logLine(line));
          if (this.opts.loadFrom) this.loadWeightsFrom(this.opts.loadFrom);
        }
      }
      if (this.dist) {
        const dist = this.dist;
        this.gradSync = dist.guard('broadcasting rank 0\'s weights', () => dist.register(() => createGradSync(this.model, dist.pg, { findUnusedParameters: this.config.findUnusedParameters ?? false })));
        this.logLine(`Distributed: ${this.worldSize} processes, ${this.config.train.byEpoch ? `${data.length ?? '?'} iterations per epoch` : 'iteration-based'}, per-rank seeds (seed + rank); logged losses are rank 0's`);
      }
      this.model.train(true);
      await this.callHooks('beforeRun');
      try {
        if (this.config.train.byEpoch) await this.epochLoop(this.config.train.maxEpochs);
        else await this.iterLoop(this.config.train.maxIters);
      } finally {
        await data.close?.();
        const stats = this.gradSync?.commStats?.();
        if (stats) this.logLine(`Gradient sync: ${Object.entries(stats).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`).join(', ')}`);
        this.gradSync?.close();
        this.gradSync = undefined;
      }
      await this.callHooks('afterRun');
      // rank 0 serves the store: it must not leave while another rank still needs it
      this.dist?.barrier('end of training');
    } catch (e) {
      this.abandonRun(e);
      throw e;
    }
  }

  private checkDistributedEvaluator(): void {
    const ev = this.opts.evaluator;
    if (ev && (typeof ev.state !== 'function' || typeof ev.merge !== 'function')) {
      throw new Error('distributed validation: the evaluator has no state()/merge() to gather the ranks\' results (set train.valInterval to 0 or implement them)');
    }
  }

  private shouldValidate(done: number, max: number): boolean {
    const every = this.config.train.valInterval;
    return every > 0 && (done % every === 0 || done === max);
  }

  private async epochLoop(maxEpochs: number): Promise<void> {
    if (this.progress.epoch >= maxEpochs) this.logLine(`Training already finished (epoch ${this.progress.epoch} of ${maxEpochs})`);
    while (this.progress.epoch < maxEpochs) {
      if (this.progress.innerIter === 0) await this.callHooks('beforeTrainEpoch');
      await this.runEpoch(() => false);
      this.progress.epoch += 1;
      this.progress.innerIter = 0;
      await this.callHooks('afterTrainEpoch');
      if (this.shouldValidate(this.progress.epoch, maxEpochs)) await this.validate();
    }
  }

  private async iterLoop(maxIters: number): Promise<void> {
    if (this.progress.iter >= maxIters) this.logLine(`Training already finished (iter ${this.progress.iter} of ${maxIters})`);
    // Iteration-based training reads the data epoch after epoch; epoch hooks are not called (as MMEngine).
    while (this.progress.iter < maxIters) {
      const stopped = await this.runEpoch(async () => {
        if (this.shouldValidate(this.progress.iter, maxIters)) await this.validate();
        return this.progress.iter >= maxIters;
      });
      if (stopped) break;
      this.progress.epoch += 1;
      this.progress.innerIter = 0;
    }
  }

  /**
   * Trains on the rest of epoch `progress.epoch` (skipping the `innerIter` batches done
   * before a resume). `after` runs after each iteration's hooks; when it returns true the
   * epoch stops there and runEpoch returns true.
   */
  private async runEpoch(after: () => boolean | Promise<boolean>): Promise<boolean> {
    const data = this.opts.trainData!;
    const { clipGrad } = this.config.optimWrapper;
    const it = iteratorOf(data.epoch(this.progress.epoch));
    let skip = this.progress.innerIter;
    let batches = 0;
    try {
      for (;;) {
        const start = performance.now();
        const iter = this.progress.iter + 1;
        this.dist?.mark(iter, 'data');
        const next = await it.next();
        if (next.done) break;
        batches++;
        if (skip > 0) {
          skip--;
          continue;
        }
        const dataTime = (performance.now() - start) / 1000;
        const lr = this.optimizer.paramGroups[0].lr;
        let log: IterInfo['log'];
        try {
          this.dist?.mark(iter, 'forward');
          log = trainStep(this.model, this.optimizer, next.value, clipGrad, this.gradSync && this.dist ? markingSync(this.gradSync, this.dist, iter) : this.gradSync);
        } catch (e) {
          if (this.dist && e instanceof Error && !e.message.startsWith('rank ')) e.message = `rank ${this.rank}: iteration ${iter}: ${e.message}${this.dist.peers()}`;
          throw e;
        }
        this.dist?.mark(iter, 'hooks');
        this.progress.iter += 1;
        this.progress.innerIter += 1;
        const comm = this.gradSync?.iterStats?.();
        const info: IterInfo = { log, lr, time: (performance.now() - start) / 1000, dataTime, ...(comm ? { comm } : {}) };
        await this.callHooks('afterTrainIter', info);
        if (await after()) return true;
        await yieldToEventLoop();
      }
    } finally {
      await it.return?.();
    }
    if (batches === 0) throw new Error(`training data: epoch ${this.progress.epoch} has no batches`);
    if (skip > 0) throw new Error(`training data: epoch ${this.progress.epoch} has ${batches} batches, but the checkpoint had done ${this.progress.innerIter} (did the data or batch size change?)`);
    return false;
  }

  /** Validation during training, then the afterValEpoch hooks (the logger). */
  private async validate(): Promise<void> {
    const metrics = await this.val();
    await this.callHooks('afterValEpoch', metrics);
  }

  /**
   * Runs the evaluator over the validation data and returns its metrics. The model's
   * mode and libtorch's RNG state are restored afterwards. Tensors in predictions are
   * freed once `evaluator.process` returns.
   */
  async val(): Promise<Record<string, number>> {
    const { valData, evaluator } = this.opts;
    if (!valData || !evaluator) throw new Error('Runner.val: no validation data or evaluator');
    if (this.dist) this.checkDistributedEvaluator();
    const rng = torch.getRngState();
    const wasTraining = this.model.training;
    this.model.eval();
    evaluator.reset();
    try {
      const it = iteratorOf(valData.epoch(0));
      try {
        for (let next = await it.next(); !next.done; next = await it.next()) {
          const batch = next.value;
          torch.noGrad(() => torch.tidy(() => evaluator.process(batch, this.model.predict(batch))));
          await yieldToEventLoop();
        }
      } finally {
        await it.return?.();
      }
      const dist = this.dist;
      if (!dist) return await evaluator.evaluate();
      await dist.gatherToMain('evaluation results', () => evaluator.state!(), (state) => evaluator.merge!(state));
      return await dist.shareFromMain('validation metrics', () => evaluator.evaluate());
    } finally {
      this.model.train(wasTraining);
      torch.setRngState(rng);
      rng.dispose();
    }
  }

  /**
   * `tsvision test`: loads `checkpoint` (weights; strictly unless `strict: false`, `--no-strict`), evaluates,
   * and returns the metrics and the evaluator's raw results.
   */
  async test(checkpoint: string, opts: { strict?: boolean } = {}): Promise<{ metrics: Record<string, number>; results: unknown }> {
    if (this.isMain) this.startRun();
    try {
      this.loadWeightsFrom(checkpoint, { strict: opts.strict ?? true });
      const metrics = await this.val();
      this.writeScalars({ mode: 'test', ...metrics });
      this.logLine(`Test: ${summaryMetrics(metrics).map(([k, v]) => `${k}: ${v.toFixed(4)}`).join('  ')}`);
      return { metrics, results: this.opts.evaluator?.results?.() };
    } catch (e) {
      this.abandonRun(e);
      throw e;
    } finally {
      await this.opts.valData?.close?.();
    }
  }
}

/** How buildRunner sets a run up. */
export interface BuildRunnerOptions {
  /** 'train' builds the training data, optimizer and schedulers; 'test' only the model, validation data and evaluator. */
  mode: 'train' | 'test';
  resume?: boolean | string;
  /** Metric names for the evaluator (`tsvision test --eval`). */
  metrics?: string[];
  hooks?: Hook[];
  checkpointWriter?: SafetensorsWriter;
  quiet?: boolean;
  /** Test with the task's test-time augmentation (`tsvision test --tta`). */
  tta?: boolean;
  /** Distributed over this group (default: the default process group when its world size is > 1). */
  processGroup?: ProcessGroup;
}

/** The default work dir of a config: `config.workDir`, else `work_dirs/<config file name>`. */
export function defaultWorkDir(loaded: Pick<LoadedConfig, 'config' | 'name'>): string {
  return loaded.config.workDir ?? path.join('work_dirs', path.basename(loaded.name).replace(/\.(js|json|ts)$/, ''));
}

/**
 * MMEngine's Runner.scale_lr: with autoScaleLr enabled, lr × (world size × batch) / baseBatchSize,
 * the batch being the config's per-process one. `worldSize` defaults to the default process
 * group's (1 without one). Returns the config with the scaled lr.
 */
export function scaleLr<C extends RunConfig>(config: C, loaded: Pick<LoadedConfig, 'name' | 'task'>, quiet = false, worldSize = defaultDistributedGroup()?.worldSize ?? 1): C {
  const a = config.autoScaleLr;
  if (!a?.enable) return config;
  if (!(a.baseBatchSize > 0)) throw new Error(`autoScaleLr.baseBatchSize: expected a positive number, got ${a.baseBatchSize}`);
  if (!loaded.task.trainBatchSize) throw new Error(`autoScaleLr: the ${loaded.task.name} task of ${loaded.name} does not say its batch size`);
  const batch = loaded.task.trainBatchSize(config);
  const base = config.optimWrapper.optimizer.lr;
  const lr = (base * worldSize * batch) / a.baseBatchSize;
  if (!quiet) console.error(`auto_scale_lr: lr ${base} × ${worldSize * batch} / ${a.baseBatchSize} = ${lr}`);
  return { ...config, optimWrapper: { ...config.optimWrapper, optimizer: { ...config.optimWrapper.optimizer, lr } } };
}

/**
 * Validates a (resolved) config against its task's schema, seeds libtorch, then builds the
 * model, data and evaluator through its task.
 */
export function buildRunner(loaded: LoadedConfig, opts: BuildRunnerOptions): Runner {
  validateConfig(loaded.config, loaded.task.configSchema, { source: loaded.name });
  const pg = opts.processGroup ?? defaultDistributedGroup();
  const shard: DataShard | undefined = pg && pg.worldSize > 1 ? { rank: pg.rank, worldSize: pg.worldSize } : undefined;
  let config = { ...loaded.config, workDir: defaultWorkDir(loaded) };
  if (opts.mode === 'train') config = scaleLr(config, loaded, opts.quiet === true || (shard?.rank ?? 0) > 0, shard?.worldSize ?? 1);
  torch.manualSeed(config.seed);
  const { task } = loaded;
  let model = task.buildModel(config);
  // training randomness differs between ranks (MMEngine's diff_rank_seed); one process keeps the seed's stream
  if (shard) torch.manualSeed(config.seed + shard.rank);
  const needVal = opts.mode === 'test' || config.train.valInterval > 0;
  let valData: BatchSource<unknown> | undefined;
  if (opts.tta) {
    if (opts.mode !== 'test') throw new Error('buildRunner: test-time augmentation is for testing');
    if (!task.buildTta) throw new Error(`${loaded.name}: the ${task.name} task has no test-time augmentation`);
    if (shard) throw new Error('buildRunner: test-time augmentation is not supported in a distributed run');
    ({ model, valData } = task.buildTta(config, model));
  } else if (needVal) valData = task.buildValData(config, shard);
  return new Runner({
    model,
    config,
    configName: loaded.name,
    workDir: config.workDir,
    trainData: opts.mode === 'train' ? task.buildTrainData(config, shard) : undefined,
    valData,
    evaluator: needVal ? task.buildEvaluator(config, { metrics: opts.metrics }) : undefined,
    resume: opts.mode === 'train' ? opts.resume : undefined,
    loadFrom: opts.mode === 'train' ? config.loadFrom : undefined,
    hooks: opts.hooks,
    checkpointWriter: opts.checkpointWriter,
    quiet: opts.quiet,
    processGroup: pg,
  });
}
