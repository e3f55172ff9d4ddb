/**
 * Channels-last memory order: Tensor.contiguous('channelsLast') / isContiguous, Module.to({ memoryFormat }),
 * checkpoints written row-major whatever the parameters' order, and the top-down pose estimator run
 * channels-last (its default) against the same weights run row-major.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { Conv2d } from '../../src/nn/conv';
import { BatchNorm2d } from '../../src/nn/norm';
import { Module } from '../../src/nn';
import { deserializeSafetensors, serializeSafetensors } from '../../src/torch/serialization';
import { resolveConfig } from '../../src/config';
import { buildPoseEstimator } from '../../src/models/pose_estimators/build';
import type { PoseConfig } from '../../src/tasks/pose/task';

describe('Tensor.contiguous(memoryFormat)', () => {
  it('channelsLast has NHWC strides [H·W·C, 1, W·C, C] and the same elements', () => {
    torch.tidy(() => {
      const x = torch.arange(2 * 3 * 4 * 5).reshape([2, 3, 4, 5]).float();
      assert.deepEqual(x.stride(), [60, 20, 5, 1]);
      assert.equal(x.isContiguous('channelsLast'), false);
      const y = x.contiguous('channelsLast');
      assert.deepEqual(y.stride(), [60, 1, 15, 3]);
      assert.equal(y.isContiguous('channelsLast'), true);
      assert.equal(y.isContiguous(), false);
      assert.deepEqual(y.shape, [2, 3, 4, 5]);
      // element (n, c, h, w) is unchanged; toTypedArray reads row-major
      assert.deepEqual([...y.toTypedArray()], [...x.toTypedArray()]);
      // the raw NHWC order: channel varies fastest, so the first three stored values are x[0, :, 0, 0] = 0, 20, 40
      const raw = y.asStrided([2 * 3 * 4 * 5], [1], 0);
      assert.deepEqual([...raw.toTypedArray()].slice(0, 4), [0, 20, 40, 1]);
      const back = y.contiguous();
      assert.deepEqual(back.stride(), [60, 20, 5, 1]);
    });
  });

  it('refuses a tensor that is not 4-d, and an unknown format', () => {
    torch.tidy(() => {
      assert.throws(() => torch.zeros([3, 4]).contiguous('channelsLast'), /'channelsLast' needs a 4-d tensor, got shape \[3, 4\]/);
      assert.throws(() => torch.zeros([1, 2, 3, 4]).contiguous('nhwc' as never), /memoryFormat should be 'contiguous' or 'channelsLast', got "nhwc"/);
      assert.equal(torch.zeros([3, 4]).isContiguous('channelsLast'), false);
    });
  });
});

const nums = (t: torch.Tensor): number[] => Array.from(t.toTypedArray() as Float32Array);

class ConvBn extends Module {
  conv = this.registerModule('conv', new Conv2d(3, 4, 3, { padding: 1 }));
  bn = this.registerModule('bn', new BatchNorm2d(4));
  forward(x: torch.Tensor): torch.Tensor {
    return this.bn.forward(this.conv.forward(x)).relu();
  }
}

describe('Module.to({ memoryFormat })', () => {
  it('reorders the 4-d parameters in place (same objects, requiresGrad kept), leaves the rest, and gives the same outputs and gradients', () => {
    torch.manualSeed(0);
    const m = new ConvBn();
    const x = torch.randn([2, 3, 6, 5]);
    try {
      const weight = m.conv.weight;
      const before = torch.tidy(() => {
        const xr = x.clone().requiresGrad_(true);
        const y = m.forward(xr);
        y.pow(2).sum().backward();
        const out = { y: nums(y), gw: nums(weight.grad!), gx: nums(xr.grad!) };
        return out;
      });
      weight.grad = null;
      m.conv.bias!.grad = null;
      m.bn.weight!.grad = null;
      m.bn.bias!.grad = null;
      m.to({ memoryFormat: 'channelsLast' });
      assert.equal(m.conv.weight, weight, 'the parameter object is kept');
      assert.equal(weight.isContiguous('channelsLast'), true);
      assert.equal(weight.requiresGrad, true);
      assert.equal(m.conv.bias!.dim(), 1);
      assert.equal(m.conv.bias!.isContiguous(), true);
      torch.tidy(() => {
        const xr = x.contiguous('channelsLast').requiresGrad_(true);
        const y = m.forward(xr);
        y.pow(2).sum().backward();
        const close = (a: number[], b: number[], what: string) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-5 * (1 + Math.abs(b[i])), `${what}[${i}]: ${v} vs ${b[i]}`));
        close(nums(y), before.y, 'output');
        close(nums(weight.grad!), before.gw, 'weight grad');
        close(nums(xr.grad!), before.gx, 'input grad');
      });
    } finally {
      x.dispose();
      m.dispose();
    }
  });

  it('a channels-last parameter is written row-major: the checkpoint bytes equal the row-major copy\'s', () => {
    torch.tidy(() => {
      torch.manualSeed(1);
      const w = torch.randn([4, 3, 3, 3]);
      const cl = w.contiguous('channelsLast');
      const a = serializeSafetensors(new Map([['w', w]]));
      const b = serializeSafetensors(new Map([['w', cl]]));
      assert.deepEqual(Buffer.from(b), Buffer.from(a));
      const back = deserializeSafetensors(b).tensors.get('w')!;
      assert.deepEqual(nums(back), nums(w));
      back.dispose();
    });
  });
});

describe('TopdownPoseEstimator memoryFormat', () => {
  it("'channelsLast' (the default) and 'contiguous' give the same heatmaps from the same weights; the batched flip test equals two forwards", () => {
    const cfg = resolveConfig('td-hm/td-hm_res50_8xb64-210e_coco-256x192').config as PoseConfig;
    // a small ResNet keeps the test fast; the head is the config's SimpleBaseline head on 512 channels
    const model = { ...cfg.model, backbone: { ...cfg.model.backbone, depth: 18 }, head: { ...cfg.model.head, inChannels: 512, deconvOutChannels: [32, 32, 32] } };
    torch.manualSeed(0);
    const cl = buildPoseEstimator(model as PoseConfig['model']);
    const rm = buildPoseEstimator({ ...model, memoryFormat: 'contiguous' } as PoseConfig['model']);
    try {
      assert.equal(cl.memoryFormat, 'channelsLast');
      // larger weights than the init's (the final layer's std 0.001 gives heatmaps near 0)
      torch.noGrad(() => { for (const p of cl.parameters()) torch.tidy(() => { p.copy_(torch.randn(p.shape).mul(0.1)); }); });
      const sd = cl.stateDict();
      rm.loadStateDict(sd, { strict: true });
      for (const [k, t] of cl.stateDict()) if (t.dim() === 4) assert.equal(t.isContiguous('channelsLast'), true, k);
      cl.eval();
      rm.eval();
      const flipIndices = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15];
      torch.noGrad(() => torch.tidy(() => {
        torch.manualSeed(2);
        const x = torch.randn([2, 3, 64, 48]);
        const a = cl.forwardHeatmaps(x, flipIndices);
        const b = rm.forwardHeatmaps(x, flipIndices);
        // the flip test by hand, two forwards of the row-major model: (h(x) + flipped-back h(flip(x))) / 2
        const one = (t: torch.Tensor) => rm.head.forward(rm.backbone.forward(t));
        const f = one(x.flip([3])).flip([3]).indexSelect(1, torch.tensor(flipIndices, { dtype: 'int64' }));
        const W = f.shape[3];
        const shifted = torch.cat([f.narrow(3, 0, 1), f.narrow(3, 0, W - 1)], 3);
        const c = one(x).add(shifted).mul(0.5);
        assert.ok(a.sub(b).abs().max().item() <= 1e-5, 'channels-last vs row-major');
        assert.ok(b.sub(c).abs().max().item() <= 1e-6, 'batched flip test vs two forwards');
        assert.ok(c.abs().max().item() > 1e-3, 'not a trivial output');
      }));
    } finally {
      cl.dispose();
      rm.dispose();
    }
  });
});
