/**
 * The toy config trained by iterations (60, checkpoint every 10) with AdamW: a variant
 * that imports its base and overrides what differs.
 */
import { defineConfig, mergeConfig, replace } from '../../src/config';
import { toyTask } from '../../src/engine/toy';
import { config as base } from './mlp_regression';

export const config = mergeConfig(base, {
  train: replace({ byEpoch: false as const, maxIters: 60, valInterval: 20 }),
  optimWrapper: { optimizer: replace({ type: 'AdamW' as const, lr: 0.01, weightDecay: 0.01 }) },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.1, byEpoch: false, begin: 0, end: 10 },
    { type: 'CosineAnnealingLR', byEpoch: false, begin: 10, end: 60, etaMin: 1e-4 },
  ],
  hooks: { logger: { interval: 5 }, checkpoint: { interval: 10, byEpoch: false } },
});

export default defineConfig(toyTask, config);
