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

  constructor(opts: RunnerOptions<B, P>) {
    this.opts = opts;
    this.model = opts.model;
    this.config = opts.config;
    this.configName = opts.configName;
    this.workDir = path.resolve(opts.workDir);
    if (opts.trainData) {
      this._optimizer = buildOptimizer(opts.config.optimWrapper, opts.model);
      this._schedulers = ParamSchedulerList.build(this._optimizer, opts.config.paramScheduler, { epochLength: opts.trainData.length });
    }
    const h = opts.config.hooks;
    this.hooks = [
      new LoggerHook(h.logger.interval),
      new ParamSchedulerHook(),
      new CheckpointHook(h.checkpoint, opts.checkpointWriter),
      ...(opts.hooks ?? []),
    ];
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
    if ((opts.console ?? true) && !this.opts.quiet) {
      // Clear the logger's progress bar (if any) first; it is redrawn at the next iteration.
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      console.log(line);
    }
  }

  /** One JSON object to the run's scalars.jsonl. */
  writeScalars(record: Record<string, unknown>): void {
    this.scalarsFile?.append(JSON.stringify(record));
  }

  /** What a checkpoint stores now. */
  checkpointState(): CheckpointState {
    return {
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

  /** Restores model, optimizer, schedulers, RNG state and counters from a training checkpoint. */
  resumeFrom(file: string): void {
    const ck = loadCheckpoint(file);
    try {
      this.model.loadStateDict(ck.model, { strict: true });
      this.optimizer.loadStateDict(ck.optimizer);
      this.schedulers.loadStateDict(ck.meta.schedulers);
      torch.setRngState(ck.rngState);
      Object.assign(this.progress, { epoch: ck.meta.epoch, iter: ck.meta.iter, innerIter: ck.meta.innerIter });
    } finally {
      torch.dispose([...ck.model.values(), ck.rngState, ...Object.values(ck.optimizer.state).flatMap((s) => Object.values(s))]);
    }
    this.logLine(`Resumed from ${file} (epoch ${this.progress.epoch}, iter ${this.progress.iter})`);
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
    this.startRun();
    try {
      for (const name of removeStaleTempFiles(this.workDir)) this.logLine(`Removed ${name}, left by a killed run`);
      const resume = this.opts.resume;
      const from = resume === true ? findLatestCheckpoint(this.workDir) : resume || undefined;
      if (from) this.resumeFrom(from);
      else {
        if (resume === true) this.logLine(`No checkpoint in ${this.workDir}: training from the start`);
        if (this.model.initWeights) await this.model.initWeights((line) => this.logLine(line));
        if (this.opts.loadFrom) this.loadWeightsFrom(this.opts.loadFrom);
      }
      this.model.train(true);
      await this.callHooks('beforeRun');
      try {
        if (this.config.train.byEpoch) await this.epochLoop(this.config.train.maxEpochs);
        else await this.iterLoop(this.config.train.maxIters);
      } finally {
        await data.close?.();
      }
      await this.callHooks('afterRun');
    } catch (e) {
      this.abandonRun(e);
      throw e;
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
        const next = await it.next();
        if (next.done) break;
        batches++;
        if (skip > 0) {
          skip--;
          continue;
        }
        const dataTime = (performance.now() - start) / 1000;
        const lr = this.optimizer.paramGroups[0].lr;
        const log = trainStep(this.model, this.optimizer, next.value, clipGrad);
        this.progress.iter += 1;
        this.progress.innerIter += 1;
        const info: IterInfo = { log, lr, time: (performance.now() - start) / 1000, dataTime };
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
      return await evaluator.evaluate();
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
    this.startRun();
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
}

/** The default work dir of a config: `config.workDir`, else `work_dirs/<config file name>`. */
export function defaultWorkDir(loaded: Pick<LoadedConfig, 'config' | 'name'>): string {
  return loaded.config.workDir ?? path.join('work_dirs', path.basename(loaded.name).replace(/\.(js|json|ts)$/, ''));
}

/**
 * MMEngine's Runner.scale_lr: with autoScaleLr enabled, lr × (world size × batch) / baseBatchSize
 * (one process until distributed training lands). Returns the config with the scaled lr.
 */
export function scaleLr<C extends RunConfig>(config: C, loaded: Pick<LoadedConfig, 'name' | 'task'>, quiet = false): C {
  const a = config.autoScaleLr;
  if (!a?.enable) return config;
  if (!(a.baseBatchSize > 0)) throw new Error(`autoScaleLr.baseBatchSize: expected a positive number, got ${a.baseBatchSize}`);
  if (!loaded.task.trainBatchSize) throw new Error(`autoScaleLr: the ${loaded.task.name} task of ${loaded.name} does not say its batch size`);
  const worldSize = 1;
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
  let config = { ...loaded.config, workDir: defaultWorkDir(loaded) };
  if (opts.mode === 'train') config = scaleLr(config, loaded, opts.quiet === true);
  torch.manualSeed(config.seed);
  const { task } = loaded;
  let model = task.buildModel(config);
  const needVal = opts.mode === 'test' || config.train.valInterval > 0;
  let valData: BatchSource<unknown> | undefined;
  if (opts.tta) {
    if (opts.mode !== 'test') throw new Error('buildRunner: test-time augmentation is for testing');
    if (!task.buildTta) throw new Error(`${loaded.name}: the ${task.name} task has no test-time augmentation`);
    ({ model, valData } = task.buildTta(config, model));
  } else if (needVal) valData = task.buildValData(config);
  return new Runner({
    model,
    config,
    configName: loaded.name,
    workDir: config.workDir,
    trainData: opts.mode === 'train' ? task.buildTrainData(config) : undefined,
    valData,
    evaluator: needVal ? task.buildEvaluator(config, { metrics: opts.metrics }) : undefined,
    resume: opts.mode === 'train' ? opts.resume : undefined,
    loadFrom: opts.mode === 'train' ? config.loadFrom : undefined,
    hooks: opts.hooks,
    checkpointWriter: opts.checkpointWriter,
    quiet: opts.quiet,
  });
}
