/**
 * Memory: a 1,000-step training loop of a small conv net (raw tensors + torch.F,
 * SGD with momentum through in-place ops inside tidy) keeps resident memory flat.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';

const F = torch.F;

describe('training loop memory', () => {
  it('1,000 SGD steps: resident memory grows by less than 5% after warm-up', () => {
    torch.manualSeed(0);
    const param = (shape: number[], scale: number) => torch.keep(torch.tidy(() => torch.randn(shape).mul(scale)).requiresGrad_());
    const params: Tensor[] = [
      param([8, 3, 3, 3], 0.2), param([8], 0.01),
      param([16, 8, 3, 3], 0.1), param([16], 0.01),
      param([10, 16], 0.2), param([10], 0.01),
    ];
    const bnWeight = torch.keep(torch.ones([8], { requiresGrad: true }));
    const bnBias = torch.keep(torch.zeros([8], { requiresGrad: true }));
    const runningMean = torch.keep(torch.zeros([8]));
    const runningVar = torch.keep(torch.ones([8]));
    const all = [...params, bnWeight, bnBias];
    const momentum = all.map((p) => torch.keep(torch.zerosLike(p)));
    const x = torch.keep(torch.randn([4, 3, 16, 16]));
    const y = torch.keep(torch.tensor([1, 3, 5, 7], { dtype: 'int64' }));
    const [w1, b1, w2, b2, w3, b3] = params;

    const losses: number[] = [];
    const step = () => torch.tidy(() => {
      let h = F.conv2d(x, w1, b1, { padding: 1 });
      h = F.batchNorm(h, runningMean, runningVar, { weight: bnWeight, bias: bnBias, training: true });
      h = F.maxPool2d(F.relu(h), 2);
      h = F.relu(F.conv2d(h, w2, b2, { padding: 1, stride: 2 }));
      h = F.adaptiveAvgPool2d(h, 1).flatten(1);
      const loss = F.crossEntropy(F.linear(h, w3, b3), y);
      loss.backward();
      torch.noGrad(() => {
        all.forEach((p, i) => {
          const g = p.grad!;
          momentum[i].mul_(0.9).add_(g);
          p.sub_(momentum[i], { alpha: 0.01 });
          p.grad = null;
        });
      });
      losses.push(loss.item());
    });

    for (let i = 0; i < 100; i++) step();
    const rssWarm = process.memoryUsage().rss;
    for (let i = 100; i < 1000; i++) step();
    const rssEnd = process.memoryUsage().rss;
    const growth = (rssEnd - rssWarm) / rssWarm;
    torch.dispose([all, momentum, runningMean, runningVar, x, y]);
    assert.equal(losses.length, 1000);
    assert.ok(losses[999] < losses[0], `loss should go down (${losses[0]} -> ${losses[999]})`);
    assert.ok(growth < 0.05, `resident memory grew ${(growth * 100).toFixed(1)}% (${(rssWarm / 2 ** 20).toFixed(1)} -> ${(rssEnd / 2 ** 20).toFixed(1)} MiB)`);
  });
});
