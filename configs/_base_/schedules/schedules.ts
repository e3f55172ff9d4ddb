/**
 * Training schedules (MMDetection's configs/_base_/schedules): SGD lr 0.02 for a total batch
 * of 16 images (auto_scale_lr base_batch_size 16; `tsvision train --auto-scale-lr` scales it
 * to the real batch as MMEngine does), momentum 0.9, weight decay 1e-4, linear warmup 500
 * iterations from 0.001× (not scaled); 1x = 12 epochs with ×0.1 at 8 and 11, 2x = 24 epochs
 * with ×0.1 at 16 and 22.
 */
import type { RunConfig } from '../../../src/config/types';

type Schedule = Pick<RunConfig, 'train' | 'optimWrapper' | 'paramScheduler'>;


function epochSchedule(maxEpochs: number, milestones: number[], lr: number): Schedule {
  return {
    train: { byEpoch: true, maxEpochs, valInterval: 1 },
    optimWrapper: { optimizer: { type: 'SGD', lr, momentum: 0.9, weightDecay: 1e-4 }, clipGrad: null, paramwise: null },
    paramScheduler: [
      { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 500 },
      { type: 'MultiStepLR', byEpoch: true, begin: 0, end: maxEpochs, milestones, gamma: 0.1 },
    ],
  };
}

/** 1x: 12 epochs, steps at 8 and 11. */
export const schedule1x = (lr = 0.02): Schedule => epochSchedule(12, [8, 11], lr);
/** 2x: 24 epochs, steps at 16 and 22. */
export const schedule2x = (lr = 0.02): Schedule => epochSchedule(24, [16, 22], lr);

/** MMDetection's default_runtime auto_scale_lr (disabled unless `--auto-scale-lr`). */
export const autoScaleLr16 = { enable: false, baseBatchSize: 16 };

export const defaultRuntime: Pick<RunConfig, 'seed' | 'workDir' | 'loadFrom' | 'hooks'> = {
  seed: 0,
  workDir: null,
  loadFrom: null,
  hooks: {
    logger: { interval: 50 },
    checkpoint: { interval: 1, byEpoch: true, maxKeep: 3, saveLast: true, saveBest: null, rule: null },
  },
};
