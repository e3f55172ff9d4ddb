/**
 * The toy task (src/engine/toy.ts): a two-layer MLP regressing a noisy linear function,
 * 6 epochs of 8 iterations. Used by the runner's tests and as the smallest complete config:
 *   ./bin/tsvision train toy/mlp_regression --work-dir /tmp/toy
 */
import { defineConfig } from '../../src/config';
import { toyTask, type ToyConfig } from '../../src/engine/toy';

export const config: ToyConfig = {
  seed: 0,
  workDir: null,
  loadFrom: null,
  model: { inFeatures: 8, hidden: 32, dropout: 0.1 },
  data: { trainSize: 256, valSize: 64, batchSize: 32, noise: 0.05 },
  evaluation: { metrics: ['mse', 'mae'] },
  train: { byEpoch: true, maxEpochs: 6, valInterval: 2 },
  optimWrapper: {
    optimizer: { type: 'SGD', lr: 0.05, momentum: 0.9, weightDecay: 1e-4 },
    clipGrad: { maxNorm: 10 },
    paramwise: null,
  },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.1, byEpoch: false, begin: 0, end: 8 },
    { type: 'MultiStepLR', byEpoch: true, begin: 0, end: 6, milestones: [4], gamma: 0.1 },
  ],
  hooks: {
    logger: { interval: 4 },
    checkpoint: { interval: 1, byEpoch: true, maxKeep: 3, saveLast: true, saveBest: null, rule: null },
  },
};

export default defineConfig(toyTask, config);
