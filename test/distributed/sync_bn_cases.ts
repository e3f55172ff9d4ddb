/**
 * The SyncBatchNorm cases run both by the rank processes (sync_bn_worker.ts, SyncBatchNorm over a
 * process group, each rank a slice of the batch) and by the test process (its single-process
 * reference: BatchNorm2d over the whole batch). Data come from fixed seeds, so both sides see the
 * same tensors.
 */
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { BatchNorm2d, Conv2d } from '../../src/nn';
import { allreduceGradients, type ProcessGroup } from '../../src/distributed';

/** Rows [start, start + length) of the combined batch of 4 that one rank holds. */
export type Rows = [start: number, length: number];

/** The rows of each rank for a split of the batch of 4 (e.g. [3, 1]). */
export function rowsOf(split: number[], rank: number): Rows {
  const start = split.slice(0, rank).reduce((a, b) => a + b, 0);
  return [start, split[rank]];
}

/** What one run of the layer case saw; per step: outputs, input gradients, weight and bias gradients. */
export interface LayerRun {
  outputs: number[][];
  inputGrads: number[][];
  weightGrads: number[][];
  biasGrads: number[][];
  runningMean: number[];
  runningVar: number[];
  numBatchesTracked: number;
}

/** The layer case's affine parameters (3 channels), set on `bn`. */
export const WEIGHT = [0.5, 1.5, -1];
export const BIAS = [0.1, -0.2, 0.3];

/**
 * The two batches [4, 3, 5, 5] of the layer case (channel means far from 0, so the variance is not
 * E[x²]) and the upstream gradients: the loss of a step is Σ y · g.
 */
export function layerData(): { xs: Tensor[]; gs: Tensor[] } {
  torch.manualSeed(7);
  const xs = [torch.randn([4, 3, 5, 5]).mul(2).add(3), torch.randn([4, 3, 5, 5]).mul(0.5).sub(1)];
  const gs = [torch.randn([4, 3, 5, 5]), torch.randn([4, 3, 5, 5])];
  return { xs, gs };
}

/** Two training steps of `bn` on `rows` of the layer case's batches; the loss of each is Σ y · g over the rows. */
export function runLayer(bn: BatchNorm2d, rows: Rows): LayerRun {
  const { xs, gs } = layerData();
  torch.noGrad(() => {
    bn.weight!.copy_(torch.tensor(WEIGHT));
    bn.bias!.copy_(torch.tensor(BIAS));
  });
  const run: LayerRun = { outputs: [], inputGrads: [], weightGrads: [], biasGrads: [], runningMean: [], runningVar: [], numBatchesTracked: 0 };
  for (let step = 0; step < 2; step++) {
    bn.weight!.grad = null;
    bn.bias!.grad = null;
    torch.tidy(() => {
      const x = xs[step].narrow(0, rows[0], rows[1]).clone().requiresGrad_();
      const y = bn.forward(x);
      y.mul(gs[step].narrow(0, rows[0], rows[1])).sum().backward();
      run.outputs.push(y.toArray());
      run.inputGrads.push(x.grad!.toArray());
      run.weightGrads.push(bn.weight!.grad!.toArray());
      run.biasGrads.push(bn.bias!.grad!.toArray());
    });
  }
  run.runningMean = bn.runningMean!.toArray();
  run.runningVar = bn.runningVar!.toArray();
  run.numBatchesTracked = bn.numBatchesTracked!.item();
  return run;
}

/** conv(3→4, 3×3) → norm(4) → relu → conv(4→2, 1×1); initialized from `seed`. */
export function buildNet(norm: (channels: number) => BatchNorm2d, seed: number): { layers: [Conv2d, BatchNorm2d, Conv2d]; forward: (x: Tensor) => Tensor } {
  torch.manualSeed(seed);
  const conv1 = new Conv2d(3, 4, 3, { padding: 1 });
  const bn = norm(4);
  const conv2 = new Conv2d(4, 2, 1);
  return { layers: [conv1, bn, conv2], forward: (x) => torch.tidy(() => conv2.forward(bn.forward(conv1.forward(x)).relu())) };
}

/**
 * 3 SGD steps (lr 0.1) of `net` on `rows` of a fixed batch of 4, the loss the mean squared error
 * over the rows; with a group, gradients are averaged across its ranks (allreduceGradients) after
 * each backward. Returns every parameter, then every buffer, flattened.
 */
export function trainNet(net: ReturnType<typeof buildNet>, rows: Rows, pg: ProcessGroup | null): number[][] {
  torch.manualSeed(11);
  const x = torch.randn([4, 3, 6, 6]);
  const target = torch.randn([4, 2, 6, 6]);
  const params = net.layers.flatMap((m) => [...m.parameters()]);
  for (let step = 0; step < 3; step++) {
    for (const p of params) p.grad = null;
    torch.tidy(() => {
      const out = net.forward(x.narrow(0, rows[0], rows[1]));
      out.sub(target.narrow(0, rows[0], rows[1])).pow(2).mean().backward();
    });
    if (pg) allreduceGradients(params, pg);
    torch.tidy(() => torch.noGrad(() => { for (const p of params) if (p.grad) p.sub_(p.grad.mul(0.1)); }));
  }
  const buffers = net.layers.flatMap((m) => [...m.buffers()]);
  return [...params, ...buffers].map((t) => t.toArray());
}
