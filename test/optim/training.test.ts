/** Modules, optimizer and schedulers together: a tiny conv net trains, in-place ReLU keeps gradients right. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { Module, ConvModule, Linear, Sequential, AdaptiveAvgPool2d } from '../../src/nn';
import { SGD, ParamSchedulerList, buildParamGroups, clipGradNorm_, multiStepSchedule } from '../../src/optim';

class TinyNet extends Module {
  readonly features: Sequential;
  readonly fc: Linear;
  constructor(inplace: boolean) {
    super();
    this.features = this.registerModule('features', new Sequential(
      new ConvModule(3, 8, 3, { padding: 1, normCfg: { type: 'BN' }, inplace }),
      new ConvModule(8, 8, 3, { padding: 1, stride: 2, normCfg: { type: 'GN', numGroups: 2 }, inplace }),
      new AdaptiveAvgPool2d(1),
    ));
    this.fc = this.registerModule('fc', new Linear(8, 4));
  }
  loss(x: Tensor, y: Tensor): Tensor {
    return torch.tidy(() => torch.F.crossEntropy(this.fc.forward(this.features.forward(x).flatten(1)), y));
  }
}

test('in-place ReLU in ConvModule gives the same gradients as out-of-place', () => {
  torch.manualSeed(0);
  const a = new TinyNet(true);
  const b = new TinyNet(false);
  b.loadStateDict(a.stateDict());
  const x = torch.randn([2, 3, 8, 8]);
  const y = torch.tensor([1, 3], { dtype: 'int64' });
  for (const net of [a, b]) {
    const l = net.loss(x, y);
    l.backward();
    l.dispose();
  }
  const gradsB = new Map([...b.namedParameters()]);
  for (const [name, p] of a.namedParameters()) {
    const d = torch.tidy(() => p.grad!.sub(gradsB.get(name)!.grad!).abs().max().item());
    assert.equal(d, 0, `${name}: gradients differ by ${d}`);
  }
  a.dispose();
  b.dispose();
});

test('a tiny net trains with SGD, param groups, clipping and a warmup + step schedule', () => {
  torch.manualSeed(1);
  const net = new TinyNet(true);
  const x = torch.randn([8, 3, 8, 8]);
  const y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3], { dtype: 'int64' });
  const opt = new SGD(buildParamGroups(net, { lr: 0.1, weightDecay: 1e-4, normDecayMult: 0 }), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  const schedulers = ParamSchedulerList.build(opt, multiStepSchedule({ maxEpochs: 3, milestones: [2] }, { warmupIters: 5 }), { epochLength: 10 });
  const losses: number[] = [];
  for (let epoch = 0; epoch < 3; epoch++) {
    for (let it = 0; it < 10; it++) {
      opt.zeroGrad();
      const loss = net.loss(x, y);
      loss.backward();
      losses.push(loss.item());
      loss.dispose();
      clipGradNorm_(net.parameters(), 10);
      opt.step();
      schedulers.afterTrainIter();
    }
    schedulers.afterTrainEpoch();
  }
  assert.ok(losses[29] < losses[0] * 0.7, `loss should fall: ${losses[0]} -> ${losses[29]}`);
  assert.ok(Math.abs(opt.paramGroups[0].lr - 0.01) < 1e-12, `lr after the step: ${opt.paramGroups[0].lr}`);
  const bnTracked = net.stateDict().get('features.0.bn.num_batches_tracked')!.item();
  assert.equal(bnTracked, 30);
  opt.dispose();
  net.dispose();
});
