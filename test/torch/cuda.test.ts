/**
 * CUDA: the engine's ops on device 'cuda' agree with the CPU, the detection kernels
 * (nms, roiAlign, roiPool) run there, and the memory statistics track allocations.
 * Skipped, with the reason, where no CUDA device is present.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { assertCloseArrays, normal, toTensor, prng } from './_util';

const F = torch.F;
const skip = torch.cuda.isAvailable()
  ? false
  : `no CUDA device: ${torch.buildInfo().cuda ? 'this build has CUDA support but no GPU is visible' : 'this build of the addon is CPU-only (build against a CUDA libtorch with LIBTORCH_DIR)'}`;

/** f on CPU and on CUDA (inputs copied), compared elementwise. */
function sameOnCuda(f: (xs: Tensor[]) => Tensor | Tensor[], inputs: Tensor[], tol = { rtol: 1e-4, atol: 1e-5 }): void {
  torch.tidy(() => {
    const cpu = [f(inputs)].flat();
    const gpu = [f(inputs.map((t) => t.cuda()))].flat();
    cpu.forEach((c, i) => {
      assert.ok(gpu[i].device.startsWith('cuda'), `output ${i} is on ${gpu[i].device}`);
      assert.deepEqual(gpu[i].shape, c.shape);
      assert.equal(gpu[i].dtype, c.dtype);
      if (c.isFloatingPoint()) assertCloseArrays(gpu[i].cpu().toArray(), c.toArray(), tol, `output ${i}`);
      else assert.deepEqual(gpu[i].cpu().toArray(), c.toArray());
    });
  });
}

describe('CUDA', () => {
  it('creation on the device and transfers', { skip }, () => {
    torch.tidy(() => {
      const z = torch.zeros([2, 3], { device: 'cuda' });
      assert.equal(z.device, 'cuda:0');
      assert.equal(z.isCuda, true);
      assert.deepEqual(torch.arange(5, { device: 'cuda' }).cpu().toArray(), [0, 1, 2, 3, 4]);
      const t = torch.tensor([1.5, 2.5], { device: 'cuda' });
      assert.deepEqual(t.toArray(), [1.5, 2.5]);
      assert.equal(t.to({ dtype: 'float16' }).device, 'cuda:0');
      assert.equal(t.cpu().device, 'cpu');
      torch.manualSeed(3);
      const a = torch.rand([4], { device: 'cuda' }).toArray();
      torch.manualSeed(3);
      assert.deepEqual(torch.rand([4], { device: 'cuda' }).toArray(), a);
    });
  });

  it('elementwise, reductions, indexing agree with the CPU', { skip }, () => {
    const x = toTensor(normal(1, [4, 5]));
    const y = toTensor(normal(2, [4, 5]));
    sameOnCuda(([a, b]) => [a.add(b), a.mul(b).exp(), a.sum({ dim: 1 }), a.std(), a.argmax({ dim: 0 }), a.gt(b), a.sort({ dim: 1 }).values,
      a.index([a.gt(0)]), a.cumsum(1), a.clamp({ min: -0.5, max: 0.5 }), torch.where(a.gt(b), a, b), a.topk(2).indices], [x, y]);
    torch.dispose([x, y]);
  });

  it('nn functions and losses agree with the CPU (forward and backward)', { skip }, () => {
    const x = toTensor(normal(3, [2, 3, 8, 8]));
    const w = toTensor(normal(4, [4, 3, 3, 3]));
    const target = torch.tensor([1, 3], { dtype: 'int64' });
    sameOnCuda(([a, k, t]) => {
      const ar = a.detach().requiresGrad_();
      const kr = k.detach().requiresGrad_();
      let h = F.conv2d(ar, kr, null, { padding: 1, stride: 2 });
      h = F.batchNorm(h, null, null, { training: true });
      h = F.interpolate(F.relu(h), { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
      const pooled = F.adaptiveAvgPool2d(F.maxPool2d(h, 2), 1).flatten(1);
      const loss = F.crossEntropy(pooled, t, { labelSmoothing: 0.1 });
      loss.backward();
      return [loss, ar.grad!, kr.grad!];
    }, [x, w, target]);
    torch.dispose([x, w, target]);
  });

  it('nms, batchedNms, roiAlign and roiPool on the device agree with the CPU', { skip }, () => {
    const r = prng(5);
    const boxes = torch.tensor(Array.from({ length: 200 }, (_, i) => {
      const base = (i >> 2) * 2;
      return i % 4 < 2 ? base + r() * 50 : base + 60 + r() * 40;
    })).reshape(-1, 4);
    const scores = torch.tensor(Array.from({ length: 50 }, () => r()));
    const idxs = torch.tensor(Array.from({ length: 50 }, (_, i) => i % 3), { dtype: 'int64' });
    sameOnCuda(([b, s, c]) => [torch.ops.nms(b, s, 0.5), torch.ops.batchedNms(b, s, c, 0.4)], [boxes, scores, idxs]);
    const x = toTensor(normal(6, [2, 3, 10, 12]));
    const rois = torch.tensor([[0, 1, 2, 8, 9], [1, -2, 0.5, 5, 7.5], [0, 3.3, 4.4, 30, 20]]);
    sameOnCuda(([f, q]) => {
      const fr = f.detach().requiresGrad_();
      const a = torch.ops.roiAlign(fr, q, { outputSize: 3, spatialScale: 0.5, samplingRatio: 0, aligned: true });
      const p = torch.ops.roiPool(fr, q, { outputSize: 2, spatialScale: 0.5 });
      a.sum().add(p.sum()).backward();
      return [a, p, fr.grad!];
    }, [x, rois]);
    torch.dispose([boxes, scores, idxs, x, rois]);
  });

  it('memory statistics follow allocations and frees', { skip }, () => {
    torch.cuda.synchronize();
    const before = torch.cuda.memoryAllocated();
    torch.cuda.resetPeakMemoryStats();
    const t = torch.empty([1024, 1024], { device: 'cuda' }); // 4 MiB
    const during = torch.cuda.memoryStats();
    assert.ok(during.allocated - before >= 4 * 2 ** 20, `allocated grew by ${during.allocated - before}`);
    assert.ok(during.maxAllocated >= during.allocated);
    assert.ok(during.reserved >= during.allocated);
    t.dispose();
    assert.equal(torch.cuda.memoryAllocated(), before);
    assert.ok(torch.cuda.maxMemoryAllocated() >= before + 4 * 2 ** 20);
    torch.cuda.resetPeakMemoryStats();
    assert.equal(torch.cuda.maxMemoryAllocated(), before);
    assert.ok(torch.cuda.deviceCount() >= 1);
  });
});

describe('CUDA absent', { skip: skip ? false : 'a CUDA device is present' }, () => {
  it('asking for a CUDA tensor throws a clear Error instead of crashing', () => {
    assert.throws(() => torch.zeros([2], { device: 'cuda' }), /CUDA|cuda/);
    assert.throws(() => torch.tidy(() => torch.ones([2]).cuda()), /CUDA|cuda/);
    if (!torch.buildInfo().cuda) assert.throws(() => torch.cuda.memoryStats(), /no CUDA support/);
  });
});
