/**
 * Hooks: typed objects with optional methods, called by the runner in list order
 * (MMEngine's hook points, without priorities: the runner's default list puts the
 * logger first, then the schedulers, then checkpointing, so a checkpoint holds the
 * scheduler state after the iteration's step).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Runner } from './runner';
import type { StepLog } from './optim_wrapper';
import * as torch from '../torch';
import {
  CHECKPOINT_EXT, listCheckpoints, saveCheckpoint, writeLastCheckpoint, type CheckpointState, type SafetensorsWriter,
} from './checkpoint';
import type { HooksConfig } from '../config/types';
import { writeFileAtomic } from '../config/io';

/** What the runner reports after each training iteration. */
export interface IterInfo {
  /** Loss terms, `loss`, and `grad_norm` when clipping. */
  log: StepLog;
  /** lr of the first parameter group during this iteration. */
  lr: number;
  /** Seconds: the whole iteration (data included), and the wait for the batch. */
  time: number;
  dataTime: number;
  /** Distributed training: the gradient sync's figures of this iteration (`comm_allreduce_ms`, `comm_wait_ms`, `comm_buckets`). */
  comm?: Record<string, number>;
}

export interface Hook {
  readonly name: string;
  beforeRun?(runner: Runner): void | Promise<void>;
  beforeTrainEpoch?(runner: Runner): void | Promise<void>;
  afterTrainIter?(runner: Runner, info: IterInfo): void | Promise<void>;
  afterTrainEpoch?(runner: Runner): void | Promise<void>;
  afterValEpoch?(runner: Runner, metrics: Record<string, number>): void | Promise<void>;
  afterRun?(runner: Runner): void | Promise<void>;
}

/** Steps the lr/momentum schedulers: iteration-based ones after every iteration, epoch-based ones after every epoch. */
export class ParamSchedulerHook implements Hook {
  readonly name = 'ParamSchedulerHook';
  afterTrainIter(runner: Runner): void {
    runner.schedulers.afterTrainIter();
  }
  afterTrainEpoch(runner: Runner): void {
    runner.schedulers.afterTrainEpoch();
  }
}

/** MMEngine CheckpointHook's rule inference for save_best (substrings of the lower-cased metric name). */
const GREATER_KEYS = ['acc', 'top', 'ar@', 'auc', 'precision', 'map', 'mdice', 'miou', 'macc', 'aacc'];
const LESS_KEYS = ['loss'];

/** The best checkpoint so far, as `best_checkpoint.json` in the work dir records it (a resumed run reads it back). */
interface BestRecord {
  key: string;
  rule: 'greater' | 'less';
  score: number;
  file: string;
}

const BEST_RECORD = 'best_checkpoint.json';

/**
 * Saves a checkpoint every `interval` epochs (byEpoch) or iterations, and at the end of
 * training (saveLast); keeps the newest `maxKeep` periodic ones (-1: all); with `saveBest`,
 * keeps the checkpoint of the best validation so far (MMEngine's save_best / rule).
 */
export class CheckpointHook implements Hook {
  readonly name = 'CheckpointHook';
  /** The writer (tests replace it to simulate a crash in the middle of a write). */
  write: SafetensorsWriter | undefined;

  constructor(readonly opts: HooksConfig['checkpoint'], write?: SafetensorsWriter) {
    if (!(Number.isInteger(opts.interval) && opts.interval >= 0)) throw new Error(`hooks.checkpoint.interval: expected an integer >= 0, got ${opts.interval}`);
    if (!(Number.isInteger(opts.maxKeep) && (opts.maxKeep >= 1 || opts.maxKeep === -1))) throw new Error(`hooks.checkpoint.maxKeep: expected a positive integer or -1, got ${opts.maxKeep}`);
    this.write = write;
    if (opts.rule != null && opts.rule !== 'greater' && opts.rule !== 'less') throw new Error(`hooks.checkpoint.rule: expected 'greater' or 'less', got ${JSON.stringify(opts.rule)}`);
    if (opts.saveBest != null && (typeof opts.saveBest !== 'string' || opts.saveBest === '')) throw new Error(`hooks.checkpoint.saveBest: expected a metric name or 'auto', got ${JSON.stringify(opts.saveBest)}`);
    if (opts.saveBest != null && opts.saveBest !== 'auto') this.ruleFor(opts.saveBest); // fails early when it cannot be inferred
  }

  private best: BestRecord | undefined;

  /** The comparison rule for `key`: the configured one, else MMEngine's inference from the name. */
  private ruleFor(key: string): 'greater' | 'less' {
    if (this.opts.rule) return this.opts.rule;
    const k = key.toLowerCase();
    if (LESS_KEYS.includes(k)) return 'less';
    if (GREATER_KEYS.some((g) => k.includes(g))) return 'greater';
    if (LESS_KEYS.some((l) => k.includes(l))) return 'less';
    throw new Error(`hooks.checkpoint.saveBest: cannot infer whether a greater or a smaller '${key}' is better; set hooks.checkpoint.rule to 'greater' or 'less'`);
  }

  /** A resumed run continues the best record of the run it resumes (a fresh run starts a new one). Rank 0 reads it. */
  beforeRun(runner: Runner): void {
    this.best = undefined;
    if (this.opts.saveBest == null || runner.progress.iter === 0 || !runner.isMain) return;
    const file = path.join(runner.workDir, BEST_RECORD);
    if (!fs.existsSync(file)) return;
    try {
      const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as BestRecord;
      if (typeof rec.score === 'number' && (this.opts.saveBest === 'auto' || rec.key === this.opts.saveBest)) this.best = rec;
    } catch (e) {
      runner.logLine(`Note: ${file} is unreadable (${(e as Error).message}); the best checkpoint starts afresh`);
    }
  }

  /** The best checkpoint to write after this validation, if it beat the record (decided on rank 0, which holds the record). */
  private newBest(runner: Runner, metrics: Record<string, number>): BestRecord | null {
    const want = this.opts.saveBest;
    if (want == null) return null;
    const key = want === 'auto' ? Object.keys(metrics)[0] : want;
    if (key === undefined) return null;
    const score = metrics[key];
    if (score === undefined) throw new Error(`hooks.checkpoint.saveBest: the evaluation gave no '${key}' (it gave ${Object.keys(metrics).join(', ') || 'nothing'})`);
    const rule = this.ruleFor(key);
    if (!Number.isFinite(score)) return null;
    if (this.best && !(rule === 'greater' ? score > this.best.score : score < this.best.score)) return null;
    const { epoch, iter } = runner.progress;
    const step = this.opts.byEpoch ? `epoch_${epoch}` : `iter_${iter}`;
    return { key, rule, score, file: `best_${key.replace(/\//g, '_')}_${step}${CHECKPOINT_EXT}` };
  }

  /** Distributed: every rank takes part (the RNG states are gathered), rank 0 writes, all wait for it. */
  async afterValEpoch(runner: Runner, metrics: Record<string, number>): Promise<void> {
    if (this.opts.saveBest == null) return;
    const best = runner.dist ? await runner.dist.shareFromMain('the best-checkpoint decision', () => this.newBest(runner, metrics)) : this.newBest(runner, metrics);
    if (best === null) return;
    const file = path.join(runner.workDir, best.file);
    const state = runner.checkpointState();
    try {
      if (runner.isMain) {
        saveCheckpoint(file, state, this.write);
        const previous = this.best?.file;
        writeFileAtomic(path.join(runner.workDir, BEST_RECORD), `${JSON.stringify(best)}\n`);
        if (previous && previous !== best.file) fs.rmSync(path.join(runner.workDir, previous), { force: true });
        runner.logLine(`The best checkpoint ${file} (${best.key} ${best.score.toFixed(4)}) is saved`);
      }
    } finally {
      torch.dispose(state.rngStates ?? []);
    }
    this.best = best;
    runner.dist?.barrier(`best checkpoint ${best.file}`);
  }

  afterTrainIter(runner: Runner): void {
    const { iter } = runner.progress;
    if (this.opts.byEpoch) return;
    if ((this.opts.interval > 0 && iter % this.opts.interval === 0) || (this.opts.saveLast && iter === runner.maxIters)) this.save(runner, `iter_${iter}`);
  }

  afterTrainEpoch(runner: Runner): void {
    const { epoch } = runner.progress;
    if (!this.opts.byEpoch) return;
    if ((this.opts.interval > 0 && epoch % this.opts.interval === 0) || (this.opts.saveLast && epoch === runner.maxEpochs)) this.save(runner, `epoch_${epoch}`);
  }

  /**
   * Writes `<workDir>/<stem>.safetensors`, then `last_checkpoint`, then prunes old ones. In a
   * distributed run every rank calls it (the RNG states are gathered), rank 0 writes, and all
   * wait at a barrier until the checkpoint is complete.
   */
  save(runner: Runner, stem: string): string {
    const file = path.join(runner.workDir, stem + CHECKPOINT_EXT);
    const state = runner.checkpointState();
    try {
      if (runner.isMain) this.writeAndPrune(runner, file, state);
    } finally {
      torch.dispose(state.rngStates ?? []);
    }
    runner.dist?.barrier(`checkpoint ${stem}`);
    return file;
  }

  private writeAndPrune(runner: Runner, file: string, state: CheckpointState): void {
    saveCheckpoint(file, state, this.write);
    writeLastCheckpoint(runner.workDir, file);
    runner.logLine(`Saved checkpoint ${file}`);
    if (this.opts.maxKeep > 0) {
      const kind = this.opts.byEpoch ? 'epoch' : 'iter';
      const mine = listCheckpoints(runner.workDir).filter((c) => c.kind === kind && c.file !== file);
      const excess = mine.length + 1 - this.opts.maxKeep;
      for (const old of mine.slice(0, Math.max(0, excess))) fs.rmSync(old.file, { force: true });
    }
  }
}
