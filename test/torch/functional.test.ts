/**
 * Neural-network functions and losses against python3-torch / torchvision:
 * convolutions (stride, padding, dilation, groups), linear algebra, normalization
 * (batch norm train and eval with running statistics), activations, pooling,
 * interpolation, grid sampling, padding, dropout, one-hot, and the losses.
 */
import { describe, it, before } from 'node:test';
import * as torch from '../../src/torch';
import { hasReference, NO_REFERENCE } from '../helpers/reference';
import { checkCase, given, ints, normal, uniform, referenceResults, type Data, type Encoded, type RefCase } from './_util';

const F = torch.F;

const pool: Record<string, Data> = {
  img: normal(41, [2, 4, 7, 7]),
  w: uniform(42, [6, 4, 3, 3], -0.3, 0.3),
  w1: uniform(43, [6, 4, 1, 1], -0.5, 0.5),
  wg: uniform(44, [6, 2, 3, 3], -0.3, 0.3),
  wdw: uniform(45, [4, 1, 3, 3], -0.3, 0.3),
  bias: normal(46, [6]),
  wt: uniform(47, [4, 3, 3, 3], -0.3, 0.3),
  wtg: uniform(48, [4, 2, 3, 3], -0.3, 0.3),
  bt: normal(49, [3]),
  x2: normal(50, [5, 8]),
  x3: normal(51, [2, 5, 8]),
  lw: uniform(52, [3, 8], -0.4, 0.4),
  lb: normal(53, [3]),
  ma: normal(54, [2, 3, 4]),
  mb: normal(55, [2, 4, 5]),
  mv: normal(56, [4]),
  mb1: normal(57, [4, 5]),
  rm: normal(58, [4]),
  rv: uniform(59, [4], 0.5, 2),
  gamma: uniform(60, [4], 0.5, 1.5),
  beta: normal(61, [4]),
  small: normal(62, [1, 2, 4, 5]),
  grid: uniform(63, [2, 3, 5, 2], -1.1, 1.1),
  gimg: normal(64, [2, 3, 4, 6]),
  seq: normal(65, [2, 3, 6]),
  lng: uniform(66, [3, 6], 0.5, 1.5),
  lnb: normal(67, [3, 6]),
  logits: normal(68, [6, 5]),
  target: given([0, 4, 2, -100, 1, 4], [6], 'int64'),
  target2: given([0, 4, 2, 3, 1, 4], [6], 'int64'),
  cw: uniform(69, [5], 0.2, 2),
  ptarget: uniform(70, [6, 5], 0, 1),
  logits4: normal(71, [2, 5, 3, 3]),
  target4: ints(72, [2, 3, 3], 0, 5),
  probs: uniform(73, [6, 5], 0.05, 0.95),
  btarget: uniform(74, [6, 5], 0, 1),
  bbin: ints(75, [6, 5], 0, 2, 'float32'),
  bw: uniform(76, [6, 5], 0.1, 2),
  pw: uniform(77, [5], 0.5, 3),
  reg: normal(78, [6, 4]),
  regt: normal(79, [6, 4]),
  cls: ints(80, [7], 0, 4),
};

const convTol = { rtol: 1e-5, atol: 1e-5 };
const cases: RefCase[] = [
  // convolutions
  { name: 'conv2d', py: 'F.conv2d(img, w, bias)', ts: (p) => F.conv2d(p.img, p.w, p.bias), ...convTol },
  { name: 'conv2d no bias stride padding', py: 'F.conv2d(img, w, None, stride=2, padding=1)', ts: (p) => F.conv2d(p.img, p.w, null, { stride: 2, padding: 1 }), ...convTol },
  { name: 'conv2d asymmetric', py: 'F.conv2d(img, w, bias, stride=(1, 2), padding=(2, 0))', ts: (p) => F.conv2d(p.img, p.w, p.bias, { stride: [1, 2], padding: [2, 0] }), ...convTol },
  { name: 'conv2d dilation', py: 'F.conv2d(img, w, bias, padding=2, dilation=2)', ts: (p) => F.conv2d(p.img, p.w, p.bias, { padding: 2, dilation: 2 }), ...convTol },
  { name: 'conv2d groups', py: 'F.conv2d(img, wg, bias, padding=1, groups=2)', ts: (p) => F.conv2d(p.img, p.wg, p.bias, { padding: 1, groups: 2 }), ...convTol },
  { name: 'conv2d depthwise', py: 'F.conv2d(img, wdw, None, stride=2, padding=1, groups=4)', ts: (p) => F.conv2d(p.img, p.wdw, null, { stride: 2, padding: 1, groups: 4 }), ...convTol },
  { name: 'conv2d 1x1', py: 'F.conv2d(img, w1, bias)', ts: (p) => F.conv2d(p.img, p.w1, p.bias), ...convTol },
  { name: 'conv2d float64', py: 'F.conv2d(img.double(), w.double(), bias.double(), padding=1)', ts: (p) => F.conv2d(p.img.double(), p.w.double(), p.bias.double(), { padding: 1 }), rtol: 1e-10, atol: 1e-12 },
  { name: 'conv_transpose2d', py: 'F.conv_transpose2d(img, wt, bt)', ts: (p) => F.convTranspose2d(p.img, p.wt, p.bt), ...convTol },
  { name: 'conv_transpose2d stride padding output_padding', py: 'F.conv_transpose2d(img, wt, bt, stride=2, padding=1, output_padding=1)', ts: (p) => F.convTranspose2d(p.img, p.wt, p.bt, { stride: 2, padding: 1, outputPadding: 1 }), ...convTol },
  { name: 'conv_transpose2d dilation groups', py: 'F.conv_transpose2d(img, wtg, None, stride=2, dilation=2, groups=2)', ts: (p) => F.convTranspose2d(p.img, p.wtg, null, { stride: 2, dilation: 2, groups: 2 }), ...convTol },
  // linear algebra
  { name: 'linear', py: '[F.linear(x2, lw, lb), F.linear(x3, lw), F.linear(x2, lw, None)]', ts: (p) => [F.linear(p.x2, p.lw, p.lb), F.linear(p.x3, p.lw), F.linear(p.x2, p.lw, null)] },
  { name: 'matmul', py: '[ma @ mb, ma @ mv, mv @ mb1, ma @ mb1, mb1.t() @ mv]', ts: (p) => [p.ma.matmul(p.mb), p.ma.matmul(p.mv), p.mv.matmul(p.mb1), p.ma.matmul(p.mb1), p.mb1.t().matmul(p.mv)] },
  { name: 'mm bmm', py: '[x2.mm(lw.t()), ma.bmm(mb)]', ts: (p) => [p.x2.mm(p.lw.t()), p.ma.bmm(p.mb)] },
  { name: 'einsum', py: '[torch.einsum("bij,bjk->bik", ma, mb), torch.einsum("ij->j", x2), torch.einsum("i,j->ij", mv, lb), torch.einsum("bij,bij->b", ma, ma)]', ts: (p) => [torch.einsum('bij,bjk->bik', [p.ma, p.mb]), torch.einsum('ij->j', [p.x2]), torch.einsum('i,j->ij', [p.mv, p.lb]), torch.einsum('bij,bij->b', [p.ma, p.ma])] },
  // normalization
  { name: 'batch_norm eval', py: 'F.batch_norm(img, rm, rv, gamma, beta, False, 0.1, 1e-5)', ts: (p) => F.batchNorm(p.img, p.rm, p.rv, { weight: p.gamma, bias: p.beta, training: false }) },
  { name: 'batch_norm train updates running stats', py: '(lambda m, v: [F.batch_norm(img, m, v, gamma, beta, True, 0.3, 1e-3), m, v])(rm.clone(), rv.clone())', ts: (p) => { const m = p.rm.clone(); const v = p.rv.clone(); return [F.batchNorm(p.img, m, v, { weight: p.gamma, bias: p.beta, training: true, momentum: 0.3, eps: 1e-3 }), m, v]; } },
  { name: 'batch_norm train no affine no buffers', py: 'F.batch_norm(img, None, None, None, None, True)', ts: (p) => F.batchNorm(p.img, null, null, { training: true }) },
  { name: 'group_norm', py: '[F.group_norm(img, 2, gamma, beta), F.group_norm(img, 4), F.group_norm(img, 1, eps=1e-2)]', ts: (p) => [F.groupNorm(p.img, 2, { weight: p.gamma, bias: p.beta }), F.groupNorm(p.img, 4), F.groupNorm(p.img, 1, { eps: 1e-2 })] },
  { name: 'layer_norm', py: '[F.layer_norm(seq, (6,)), F.layer_norm(seq, (3, 6), lng, lnb, 1e-3)]', ts: (p) => [F.layerNorm(p.seq, [6]), F.layerNorm(p.seq, [3, 6], { weight: p.lng, bias: p.lnb, eps: 1e-3 })] },
  // activations
  { name: 'relu leaky_relu', py: '[F.relu(img), F.leaky_relu(img), F.leaky_relu(img, 0.2)]', ts: (p) => [F.relu(p.img), F.leakyRelu(p.img), F.leakyRelu(p.img, 0.2)] },
  { name: 'gelu', py: '[F.gelu(img), F.gelu(img, approximate="tanh")]', ts: (p) => [F.gelu(p.img), F.gelu(p.img, { approximate: 'tanh' })] },
  { name: 'silu hardsigmoid hardswish elu', py: '[F.silu(img), F.hardsigmoid(img * 4), F.hardswish(img * 4), F.elu(img)]', ts: (p) => [F.silu(p.img), F.hardsigmoid(p.img.mul(4)), F.hardswish(p.img.mul(4)), F.elu(p.img)] },
  { name: 'sigmoid tanh', py: '[torch.sigmoid(img), torch.tanh(img)]', ts: (p) => [F.sigmoid(p.img), F.tanh(p.img)] },
  { name: 'softmax log_softmax', py: '[F.softmax(logits, 1), F.softmax(img, 0), F.log_softmax(logits, -1), F.log_softmax(img, 1), logits.softmax(0)]', ts: (p) => [F.softmax(p.logits, 1), F.softmax(p.img, 0), F.logSoftmax(p.logits, -1), F.logSoftmax(p.img, 1), p.logits.softmax(0)] },
  // pooling
  { name: 'max_pool2d', py: '[F.max_pool2d(img, 2), F.max_pool2d(img, 3, 2, 1), F.max_pool2d(img, 2, ceil_mode=True), F.max_pool2d(img, 3, 1, 1, dilation=2)]', ts: (p) => [F.maxPool2d(p.img, 2), F.maxPool2d(p.img, 3, { stride: 2, padding: 1 }), F.maxPool2d(p.img, 2, { ceilMode: true }), F.maxPool2d(p.img, 3, { stride: 1, padding: 1, dilation: 2 })] },
  { name: 'max_pool2d with indices', py: 'list(F.max_pool2d(img, 3, 2, 1, return_indices=True))', ts: (p) => { const r = F.maxPool2dWithIndices(p.img, 3, { stride: 2, padding: 1 }); return [r.output, r.indices]; } },
  { name: 'avg_pool2d', py: '[F.avg_pool2d(img, 2), F.avg_pool2d(img, 3, 2, 1), F.avg_pool2d(img, 3, 2, 1, count_include_pad=False), F.avg_pool2d(img, 2, ceil_mode=True), F.avg_pool2d(img, 2, divisor_override=3)]', ts: (p) => [F.avgPool2d(p.img, 2), F.avgPool2d(p.img, 3, { stride: 2, padding: 1 }), F.avgPool2d(p.img, 3, { stride: 2, padding: 1, countIncludePad: false }), F.avgPool2d(p.img, 2, { ceilMode: true }), F.avgPool2d(p.img, 2, { divisorOverride: 3 })] },
  { name: 'adaptive_avg_pool2d', py: '[F.adaptive_avg_pool2d(img, 1), F.adaptive_avg_pool2d(img, 3), F.adaptive_avg_pool2d(img, (2, 5))]', ts: (p) => [F.adaptiveAvgPool2d(p.img, 1), F.adaptiveAvgPool2d(p.img, 3), F.adaptiveAvgPool2d(p.img, [2, 5])] },
  { name: 'adaptive_max_pool2d', py: 'list(F.adaptive_max_pool2d(img, 3, return_indices=True)) + list(F.adaptive_max_pool2d(img, (1, 4), return_indices=True))', ts: (p) => { const a = F.adaptiveMaxPool2d(p.img, 3); const b = F.adaptiveMaxPool2d(p.img, [1, 4]); return [a.output, a.indices, b.output, b.indices]; } },
  // resampling
  { name: 'interpolate nearest', py: '[F.interpolate(small, size=(8, 7)), F.interpolate(small, scale_factor=2), F.interpolate(small, size=3), F.interpolate(small, scale_factor=1.5)]', ts: (p) => [F.interpolate(p.small, { size: [8, 7] }), F.interpolate(p.small, { scaleFactor: 2 }), F.interpolate(p.small, { size: 3 }), F.interpolate(p.small, { scaleFactor: 1.5 })] },
  { name: 'interpolate bilinear', py: '[F.interpolate(small, size=(8, 7), mode="bilinear", align_corners=False), F.interpolate(small, size=(8, 7), mode="bilinear", align_corners=True), F.interpolate(small, scale_factor=2, mode="bilinear", align_corners=False), F.interpolate(small, size=(3, 2), mode="bilinear", align_corners=False), F.interpolate(small, scale_factor=(1.5, 0.5), mode="bilinear", align_corners=True)]', ts: (p) => [F.interpolate(p.small, { size: [8, 7], mode: 'bilinear' }), F.interpolate(p.small, { size: [8, 7], mode: 'bilinear', alignCorners: true }), F.interpolate(p.small, { scaleFactor: 2, mode: 'bilinear', alignCorners: false }), F.interpolate(p.small, { size: [3, 2], mode: 'bilinear' }), F.interpolate(p.small, { scaleFactor: [1.5, 0.5], mode: 'bilinear', alignCorners: true })] },
  { name: 'grid_sample', py: '[F.grid_sample(gimg, grid, align_corners=False), F.grid_sample(gimg, grid, align_corners=True), F.grid_sample(gimg, grid, mode="nearest", align_corners=False), F.grid_sample(gimg, grid, padding_mode="border", align_corners=False), F.grid_sample(gimg, grid, padding_mode="reflection", align_corners=True), F.grid_sample(gimg, grid, mode="bicubic", align_corners=False)]', ts: (p) => [F.gridSample(p.gimg, p.grid), F.gridSample(p.gimg, p.grid, { alignCorners: true }), F.gridSample(p.gimg, p.grid, { mode: 'nearest' }), F.gridSample(p.gimg, p.grid, { paddingMode: 'border' }), F.gridSample(p.gimg, p.grid, { paddingMode: 'reflection', alignCorners: true }), F.gridSample(p.gimg, p.grid, { mode: 'bicubic' })] },
  { name: 'pad', py: '[F.pad(small, (1, 2)), F.pad(small, (1, 2, 3, 0), value=-1.5), F.pad(small, (2, 1, 1, 2), mode="reflect"), F.pad(small, (2, 1, 1, 2), mode="replicate"), F.pad(small, (0, 0, 0, 0, 1, 1))]', ts: (p) => [F.pad(p.small, [1, 2]), F.pad(p.small, [1, 2, 3, 0], { value: -1.5 }), F.pad(p.small, [2, 1, 1, 2], { mode: 'reflect' }), F.pad(p.small, [2, 1, 1, 2], { mode: 'replicate' }), F.pad(p.small, [0, 0, 0, 0, 1, 1])] },
  { name: 'dropout', py: '[F.dropout(img, 0.5, training=False), F.dropout(img, 0.0), F.dropout(img, 1.0)]', ts: (p) => [F.dropout(p.img, { p: 0.5, training: false }), F.dropout(p.img, { p: 0 }), F.dropout(p.img, { p: 1 })] },
  { name: 'dropout seeded', py: 'F.dropout(img, 0.3)', ts: (p) => F.dropout(p.img, { p: 0.3 }) },
  { name: 'dropout2d', py: '[F.dropout2d(img, 0.5, training=False), F.dropout2d(img, 0.0), F.dropout2d(img, 1.0)]', ts: (p) => [F.dropout2d(p.img, { p: 0.5, training: false }), F.dropout2d(p.img, { p: 0 }), F.dropout2d(p.img, { p: 1 })] },
  { name: 'dropout2d seeded', py: 'F.dropout2d(img, 0.3)', ts: (p) => F.dropout2d(p.img, { p: 0.3 }) },
  { name: 'one_hot', py: '[F.one_hot(cls), F.one_hot(cls, 6)]', ts: (p) => [F.oneHot(p.cls), F.oneHot(p.cls, 6)] },
  { name: 'pixel_shuffle', py: 'F.pixel_shuffle(img, 2)', ts: (p) => F.pixelShuffle(p.img, 2) },
  // losses
  { name: 'cross_entropy', py: '[F.cross_entropy(logits, target2), F.cross_entropy(logits, target2, reduction="sum"), F.cross_entropy(logits, target2, reduction="none")]', ts: (p) => [F.crossEntropy(p.logits, p.target2), F.crossEntropy(p.logits, p.target2, { reduction: 'sum' }), F.crossEntropy(p.logits, p.target2, { reduction: 'none' })] },
  { name: 'cross_entropy weight ignore_index', py: '[F.cross_entropy(logits, target, weight=cw), F.cross_entropy(logits, target, weight=cw, reduction="none"), F.cross_entropy(logits, target2, ignore_index=4)]', ts: (p) => [F.crossEntropy(p.logits, p.target, { weight: p.cw }), F.crossEntropy(p.logits, p.target, { weight: p.cw, reduction: 'none' }), F.crossEntropy(p.logits, p.target2, { ignoreIndex: 4 })] },
  { name: 'cross_entropy label smoothing', py: '[F.cross_entropy(logits, target, label_smoothing=0.1), F.cross_entropy(logits, target, weight=cw, label_smoothing=0.2, reduction="sum"), F.cross_entropy(logits, target2, label_smoothing=0.3, reduction="none")]', ts: (p) => [F.crossEntropy(p.logits, p.target, { labelSmoothing: 0.1 }), F.crossEntropy(p.logits, p.target, { weight: p.cw, labelSmoothing: 0.2, reduction: 'sum' }), F.crossEntropy(p.logits, p.target2, { labelSmoothing: 0.3, reduction: 'none' })] },
  { name: 'cross_entropy probability targets', py: '[F.cross_entropy(logits, ptarget.softmax(1)), F.cross_entropy(logits, ptarget.softmax(1), weight=cw, label_smoothing=0.1)]', ts: (p) => [F.crossEntropy(p.logits, p.ptarget.softmax(1)), F.crossEntropy(p.logits, p.ptarget.softmax(1), { weight: p.cw, labelSmoothing: 0.1 })] },
  { name: 'cross_entropy spatial', py: '[F.cross_entropy(logits4, target4), F.cross_entropy(logits4, target4, weight=cw, reduction="none")]', ts: (p) => [F.crossEntropy(p.logits4, p.target4), F.crossEntropy(p.logits4, p.target4, { weight: p.cw, reduction: 'none' })] },
  { name: 'nll_loss', py: '[F.nll_loss(F.log_softmax(logits, 1), target), F.nll_loss(F.log_softmax(logits, 1), target, weight=cw, reduction="sum")]', ts: (p) => [F.nllLoss(F.logSoftmax(p.logits, 1), p.target), F.nllLoss(F.logSoftmax(p.logits, 1), p.target, { weight: p.cw, reduction: 'sum' })] },
  { name: 'binary_cross_entropy', py: '[F.binary_cross_entropy(probs, btarget), F.binary_cross_entropy(probs, btarget, weight=bw), F.binary_cross_entropy(probs, bbin, weight=bw, reduction="none"), F.binary_cross_entropy(probs, btarget, reduction="sum")]', ts: (p) => [F.binaryCrossEntropy(p.probs, p.btarget), F.binaryCrossEntropy(p.probs, p.btarget, { weight: p.bw }), F.binaryCrossEntropy(p.probs, p.bbin, { weight: p.bw, reduction: 'none' }), F.binaryCrossEntropy(p.probs, p.btarget, { reduction: 'sum' })] },
  { name: 'binary_cross_entropy_with_logits', py: '[F.binary_cross_entropy_with_logits(logits, btarget), F.binary_cross_entropy_with_logits(logits, bbin, weight=bw), F.binary_cross_entropy_with_logits(logits, btarget, pos_weight=pw, reduction="none"), F.binary_cross_entropy_with_logits(logits * 30, bbin, weight=bw, pos_weight=pw, reduction="sum")]', ts: (p) => [F.binaryCrossEntropyWithLogits(p.logits, p.btarget), F.binaryCrossEntropyWithLogits(p.logits, p.bbin, { weight: p.bw }), F.binaryCrossEntropyWithLogits(p.logits, p.btarget, { posWeight: p.pw, reduction: 'none' }), F.binaryCrossEntropyWithLogits(p.logits.mul(30), p.bbin, { weight: p.bw, posWeight: p.pw, reduction: 'sum' })] },
  { name: 'smooth_l1', py: '[F.smooth_l1_loss(reg, regt), F.smooth_l1_loss(reg, regt, beta=0.5, reduction="none"), F.smooth_l1_loss(reg, regt, beta=1/9, reduction="sum"), F.smooth_l1_loss(reg, regt, beta=0.0)]', ts: (p) => [F.smoothL1Loss(p.reg, p.regt), F.smoothL1Loss(p.reg, p.regt, { beta: 0.5, reduction: 'none' }), F.smoothL1Loss(p.reg, p.regt, { beta: 1 / 9, reduction: 'sum' }), F.smoothL1Loss(p.reg, p.regt, { beta: 0 })] },
  { name: 'l1 mse', py: '[F.l1_loss(reg, regt), F.l1_loss(reg, regt, reduction="none"), F.mse_loss(reg, regt), F.mse_loss(reg, regt, reduction="sum")]', ts: (p) => [F.l1Loss(p.reg, p.regt), F.l1Loss(p.reg, p.regt, { reduction: 'none' }), F.mseLoss(p.reg, p.regt), F.mseLoss(p.reg, p.regt, { reduction: 'sum' })] },
  { name: 'sigmoid_focal_loss', py: '[ops.sigmoid_focal_loss(logits, bbin), ops.sigmoid_focal_loss(logits, bbin, reduction="mean"), ops.sigmoid_focal_loss(logits, btarget, alpha=0.5, gamma=1.5, reduction="sum"), ops.sigmoid_focal_loss(logits, bbin, alpha=-1, gamma=0)]', ts: (p) => [F.sigmoidFocalLoss(p.logits, p.bbin), F.sigmoidFocalLoss(p.logits, p.bbin, { reduction: 'mean' }), F.sigmoidFocalLoss(p.logits, p.btarget, { alpha: 0.5, gamma: 1.5, reduction: 'sum' }), F.sigmoidFocalLoss(p.logits, p.bbin, { alpha: -1, gamma: 0 })] },
];

describe('nn functions and losses vs python3-torch', { skip: hasReference() ? false : NO_REFERENCE }, () => {
  let ref: Record<string, Encoded> = {};
  before(() => {
    ref = referenceResults(pool, cases);
  });
  for (const c of cases) it(c.name, () => checkCase(pool, c, ref[c.name]));
});
