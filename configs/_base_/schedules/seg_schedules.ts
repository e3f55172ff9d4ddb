/**
 * MMSegmentation's iteration schedules (configs/_base_/schedules/schedule_{40k,80k,160k}.py):
 * SGD lr 0.01, momentum 0.9, weight decay 5e-4, no gradient clipping; PolyLR power 0.9 down to
 * eta_min 1e-4 over all iterations (by iteration); validation and a checkpoint every 1/10 of the
 * run; log every 50 iterations.
 */
import type { RunConfig } from '../../../src/config/types';

type Schedule = Pick<RunConfig, 'train' | 'optimWrapper' | 'paramScheduler' | 'hooks'>;

function iterSchedule(maxIters: number, interval: number): Schedule {
  return {
    train: { byEpoch: false, maxIters, valInterval: interval },
    optimWrapper: { optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9, weightDecay: 0.0005 }, clipGrad: null, paramwise: null },
    paramScheduler: [{ type: 'PolyLR', etaMin: 1e-4, power: 0.9, begin: 0, end: maxIters, byEpoch: false }],
    // mmseg's CheckpointHook keeps every checkpoint (max_keep_ckpts -1) and saves the last
    hooks: { logger: { interval: 50 }, checkpoint: { interval, byEpoch: false, maxKeep: -1, saveLast: true, saveBest: null, rule: null } },
  };
}

/** 40k iterations, validation and checkpoint every 4000. */
export const schedule40k = (): Schedule => iterSchedule(40000, 4000);
/** 80k iterations, every 8000. */
export const schedule80k = (): Schedule => iterSchedule(80000, 8000);
/** 160k iterations, every 16000. */
export const schedule160k = (): Schedule => iterSchedule(160000, 16000);
