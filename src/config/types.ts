/**
 * The shape of a config module. A config file is a TypeScript module whose default
 * export is `defineConfig(task, config)`:
 *
 *   - `config` is plain, JSON-serializable data checked by the compiler against the
 *     task's config type. It is what `--cfg-options` overrides, what is dumped beside
 *     every run, and what is stored in checkpoints.
 *   - `task` is a typed object imported from src/ that builds the model, data and
 *     evaluator from the (resolved) config: the editor follows it, no string registry
 *     stands between a config and the classes it builds.
 */
import type { SchedulerConfig, ParamwiseOptions } from '../optim';
import type { BatchSource, Evaluator, TrainableModel } from '../engine/types';
import type { JsonSchema } from './schema';

/** The optimizer: a discriminated union the runner switches on (one `case` per class, checked by the compiler). */
export type OptimizerConfig =
  | {
    type: 'SGD';
    /** @minimum 0 */
    lr: number;
    /** @minimum 0 */
    momentum?: number;
    /** @minimum 0 */
    dampening?: number;
    nesterov?: boolean;
    /** @minimum 0 */
    weightDecay?: number;
  }
  | {
    type: 'Adam' | 'AdamW';
    /** @minimum 0 */
    lr: number;
    /** Each in [0, 1). @items {"type": "number", "minimum": 0, "exclusiveMaximum": 1} */
    betas?: [number, number];
    /** @minimum 0 */
    eps?: number;
    /** @minimum 0 */
    weightDecay?: number;
    amsgrad?: boolean;
  };

/** MMEngine's optim_wrapper: the optimizer, gradient clipping and per-parameter options. */
export interface OptimWrapperConfig {
  optimizer: OptimizerConfig;
  /** Clip the gradients' joint norm (null: no clipping). */
  clipGrad: {
    /** @exclusiveMinimum 0 */
    maxNorm: number;
    /** @exclusiveMinimum 0 */
    normType?: number;
  } | null;
  /** Per-parameter lr/decay multipliers (null: one group with the optimizer's options). */
  paramwise: Omit<ParamwiseOptions, 'lr' | 'weightDecay'> | null;
}

/** The training loop (MMEngine's train_cfg). */
export type TrainLoopConfig =
  | {
    byEpoch: true;
    /** @asType integer @minimum 1 */
    maxEpochs: number;
    /** Validate every N epochs (0: never). @asType integer @minimum 0 */
    valInterval: number;
  }
  | {
    byEpoch: false;
    /** @asType integer @minimum 1 */
    maxIters: number;
    /** Validate every N iterations (0: never). @asType integer @minimum 0 */
    valInterval: number;
  };

/** MMEngine's default_hooks that have settings. */
export interface HooksConfig {
  logger: {
    /** Log (a line, a progress-bar update, a JSON line) every N iterations. @asType integer @minimum 1 */
    interval: number;
  };
  checkpoint: {
    /** Save every N epochs (byEpoch) or iterations (0: only the last, with saveLast). @asType integer @minimum 0 */
    interval: number;
    byEpoch: boolean;
    /** Keep the newest K periodic checkpoints (-1: all; 0 is rejected by validateConfig). @asType integer @minimum -1 */
    maxKeep: number;
    /** Also save when training ends, whatever the interval. */
    saveLast: boolean;
    /**
     * MMEngine's save_best: after each validation, if this metric (e.g. 'coco/AP', 'mIoU',
     * 'bbox_mAP'; 'auto': the first metric) beat every earlier validation of the run, save
     * `best_<metric>_<epoch|iter>_<n>.safetensors` (a '/' in the name becomes '_') and remove the
     * previous best. null or absent: off.
     */
    saveBest?: string | null;
    /** 'greater' or 'less' is better; absent: inferred from the name as MMEngine does ('loss': less; acc, top, AR@, auc, precision, mAP, mDice, mIoU, mAcc, aAcc: greater). */
    rule?: 'greater' | 'less' | null;
  };
}

/** What every config has, whatever its task (MMEngine's runtime settings). */
export interface RunConfig {
  /** Seeds libtorch's generators and the data pipeline. @asType integer @minimum 0 @maximum 4294967295 */
  seed: number;
  /** Where runs write logs and checkpoints (`--work-dir` overrides; null: work_dirs/<config name>). */
  workDir: string | null;
  train: TrainLoopConfig;
  optimWrapper: OptimWrapperConfig;
  /** lr (and momentum) schedules, in MMEngine's scheduler-list form. */
  paramScheduler: SchedulerConfig[];
  hooks: HooksConfig;
  /** Weights to start from (`--load-from` overrides; null: none). */
  loadFrom: string | null;
  /**
   * Distributed training: parameters may get no gradient in some iterations (MMEngine's
   * find_unused_parameters; default false). The gradient sync then looks for them after each
   * forward; without it such a parameter stops the next iteration with an error naming it.
   */
  findUnusedParameters?: boolean;
  /**
   * MMEngine's auto_scale_lr: when enabled (`tsvision train --auto-scale-lr`), the optimizer's
   * lr is multiplied by (processes × images per batch) / baseBatchSize before training, as
   * MMEngine's Runner.scale_lr. The detection configs carry lr 0.02 for baseBatchSize 16
   * (8 GPUs × 2 images), disabled by default as MMDetection's.
   */
  autoScaleLr?: {
    enable: boolean;
    /** @asType integer @minimum 1 */
    baseBatchSize: number;
  };
}

/**
 * Builds a run's parts from its resolved config. B: the batch type the data yields
 * and the model consumes; P: the model's predictions, which the evaluator reads.
 */
/** The part of the data one process of a distributed run reads. */
export interface DataShard {
  rank: number;
  worldSize: number;
}

export interface Task<C extends RunConfig, B = unknown, P = unknown> {
  /** A short name for logs ('detection', 'toy-regression'). */
  readonly name: string;
  /**
   * The JSON Schema of C, generated from the config type by scripts/gen-config-schemas.js:
   * resolveConfig and buildRunner validate configs against it (absent: against RunConfig's).
   */
  readonly configSchema?: JsonSchema;
  buildModel(cfg: C): TrainableModel<B, P>;
  /** Images per training batch in one process (for autoScaleLr). */
  trainBatchSize?(cfg: C): number;
  /**
   * The training data; with `shard` (distributed training) this rank's shard of each epoch,
   * padded to equal length (torch's DistributedSampler), batches of the config's per-process size.
   */
  buildTrainData(cfg: C, shard?: DataShard): BatchSource<B>;
  /**
   * The validation set (evaluation during training, and `tsvision test`); with `shard`, this
   * rank's share, unpadded (every sample on exactly one rank).
   */
  buildValData(cfg: C, shard?: DataShard): BatchSource<B>;
  /** metrics: the names given to `tsvision test --eval` (undefined: the config's defaults). */
  buildEvaluator(cfg: C, opts?: { metrics?: string[] }): Evaluator<B, P>;
  /**
   * Test-time augmentation (`tsvision test --tta`): a model that merges the views' predictions
   * wrapping `model`, and validation data that carries every view. Absent: the task has none.
   */
  buildTta?(cfg: C, model: TrainableModel<B, P>): { model: TrainableModel<B, P>; valData: BatchSource<B> };
}

/** A config module's default export. */
export interface ConfigModule<C extends RunConfig = RunConfig, B = unknown, P = unknown> {
  readonly task: Task<C, B, P>;
  readonly config: C;
}

/** Pairs a task with its config; the compiler checks the config against the task's config type. */
export function defineConfig<C extends RunConfig, B, P>(task: Task<C, B, P>, config: C): ConfigModule<C, B, P> {
  return { task, config };
}
