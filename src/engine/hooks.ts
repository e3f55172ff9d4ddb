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

/** What the runner reports after each training iteration. */
export interface IterInfo {
  /** Loss terms, `loss`, and `grad_norm` when clipping. */
  log: StepLog;
  /** lr of the first parameter group during this iteration. */
  lr: number;
  /** Seconds: the whole iteration (data included), and the wait for the batch. */
  time: number;
  dataTime: number;
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

/**
 * Saves a checkpoint every `interval` epochs (byEpoch) or iterations, and at the end of
 * training (saveLast); keeps the newest `maxKeep` periodic ones (-1: all).
 */
export class CheckpointHook implements Hook {
  readonly name = 'CheckpointHook';
  /** The writer (tests replace it to simulate a crash in the middle of a write). */
  write: SafetensorsWriter | undefined;

  constructor(readonly opts: HooksConfig['checkpoint'], write?: SafetensorsWriter) {
    if (!(Number.isInteger(opts.interval) && opts.interval >= 0)) throw new Error(`hooks.checkpoint.interval: expected an integer >= 0, got ${opts.interval}`);
    if (!(Number.isInteger(opts.maxKeep) && (opts.maxKeep >= 1 || opts.maxKeep === -1))) throw new Error(`hooks.checkpoint.maxKeep: expected a positive integer or -1, got ${opts.maxKeep}`);
    this.write = write;
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
