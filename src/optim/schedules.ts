/**
 * Named training schedules: MMDetection 3.x's (MMEngine scheduler lists) and the
 * classic mmdet 2.x `lr_config` form (MMCV's LrUpdaterHook), whose warmup is
 * lr = regular · (1 − (1 − iter / warmupIters) · (1 − warmupRatio)).
 */
import type { BaseOptions, ParamGroup } from './optimizer';
import type { ParamGroupsHolder, SchedulerConfig } from './scheduler';

/** A training length and its lr steps, in epochs. */
export interface EpochSchedule {
  maxEpochs: number;
  milestones: number[];
}

/** 1x: 12 epochs, lr ÷10 after epochs 8 and 11. */
export const SCHEDULE_1X: EpochSchedule = { maxEpochs: 12, milestones: [8, 11] };
/** 2x: 24 epochs, steps at 16 and 22. */
export const SCHEDULE_2X: EpochSchedule = { maxEpochs: 24, milestones: [16, 22] };
/** 3x: 36 epochs, steps at 27 and 33. */
export const SCHEDULE_3X: EpochSchedule = { maxEpochs: 36, milestones: [27, 33] };
/** CenterNet: 140 epochs, steps at 90 and 120. */
export const SCHEDULE_CENTERNET_140E: EpochSchedule = { maxEpochs: 140, milestones: [90, 120] };
/** CenterNet's long schedule: 320 epochs, steps at 270 and 300. */
export const SCHEDULE_CENTERNET_320E: EpochSchedule = { maxEpochs: 320, milestones: [270, 300] };

/**
 * MMDetection 3.x's param_scheduler for a step schedule: LinearLR warmup over
 * warmupIters iterations from warmupRatio, then MultiStepLR by epoch.
 */
export function multiStepSchedule(s: EpochSchedule, opts: { warmupIters?: number; warmupRatio?: number; gamma?: number } = {}): SchedulerConfig[] {
  const warmupIters = opts.warmupIters ?? 500;
  const out: SchedulerConfig[] = [];
  if (warmupIters > 0) out.push({ type: 'LinearLR', startFactor: opts.warmupRatio ?? 0.001, byEpoch: false, begin: 0, end: warmupIters });
  out.push({ type: 'MultiStepLR', begin: 0, end: s.maxEpochs, byEpoch: true, milestones: [...s.milestones], gamma: opts.gamma ?? 0.1 });
  return out;
}

// ---------------------------------------------------------------- mmdet 2.x lr_config

/** mmdet 2.x / MMCV `lr_config` (e.g. `{ policy: 'step', warmup: 'linear', warmupIters: 500, warmupRatio: 0.001, step: [8, 11] }`). */
export interface LegacyLrConfig {
  policy: 'step' | 'poly' | 'CosineAnnealing' | 'fixed';
  /** Regular lr changes per epoch (default true) or per iteration. */
  byEpoch?: boolean;
  warmup?: 'linear' | 'constant' | 'exp' | null;
  /** Warmup length in iterations (always iterations, as MMCV's default warmup_by_epoch false). */
  warmupIters?: number;
  warmupRatio?: number;
  /** step policy: epochs (or iterations) at which lr is multiplied by gamma, or a period. */
  step?: number | number[];
  gamma?: number;
  /** step: floor of the lr; poly: its end value; CosineAnnealing: the target (or use minLrRatio). */
  minLr?: number;
  minLrRatio?: number;
  /** poly power (default 1). */
  power?: number;
}

/** Where training is: epoch (0-based), global iteration (0-based, counted over all epochs), and the run's length. */
export interface LegacyProgress {
  epoch: number;
  iter: number;
  maxEpochs?: number;
  maxIters?: number;
}

function regularLr(cfg: LegacyLrConfig, baseLr: number, at: LegacyProgress): number {
  const byEpoch = cfg.byEpoch ?? true;
  const progress = byEpoch ? at.epoch : at.iter;
  const maxProgress = byEpoch ? at.maxEpochs : at.maxIters;
  const needMax = (): number => {
    if (maxProgress === undefined) throw new TypeError(`legacyLrAt: policy '${cfg.policy}' needs ${byEpoch ? 'maxEpochs' : 'maxIters'}`);
    return maxProgress;
  };
  switch (cfg.policy) {
    case 'fixed': return baseLr;
    case 'step': {
      const step = cfg.step;
      if (step === undefined) throw new TypeError("legacyLrAt: policy 'step' needs step");
      let exp: number;
      if (typeof step === 'number') exp = Math.floor(progress / step);
      else {
        exp = step.length;
        for (let i = 0; i < step.length; i++) {
          if (progress < step[i]) {
            exp = i;
            break;
          }
        }
      }
      const lr = baseLr * (cfg.gamma ?? 0.1) ** exp;
      return cfg.minLr === undefined ? lr : Math.max(lr, cfg.minLr);
    }
    case 'poly': {
      const minLr = cfg.minLr ?? 0;
      const coeff = (1 - progress / needMax()) ** (cfg.power ?? 1);
      return (baseLr - minLr) * coeff + minLr;
    }
    case 'CosineAnnealing': {
      const target = cfg.minLrRatio !== undefined ? baseLr * cfg.minLrRatio : cfg.minLr ?? 0;
      const cosOut = Math.cos(Math.PI * (progress / needMax())) + 1;
      return target + 0.5 * (baseLr - target) * cosOut;
    }
    default: throw new TypeError(`legacyLrAt: unknown policy '${(cfg as { policy: string }).policy}'`);
  }
}

/** The lr MMCV's LrUpdaterHook sets for a training iteration (warmup applied on top of the regular lr). */
export function legacyLrAt(cfg: LegacyLrConfig, at: LegacyProgress, baseLr: number): number {
  const regular = regularLr(cfg, baseLr, at);
  const warmupIters = cfg.warmupIters ?? 0;
  if (!cfg.warmup || at.iter >= warmupIters) return regular;
  const ratio = cfg.warmupRatio ?? 0.1;
  switch (cfg.warmup) {
    case 'constant': return regular * ratio;
    case 'linear': {
      const k = (1 - at.iter / warmupIters) * (1 - ratio);
      return regular * (1 - k);
    }
    case 'exp': return regular * ratio ** (1 - at.iter / warmupIters);
    default: throw new TypeError(`legacyLrAt: unknown warmup '${cfg.warmup as string}'`);
  }
}

/**
 * Applies a legacy lr_config to an optimizer before each training iteration. It is
 * stateless (the lr follows from epoch and iteration), so resuming needs nothing
 * but the group's initialLr, which the optimizer's state dict keeps.
 */
export class LegacyLrUpdater {
  constructor(readonly optimizer: ParamGroupsHolder, readonly cfg: LegacyLrConfig) {
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
  }

  /** Sets every group's lr for the iteration about to run. */
  beforeTrainIter(at: LegacyProgress): void {
    for (const g of this.optimizer.paramGroups as ParamGroup<BaseOptions>[]) {
      g.lr = legacyLrAt(this.cfg, at, g.initialLr as number);
    }
  }
}
