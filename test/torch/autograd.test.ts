/**
 * Autograd: requiresGrad/backward/grad/detach/noGrad semantics, gradients against
 * python3-torch, and float64 finite-difference checks of the differentiable ops
 * (convolutions, linear, normalization, resampling, losses, roiAlign, roiPool).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';
import { assertCloseArrays, gradcheck, given, normal, uniform, ints, type Data } from './_util';

const F = torch.F;

describe('autograd semantics', () => {
  it('requiresGrad, isLeaf, backward of a scalar, grad accumulation', () => {
    torch.tidy(() => {
      const x = torch.tensor([1, 2, 3], { requiresGrad: true });
      assert.equal(x.requiresGrad, true);
      assert.equal(x.isLeaf, true);
      const y = x.mul(x).sum();
      assert.equal(y.requiresGrad, true);
      assert.equal(y.isLeaf, false);
      assert.equal(x.grad, null);
      y.backward();
      assert.deepEqual(x.grad!.toArray(), [2, 4, 6]);
      x.mul(3).sum().backward(); // accumulates
      assert.deepEqual(x.grad!.toArray(), [5, 7, 9]);
      x.grad = null;
      assert.equal(x.grad, null);
      const c = torch.tensor([1, 2]);
      assert.equal(c.requiresGrad, false);
      c.requiresGrad = true;
      assert.equal(c.requiresGrad, true);
    });
  });

  it('backward with a gradient argument for non-scalar outputs', () => {
    torch.tidy(() => {
      const x = torch.tensor([[1, 2], [3, 4]], { requiresGrad: true });
      const y = x.pow(2);
      y.backward(torch.tensor([[1, 0.5], [-1, 2]]));
      assert.deepEqual(x.grad!.toArray(), [2, 2, -6, 16]);
      assert.throws(() => x.mul(2).backward(), /scalar|grad can be implicitly created only for scalar outputs/);
    });
  });

  it('retainGraph allows a second backward; without it the graph is freed', () => {
    torch.tidy(() => {
      const x = torch.tensor([2], { requiresGrad: true });
      const y = x.exp().mul(x).sum();
      y.backward(null, { retainGraph: true });
      const g1 = x.grad!.item();
      y.backward();
      assert.ok(Math.abs(x.grad!.item() - 2 * g1) < 1e-4);
      const z = x.exp().sum();
      z.backward();
      assert.throws(() => z.backward(), /second time|already been freed/);
    });
  });

  it('detach and noGrad stop recording; enableGrad re-enables', () => {
    torch.tidy(() => {
      const x = torch.tensor([1, 2], { requiresGrad: true });
      const d = x.detach();
      assert.equal(d.requiresGrad, false);
      assert.equal(torch.isGradEnabled(), true);
      const n = torch.noGrad(() => {
        assert.equal(torch.isGradEnabled(), false);
        const inner = torch.enableGrad(() => x.mul(2));
        assert.equal(inner.requiresGrad, true);
        return x.mul(2);
      });
      assert.equal(n.requiresGrad, false);
      assert.equal(torch.isGradEnabled(), true);
      // grad mode is restored even when fn throws
      assert.throws(() => torch.noGrad(() => { throw new Error('x'); }));
      assert.equal(torch.isGradEnabled(), true);
      // in-place update of a leaf under noGrad (an SGD step)
      const w = torch.tensor([1, 1], { requiresGrad: true });
      w.mul(torch.tensor([3, 4])).sum().backward();
      torch.noGrad(() => w.sub_(w.grad!, { alpha: 0.5 }));
      assert.deepEqual(w.toArray(), [-0.5, -1]);
      assert.equal(w.isLeaf, true);
      assert.throws(() => w.add_(1), /leaf Variable that requires grad/);
    });
  });

  it('gradients of a composite function equal python3-torch', { skip: hasReference() ? false : NO_REFERENCE }, () => {
    const xs = normal(91, [3, 4]);
    const ws = normal(92, [4, 2]);
    const gs = normal(93, [3, 2]);
    const ref = python<{ x: number[]; w: number[] }>(String.raw`
x = torch.tensor(inp['x']).reshape(3, 4).requires_grad_()
w = torch.tensor(inp['w']).reshape(4, 2).requires_grad_()
g = torch.tensor(inp['g']).reshape(3, 2)
y = torch.tanh(x @ w).mul(x.sum(1, keepdim=True).sigmoid()) + (x.abs() + 1).log().mean()
y.backward(g, retain_graph=True)
y.backward(g)
out = {'x': x.grad.reshape(-1).tolist(), 'w': w.grad.reshape(-1).tolist()}
`, { x: xs.data, w: ws.data, g: gs.data });
    torch.tidy(() => {
      const x = torch.tensor(xs.data).reshape(3, 4).requiresGrad_();
      const w = torch.tensor(ws.data).reshape(4, 2).requiresGrad_();
      const g = torch.tensor(gs.data).reshape(3, 2);
      const y = x.matmul(w).tanh().mul(x.sum({ dim: 1, keepdim: true }).sigmoid()).add(x.abs().add(1).log().mean());
      y.backward(g, { retainGraph: true });
      y.backward(g);
      assertCloseArrays(x.grad!.toArray(), ref.x, {}, 'x.grad');
      assertCloseArrays(w.grad!.toArray(), ref.w, {}, 'w.grad');
    });
  });
});

const f64 = (d: Data): Data => ({ ...d, dtype: 'float64' });
const N = (seed: number, shape: number[]) => f64(normal(seed, shape));
const U = (seed: number, shape: number[], lo: number, hi: number) => uniform(seed, shape, lo, hi, 'float64');

describe('finite-difference gradient checks (float64, central, eps 1e-6)', () => {
  it('conv2d: input, weight, bias with stride/padding/dilation/groups', () => {
    gradcheck(([x, w, b]) => F.conv2d(x, w, b, { stride: 2, padding: 1 }), [N(101, [2, 2, 5, 5]), N(102, [3, 2, 3, 3]), N(103, [3])], { name: 'conv2d' });
    gradcheck(([x, w]) => F.conv2d(x, w, null, { padding: 2, dilation: 2, groups: 2 }), [N(104, [1, 4, 5, 4]), N(105, [2, 2, 3, 3])], { name: 'conv2d groups dilation' });
  });

  it('convTranspose2d', () => {
    gradcheck(([x, w, b]) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }), [N(106, [1, 2, 3, 3]), N(107, [2, 3, 3, 3]), N(108, [3])], { name: 'convTranspose2d' });
  });

  it('linear, matmul, bmm, einsum', () => {
    gradcheck(([x, w, b]) => F.linear(x, w, b), [N(109, [4, 5]), N(110, [3, 5]), N(111, [3])], { name: 'linear' });
    gradcheck(([a, b]) => a.matmul(b), [N(112, [2, 3, 4]), N(113, [4, 2])], { name: 'matmul' });
    gradcheck(([a, b]) => a.bmm(b), [N(114, [2, 3, 4]), N(115, [2, 4, 2])], { name: 'bmm' });
    gradcheck(([a, b]) => torch.einsum('bij,bkj->bik', [a, b]), [N(116, [2, 3, 4]), N(117, [2, 2, 4])], { name: 'einsum' });
  });

  it('batchNorm (train) and groupNorm, layerNorm', () => {
    gradcheck(([x, w, b]) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true }), [N(118, [3, 2, 3, 3]), U(119, [2], 0.5, 1.5), N(120, [2])], { name: 'batchNorm train' });
    gradcheck(([x, w, b]) => F.batchNorm(x, torch.tensor([0.1, -0.2], { dtype: 'float64' }), torch.tensor([1.5, 0.7], { dtype: 'float64' }), { weight: w, bias: b, training: false }), [N(121, [2, 2, 3, 3]), U(122, [2], 0.5, 1.5), N(123, [2])], { name: 'batchNorm eval' });
    gradcheck(([x, w, b]) => F.groupNorm(x, 2, { weight: w, bias: b }), [N(124, [2, 4, 3, 3]), U(125, [4], 0.5, 1.5), N(126, [4])], { name: 'groupNorm' });
    gradcheck(([x, w, b]) => F.layerNorm(x, [5], { weight: w, bias: b }), [N(127, [3, 5]), U(128, [5], 0.5, 1.5), N(129, [5])], { name: 'layerNorm' });
  });

  it('interpolate bilinear (both alignCorners) and nearest', () => {
    gradcheck(([x]) => F.interpolate(x, { size: [7, 5], mode: 'bilinear', alignCorners: false }), [N(130, [1, 2, 4, 3])], { name: 'bilinear' });
    gradcheck(([x]) => F.interpolate(x, { size: [7, 5], mode: 'bilinear', alignCorners: true }), [N(131, [1, 2, 4, 3])], { name: 'bilinear alignCorners' });
    gradcheck(([x]) => F.interpolate(x, { scaleFactor: 2, mode: 'nearest' }), [N(132, [1, 2, 3, 3])], { name: 'nearest' });
  });

  it('gridSample: input and grid (bilinear, zeros and border padding)', () => {
    // grid points away from pixel centres so the bilinear weights are smooth there
    gradcheck(([x, g]) => F.gridSample(x, g), [N(133, [1, 2, 4, 5]), U(134, [1, 3, 3, 2], -0.93, 0.93)], { name: 'gridSample' });
    gradcheck(([x, g]) => F.gridSample(x, g, { alignCorners: true, paddingMode: 'border' }), [N(135, [2, 1, 4, 4]), U(136, [2, 2, 3, 2], -0.97, 0.97)], { name: 'gridSample border' });
  });

  it('pooling and activations', () => {
    gradcheck(([x]) => F.maxPool2d(x, 2, { stride: 1 }), [N(137, [1, 2, 4, 4])], { name: 'maxPool2d' });
    gradcheck(([x]) => F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }), [N(138, [1, 2, 5, 5])], { name: 'avgPool2d' });
    gradcheck(([x]) => F.adaptiveAvgPool2d(x, 3), [N(139, [1, 2, 5, 4])], { name: 'adaptiveAvgPool2d' });
    gradcheck(([x]) => F.adaptiveMaxPool2d(x, 2).output, [N(140, [1, 2, 5, 4])], { name: 'adaptiveMaxPool2d' });
    gradcheck(([x]) => torch.cat([F.softmax(x, 1), F.logSoftmax(x, 0), F.gelu(x), F.silu(x), x.sigmoid(), x.tanh(), F.leakyRelu(x, 0.1)]), [N(141, [3, 4])], { name: 'activations' });
  });

  it('indexing ops', () => {
    const idx = given([2, 0, 0, 1], [4], 'int64');
    gradcheck(([x]) => torch.cat([x.indexSelect(0, toT(idx)).flatten(), x.index([toT(idx)]).flatten(), x.gather(1, torch.tensor([[0, 0], [1, 2], [2, 1]], { dtype: 'int64' })).flatten()]), [N(142, [3, 3])], { name: 'index ops' });
    gradcheck(([x, s]) => x.scatterAdd(0, torch.tensor([[0, 1, 0], [0, 0, 1]], { dtype: 'int64' }), s), [N(143, [2, 3]), N(144, [2, 3])], { name: 'scatterAdd' });
    gradcheck(([x]) => x.maskedFill(torch.tensor([true, false, true]), 0).mul(x), [N(145, [3])], { name: 'maskedFill' });
  });

  it('losses: crossEntropy (weight, ignoreIndex, labelSmoothing), BCE, smoothL1, sigmoidFocalLoss', () => {
    const target = given([0, 3, 2, -100, 1], [5], 'int64');
    const w = U(146, [4], 0.3, 2);
    gradcheck(([x]) => F.crossEntropy(x, toT(target)), [N(147, [5, 4])], { name: 'crossEntropy' });
    gradcheck(([x, cw]) => F.crossEntropy(x, toT(target), { weight: cw, labelSmoothing: 0.1 }), [N(148, [5, 4]), w], { wrt: [0], name: 'crossEntropy weight smoothing' });
    gradcheck(([x]) => F.crossEntropy(x, toT(given([0, 3, 2, 3, 1], [5], 'int64')), { ignoreIndex: 3, reduction: 'sum' }), [N(149, [5, 4])], { name: 'crossEntropy ignoreIndex' });
    gradcheck(([x, t]) => F.crossEntropy(x, t.softmax(1)), [N(150, [5, 4]), N(151, [5, 4])], { wrt: [0], name: 'crossEntropy probabilities' });
    gradcheck(([x, t, bw]) => F.binaryCrossEntropyWithLogits(x, t, { weight: bw, posWeight: torch.tensor([2, 0.5, 1], { dtype: 'float64' }) }), [N(152, [4, 3]), U(153, [4, 3], 0, 1), U(154, [4, 3], 0.5, 2)], { wrt: [0], name: 'bceWithLogits' });
    gradcheck(([p, t]) => F.binaryCrossEntropy(p, t, { reduction: 'sum' }), [U(155, [4, 3], 0.1, 0.9), U(156, [4, 3], 0, 1)], { wrt: [0], name: 'bce' });
    // |input - target| stays away from beta (the kink)
    const x = N(157, [6, 4]);
    const t = { ...x, data: x.data.map((v, i) => v + (i % 2 ? 1 : -1) * (i % 3 === 0 ? 0.05 : 0.6 + 0.1 * (i % 5))) };
    gradcheck(([a, b]) => F.smoothL1Loss(a, b, { beta: 0.3 }), [x, t], { name: 'smoothL1' });
    gradcheck(([a, b]) => F.l1Loss(a, b).add(F.mseLoss(a, b)), [x, t], { name: 'l1 + mse' });
    gradcheck(([a, b]) => F.sigmoidFocalLoss(a, b, { reduction: 'sum' }), [N(158, [4, 3]), f64(ints(159, [4, 3], 0, 2))], { wrt: [0], name: 'sigmoidFocalLoss' });
    gradcheck(([a, b]) => F.sigmoidFocalLoss(a, b, { alpha: 0.6, gamma: 1.5, reduction: 'mean' }), [N(160, [4, 3]), U(161, [4, 3], 0, 1)], { wrt: [0], name: 'sigmoidFocalLoss soft targets' });
  });

  it('roiAlign w.r.t. input (aligned and not, sampling ratio 0 and 2, rois partly outside)', () => {
    // sample points fall strictly inside pixels (coordinates avoid multiples of 1/4 of a pixel)
    const rois = given([0, 0.3, 0.7, 4.1, 3.9, 1, -1.3, 1.1, 2.7, 6.6, 0, 2.2, 2.45, 6.9, 4.3], [3, 5], 'float64');
    for (const aligned of [false, true]) {
      for (const samplingRatio of [0, 2]) {
        gradcheck(([x, r]) => torch.ops.roiAlign(x, r, { outputSize: [2, 3], spatialScale: 0.9, samplingRatio, aligned }), [N(162, [2, 2, 5, 6]), rois], { wrt: [0], name: `roiAlign aligned=${aligned} sampling=${samplingRatio}` });
      }
    }
  });

  it('roiPool w.r.t. input (no ties)', () => {
    const rois = given([0, 0, 0, 4, 3, 1, 1, 1, 5, 5, 0, 2, 1, 3, 4], [3, 5], 'float64');
    gradcheck(([x, r]) => torch.ops.roiPool(x, r, { outputSize: 2, spatialScale: 1 }), [N(163, [2, 2, 5, 6]), rois], { wrt: [0], name: 'roiPool' });
  });
});

function toT(d: Data): Tensor {
  return torch.tensor(d.data, { dtype: d.dtype }).reshape(d.shape);
}
