/**
 * CUDA: the engine's ops on device 'cuda' agree with the CPU (creation, shape and
 * indexing, elementwise and reductions, nn functions and losses, autograd, `.to()`
 * round trips), the CUDA kernels of nms/batchedNms (identical keep indices),
 * roiAlign (forward and backward within 1e-5) and roiPool agree with the CPU kernels
 * on the same random inputs, and the memory statistics track allocations.
 * Skipped, with the reason, where no CUDA device is present. On a GPU machine:
 * scripts/gpu-check.sh builds the CUDA addon and runs these.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { assertCloseArrays, normal, uniform, toTensor, prng } from './_util';

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

describe('CUDA: more of the API on the device', () => {
  it('memory statistics: tidy frees, reserved covers allocated, peaks track the largest live set', { skip }, () => {
    torch.cuda.synchronize();
    const before = torch.cuda.memoryStats();
    torch.cuda.resetPeakMemoryStats();
    const MiB = 2 ** 20;
    torch.tidy(() => {
      const a = torch.ones([2 * MiB], { device: 'cuda' }); // 8 MiB
      const b = a.mul(2); // 8 MiB more
      const s = torch.cuda.memoryStats();
      assert.ok(s.allocated - before.allocated >= 16 * MiB, `allocated grew by ${s.allocated - before.allocated}`);
      assert.ok(s.reserved >= s.allocated && s.maxReserved >= s.reserved);
      b.dispose();
      assert.ok(torch.cuda.memoryAllocated() - before.allocated < 16 * MiB, 'dispose frees at once');
    });
    const after = torch.cuda.memoryStats();
    assert.equal(after.allocated, before.allocated, 'tidy freed every intermediate');
    assert.ok(after.maxAllocated >= before.allocated + 16 * MiB, `peak ${after.maxAllocated}`);
    assert.ok(after.reserved >= 16 * MiB, 'the caching allocator keeps the freed blocks reserved');
    const kept = torch.empty([MiB], { device: 'cuda' }); // 4 MiB, alive across the reset
    torch.cuda.resetPeakMemoryStats();
    assert.equal(torch.cuda.maxMemoryAllocated(), torch.cuda.memoryAllocated(), 'reset peak = current');
    kept.dispose();
    assert.equal(torch.cuda.memoryAllocated(), before.allocated);
  });

  it('creation: zeros/ones/full/arange/linspace/eye/randn/randint on the device, every dtype', { skip }, () => {
    torch.tidy(() => {
      for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'bool'] as const) {
        const z = torch.zeros([2, 3], { dtype, device: 'cuda' });
        assert.equal(z.device, 'cuda:0');
        assert.equal(z.dtype, dtype);
        assert.deepEqual(z.cpu().toArray(), [0, 0, 0, 0, 0, 0]);
        assert.deepEqual(torch.ones([3], { dtype, device: 'cuda' }).cpu().toArray(), [1, 1, 1]);
      }
      assert.deepEqual(torch.full([2], 2.5, { device: 'cuda' }).cpu().toArray(), [2.5, 2.5]);
      assert.deepEqual(torch.arange(1, 7, 2, { device: 'cuda' }).cpu().toArray(), [1, 3, 5]);
      assertCloseArrays(torch.linspace(0, 1, 5, { device: 'cuda' }).cpu().toArray(), [0, 0.25, 0.5, 0.75, 1]);
      assert.deepEqual(torch.eye(2, 3, { device: 'cuda' }).cpu().toArray(), [1, 0, 0, 0, 1, 0]);
      const n = torch.randn([1000], { device: 'cuda' });
      assert.equal(n.device, 'cuda:0');
      assert.ok(Math.abs(n.mean().item()) < 0.2 && Math.abs(n.std().item() - 1) < 0.2);
      const k = torch.randint(3, 7, [500], { device: 'cuda' }).cpu().toArray();
      assert.ok(k.every((v) => v >= 3 && v < 7) && new Set(k).size === 4);
      const g = torch.zeros([2], { device: 'cuda', requiresGrad: true });
      assert.equal(g.requiresGrad, true);
    });
  });

  it('.to() round trips: every dtype cpu -> cuda -> cpu, dtype changes on the device', { skip }, () => {
    torch.tidy(() => {
      const values = [0, 1, 2, 3, 100, 7];
      for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8'] as const) {
        const c = torch.tensor(values, { dtype });
        const g = c.to('cuda');
        assert.equal(g.device, 'cuda:0');
        assert.equal(g.dtype, dtype);
        const back = g.to('cpu');
        assert.equal(back.device, 'cpu');
        assert.equal(back.dtype, dtype);
        assert.deepEqual(back.toArray(), values, dtype);
      }
      const b = torch.tensor([0, 1, 1, 0], { dtype: 'uint8' }).to('bool');
      assert.deepEqual(b.cuda().cpu().toArray(), [0, 1, 1, 0]);
      const x = torch.tensor([1.25, -2.5, 3.75]);
      const h = x.to({ device: 'cuda', dtype: 'float16' });
      assert.equal(h.device, 'cuda:0');
      assert.equal(h.dtype, 'float16');
      assert.deepEqual(h.to({ dtype: 'float64' }).cpu().toArray(), [1.25, -2.5, 3.75]);
      assert.deepEqual(h.to({ device: 'cpu', dtype: 'float32' }).toArray(), [1.25, -2.5, 3.75]);
      const g = x.cuda();
      assert.equal(g.to('cuda:0').device, 'cuda:0');
      const copied = g.to({ device: 'cuda', copy: true });
      copied.add_(1);
      assert.deepEqual(g.cpu().toArray(), [1.25, -2.5, 3.75], 'copy: true copies');
      assert.deepEqual(torch.tensor([1.5, 2.5], { device: 'cuda' }).typeAs(torch.ones([1], { dtype: 'int64' })).dtype, 'int64');
    });
  });

  it('shape and indexing ops agree with the CPU', { skip }, () => {
    const x = toTensor(normal(11, [3, 4, 5]));
    const idx = torch.tensor([2, 0, 1, 2], { dtype: 'int64' });
    sameOnCuda(([a, i]) => {
      const m = a.gt(0);
      const gi = a.argmax({ dim: 2, keepdim: true });
      return [
        a.view(12, 5), a.permute(2, 0, 1).contiguous(), a.transpose(0, 2), a.flip([1]), a.narrow(1, 1, 2), a.unsqueeze(0).squeeze(0),
        a.expand(2, 3, 4, 5), a.repeat(1, 2, 1), torch.cat([a, a], 1), torch.stack([a, a], 0), ...a.split(2, 1), ...a.chunk(3, 2),
        a.indexSelect(0, i.narrow(0, 0, 3)), a.gather(2, gi), a.scatter(2, gi, 0), a.scatterAdd(2, gi, a.narrow(2, 0, 1)),
        a.maskedFill(m, -1), a.maskedSelect(m), a.nonzero(), a.index([i.narrow(0, 0, 2)]), a.indexPut([m], torch.scalarTensor(5).to({ device: a.device })),
        a.sort({ dim: 2, descending: true }).indices, a.topk(2, { dim: 1 }).values, a.round().unique().values, a.cumsum(2), a.min({ dim: 1 }).indices,
      ];
    }, [x, idx]);
    torch.dispose([x, idx]);
  });

  it('more nn functions, losses and autograd (gradient argument, retainGraph) agree with the CPU', { skip }, () => {
    const x = toTensor(normal(12, [2, 4, 6, 6]));
    const w = toTensor(normal(13, [4, 2, 3, 3]));
    const t = toTensor(uniform(14, [2, 8]));
    const lw = toTensor(normal(15, [8, 8]));
    sameOnCuda(([a, k, tgt, lwt]) => {
      const ar = a.detach().requiresGrad_();
      const kr = k.detach().requiresGrad_();
      let h = F.convTranspose2d(ar, kr, null, { stride: 2, padding: 1 });
      h = F.groupNorm(h, 2);
      h = F.layerNorm(h, [h.size(3)]);
      h = F.avgPool2d(F.pad(h, [1, 1, 1, 1], { mode: 'reflect' }), 2);
      const grid = torch.linspace(-1, 1, 4, { device: a.device }).view(1, 2, 2, 1).expand(2, 2, 2, 2).contiguous();
      const g = F.gridSample(h, grid, { alignCorners: false });
      const feats = F.adaptiveAvgPool2d(h, 2).flatten(1); // [2, 8]
      const logits = F.linear(feats, lwt, null).add(torch.einsum('bi,oi->bo', [feats, lwt]));
      const losses = [
        F.binaryCrossEntropyWithLogits(logits, tgt, { weight: tgt.add(0.5) }),
        F.sigmoidFocalLoss(logits, tgt.gt(0.5).to({ dtype: 'float32' }), { reduction: 'mean' }),
        F.smoothL1Loss(logits, tgt, { beta: 0.5 }), F.l1Loss(logits, tgt), F.mseLoss(logits, tgt),
      ];
      const total = losses.reduce((s, l) => s.add(l));
      total.backward(null, { retainGraph: true });
      const g1 = ar.grad!.clone();
      total.backward(torch.full([], 2, { device: a.device })); // accumulates 2x on top
      return [g.softmax(1), ...losses, g1, ar.grad!, kr.grad!];
    }, [x, w, t, lw], { rtol: 1e-4, atol: 1e-4 });
    torch.dispose([x, w, t, lw]);
  });

  it('noGrad and detach on the device', { skip }, () => {
    torch.tidy(() => {
      const a = torch.ones([3], { device: 'cuda', requiresGrad: true });
      const b = torch.noGrad(() => a.mul(2));
      assert.equal(b.requiresGrad, false);
      assert.equal(a.mul(2).detach().requiresGrad, false);
      a.mul(a).sum().backward();
      assert.equal(a.grad!.device, 'cuda:0');
      assert.deepEqual(a.grad!.cpu().toArray(), [2, 2, 2]);
    });
  });
});

// ---------------------------------------------------------------- detection kernels

/** Boxes [n, 4] in clusters (many overlaps, so suppression matters), some degenerate. */
function clusteredBoxes(seed: number, n: number): number[] {
  const r = prng(seed);
  const centres = Array.from({ length: Math.max(1, n >> 4) }, () => [r() * 200, r() * 200]);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const [cx, cy] = centres[Math.floor(r() * centres.length)];
    const x = cx + (r() - 0.5) * 20, y = cy + (r() - 0.5) * 20;
    const w = i % 11 === 5 ? 0 : 4 + r() * 30, h = 4 + r() * 30;
    out.push(x, y, x + w, y + h);
  }
  return out;
}

/** RoIs [k, 5] for an input of `n` images of h×w at `scale`: some partly outside, some tiny. */
function rois(seed: number, k: number, n: number, h: number, w: number, scale: number): number[] {
  const r = prng(seed);
  const W = w / scale, H = h / scale;
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const x1 = -0.2 * W + r() * 1.2 * W, y1 = -0.2 * H + r() * 1.2 * H;
    const tiny = i % 7 === 3;
    out.push(i % n, x1, y1, x1 + (tiny ? r() * 0.5 : r() * 0.8 * W), y1 + (tiny ? r() * 0.5 : r() * 0.8 * H));
  }
  return out;
}

describe('CUDA detection kernels agree with the CPU kernels', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`nms and batchedNms (${dtype}): identical keep indices, across tile sizes`, { skip }, () => {
      const cases: [number, number, number][] = [[1, 0.5, 0], [63, 0.5, 0], [64, 0.5, 0], [65, 0.3, 0], [300, 0.5, 8], [1000, 0.7, 0], [3000, 0.5, 20]];
      for (const [n, thr, levels] of cases) {
        torch.tidy(() => {
          const r = prng(n);
          const boxes = torch.tensor(clusteredBoxes(n + 1, n), { dtype }).reshape(n, 4);
          // levels > 0 quantizes the scores: ties, whose order must match too
          const scores = torch.tensor(Array.from({ length: n }, () => (levels ? Math.floor(r() * levels) / levels : r())), { dtype });
          const idxs = torch.tensor(Array.from({ length: n }, () => Math.floor(r() * 4)), { dtype: 'int64' });
          const what = `n=${n} thr=${thr}`;
          const keep = torch.ops.nms(boxes.cuda(), scores.cuda(), thr);
          assert.equal(keep.device, 'cuda:0', what);
          assert.equal(keep.dtype, 'int64', what);
          const expected = torch.ops.nms(boxes, scores, thr).toArray();
          assert.ok(n < 64 || expected.length < n, `${what}: the case suppresses something`);
          assert.deepEqual(keep.cpu().toArray(), expected, what);
          const bkeep = torch.ops.batchedNms(boxes.cuda(), scores.cuda(), idxs.cuda(), thr);
          assert.deepEqual(bkeep.cpu().toArray(), torch.ops.batchedNms(boxes, scores, idxs, thr).toArray(), `batched ${what}`);
        });
      }
      torch.tidy(() => {
        const none = torch.ops.nms(torch.zeros([0, 4], { dtype, device: 'cuda' }), torch.zeros([0], { dtype, device: 'cuda' }), 0.5);
        assert.deepEqual(none.shape, [0]);
        assert.equal(none.device, 'cuda:0');
        // scores on the CPU are moved to the boxes' device
        const b = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], { dtype });
        assert.deepEqual(torch.ops.nms(b.cuda(), torch.tensor([0.5, 0.9, 0.1], { dtype }), 0.5).cpu().toArray(), [1, 2]);
      });
    });

    for (const aligned of [false, true]) {
      it(`roiAlign (${dtype}, aligned=${aligned}) forward and backward within 1e-5`, { skip }, () => {
        const [n, c, h, w] = [2, 3, 13, 17];
        for (const scale of [1, 0.5, 0.25]) {
          for (const ratio of [0, 2, -1]) {
            torch.tidy(() => {
              const what = `scale=${scale} sampling=${ratio}`;
              const x = toTensor(normal(Math.round(100 * scale) + ratio, [n, c, h, w], dtype));
              const r = torch.tensor(rois(7 + ratio, 40, n, h, w, scale), { dtype }).reshape(40, 5);
              const out: [number, number] = scale === 0.5 ? [2, 3] : [7, 7];
              const opts = { outputSize: out, spatialScale: scale, samplingRatio: ratio, aligned };
              const weight = toTensor(normal(9, [40, c, out[0], out[1]], dtype));
              const run = (xs: Tensor, rs: Tensor, ws: Tensor) => {
                const leaf = xs.detach().requiresGrad_();
                const y = torch.ops.roiAlign(leaf, rs, opts);
                y.mul(ws).sum().backward();
                return [y, leaf.grad!];
              };
              const [yc, gc] = run(x, r, weight);
              const [yg, gg] = run(x.cuda(), r.cuda(), weight.cuda());
              assert.equal(yg.device, 'cuda:0');
              assert.equal(gg.device, 'cuda:0');
              assert.equal(yg.dtype, dtype);
              assertCloseArrays(yg.cpu().toArray(), yc.toArray(), { rtol: 0, atol: 1e-5 }, `forward ${what}`);
              assertCloseArrays(gg.cpu().toArray(), gc.toArray(), { rtol: 0, atol: 1e-5 }, `backward ${what}`);
            });
          }
        }
      });
    }

    it(`roiPool (${dtype}) forward (exact) and backward`, { skip }, () => {
      const [n, c, h, w] = [2, 3, 13, 17];
      for (const scale of [1, 0.5, 0.25]) {
        torch.tidy(() => {
          const x = toTensor(normal(Math.round(50 * scale), [n, c, h, w], dtype));
          const r = torch.tensor(rois(21, 40, n, h, w, scale), { dtype }).reshape(40, 5);
          const weight = toTensor(normal(22, [40, c, 3, 2], dtype));
          const run = (xs: Tensor, rs: Tensor, ws: Tensor) => {
            const leaf = xs.detach().requiresGrad_();
            const y = torch.ops.roiPool(leaf, rs, { outputSize: [3, 2], spatialScale: scale });
            y.mul(ws).sum().backward();
            return [y, leaf.grad!];
          };
          const [yc, gc] = run(x, r, weight);
          const [yg, gg] = run(x.cuda(), r.cuda(), weight.cuda());
          assert.equal(yg.device, 'cuda:0');
          assert.deepEqual(yg.cpu().toArray(), yc.toArray(), `forward scale=${scale}`);
          assertCloseArrays(gg.cpu().toArray(), gc.toArray(), { rtol: 0, atol: 1e-5 }, `backward scale=${scale}`);
        });
      }
    });
  }

  it('roiAlign/roiPool: RoIs given on the CPU, per-image box lists, float16, empty RoIs', { skip }, () => {
    torch.tidy(() => {
      const x = toTensor(normal(31, [2, 3, 10, 12]));
      const r = torch.tensor(rois(32, 12, 2, 10, 12, 0.5)).reshape(12, 5);
      const opts = { outputSize: 3, spatialScale: 0.5, samplingRatio: 2, aligned: true };
      const ref = torch.ops.roiAlign(x, r, opts).toArray();
      const xg = x.cuda();
      assertCloseArrays(torch.ops.roiAlign(xg, r, opts).cpu().toArray(), ref, { rtol: 0, atol: 1e-5 }, 'rois on the CPU');
      const lists = [0, 1].map((i) => r.index([r.select(1, 0).eq(i)]).narrow(1, 1, 4).cuda());
      const fromLists = torch.ops.roiAlign(xg, lists, opts);
      const order = torch.cat([0, 1].map((i) => r.select(1, 0).eq(i).nonzero().flatten()));
      assertCloseArrays(fromLists.cpu().toArray(), torch.ops.roiAlign(x, r.indexSelect(0, order), opts).toArray(), { rtol: 0, atol: 1e-5 }, 'box lists');
      const half = torch.ops.roiAlign(xg.half(), r.cuda().half(), opts);
      assert.equal(half.dtype, 'float16');
      assertCloseArrays(half.float().cpu().toArray(), torch.ops.roiAlign(x.half().float(), r.half().float(), opts).toArray(), { rtol: 1e-2, atol: 1e-2 }, 'float16');
      const pooledHalf = torch.ops.roiPool(xg.half(), r.cuda().half(), { outputSize: 2, spatialScale: 0.5 });
      assertCloseArrays(pooledHalf.float().cpu().toArray(), torch.ops.roiPool(x.half().float(), r.half().float(), { outputSize: 2, spatialScale: 0.5 }).toArray(), { rtol: 1e-3, atol: 1e-3 }, 'float16 roiPool');
      const empty = torch.zeros([0, 5], { device: 'cuda' });
      assert.deepEqual(torch.ops.roiAlign(xg, empty, opts).shape, [0, 3, 3, 3]);
      assert.deepEqual(torch.ops.roiPool(xg, empty, { outputSize: 2 }).shape, [0, 3, 2, 2]);
      assert.throws(() => torch.ops.roiAlign(xg, torch.tensor([[5, 0, 0, 4, 4]], { device: 'cuda' }), opts), /batch index/);
    });
  });
});

describe('CUDA absent', { skip: skip ? false : 'a CUDA device is present' }, () => {
  it('asking for a CUDA tensor throws a clear Error instead of crashing', () => {
    // a CPU-only build: libtorch names CUDA; a CUDA build without a GPU: "no NVIDIA driver"
    assert.throws(() => torch.zeros([2], { device: 'cuda' }), /CUDA|cuda|NVIDIA/);
    assert.throws(() => torch.tidy(() => torch.ones([2]).cuda()), /CUDA|cuda|NVIDIA/);
    assert.throws(() => torch.cuda.memoryStats(), torch.buildInfo().cuda ? /no CUDA device/ : /no CUDA support/);
    assert.throws(() => torch.cuda.resetPeakMemoryStats(), torch.buildInfo().cuda ? /no CUDA device/ : /no CUDA support/);
    assert.equal(torch.cuda.deviceCount(), 0);
  });
});
