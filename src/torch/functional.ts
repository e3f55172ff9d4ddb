/**
 * Neural-network functions: PyTorch's torch.nn.functional, camelCased, with keyword
 * arguments as options objects. Images are NCHW.
 */
import { callH, callMany, op } from './op';
import { Tensor, wrap } from './tensor';
import type { NativeHandle } from './native';
import { tidy } from './scope';

const O = {
  conv2d: op('aten::conv2d'), convT2d: op('aten::conv_transpose2d', 'input'), linear: op('aten::linear'),
  batchNorm: op('aten::batch_norm'), groupNorm: op('aten::group_norm'), layerNorm: op('aten::layer_norm'),
  relu: op('aten::relu'), leakyRelu: op('aten::leaky_relu'), gelu: op('aten::gelu'), silu: op('aten::silu'),
  hardsigmoid: op('aten::hardsigmoid'), hardswish: op('aten::hardswish'), elu: op('aten::elu'),
  softmax: op('aten::softmax', 'int'), logSoftmax: op('aten::log_softmax', 'int'),
  maxPool2d: op('aten::max_pool2d'), maxPool2dIdx: op('aten::max_pool2d_with_indices'),
  avgPool2d: op('aten::avg_pool2d'), adaptiveAvg: op('aten::adaptive_avg_pool2d'), adaptiveMax: op('aten::adaptive_max_pool2d'),
  nearest: op('aten::upsample_nearest2d', 'vec'), bilinear: op('aten::upsample_bilinear2d', 'vec'),
  gridSampler: op('aten::grid_sampler'), constantPad: op('aten::constant_pad_nd'),
  reflectionPad: op('aten::reflection_pad2d'), replicationPad: op('aten::replication_pad2d'),
  dropout: op('aten::dropout'), oneHot: op('aten::one_hot'),
  crossEntropy: op('aten::cross_entropy_loss'), nllLoss: op('aten::nll_loss_nd'),
  bce: op('aten::binary_cross_entropy'), bceLogits: op('aten::binary_cross_entropy_with_logits'),
  smoothL1: op('aten::smooth_l1_loss'), l1: op('aten::l1_loss'), mse: op('aten::mse_loss'),
  pixelShuffle: op('aten::pixel_shuffle'),
};

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);
const h = (t: Tensor | null | undefined) => (t ? t._h : null);

export type Reduction = 'none' | 'mean' | 'sum';
function reductionCode(r: Reduction = 'mean'): number {
  const code = { none: 0, mean: 1, sum: 2 }[r];
  if (code === undefined) throw new TypeError(`reduction: expected 'none', 'mean' or 'sum', got '${r}'`);
  return code;
}

export interface ConvOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** 2-d convolution. input [N,Cin,H,W], weight [Cout,Cin/groups,kH,kW], bias [Cout]. */
export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvOptions = {}): Tensor {
  return wrap(callH(O.conv2d, input._h, weight._h, h(bias), pair(opts.stride ?? 1), pair(opts.padding ?? 0), pair(opts.dilation ?? 1), opts.groups ?? 1));
}

/** Transposed 2-d convolution. weight [Cin, Cout/groups, kH, kW]. */
export function convTranspose2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvOptions & { outputPadding?: Pair } = {}): Tensor {
  return wrap(callH(O.convT2d, input._h, weight._h, h(bias), pair(opts.stride ?? 1), pair(opts.padding ?? 0), pair(opts.outputPadding ?? 0), opts.groups ?? 1, pair(opts.dilation ?? 1)));
}

/** y = x W^T + b. weight [out, in]. */
export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return wrap(callH(O.linear, input._h, weight._h, h(bias)));
}

/**
 * Batch normalization. In training mode, batch statistics are used and the running
 * buffers (if given) are updated in place with momentum.
 */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: { weight?: Tensor | null; bias?: Tensor | null; training?: boolean; momentum?: number; eps?: number } = {}): Tensor {
  return wrap(callH(O.batchNorm, input._h, h(opts.weight), h(opts.bias), h(runningMean), h(runningVar), opts.training ?? false, opts.momentum ?? 0.1, opts.eps ?? 1e-5, true));
}

export function groupNorm(input: Tensor, numGroups: number, opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  return wrap(callH(O.groupNorm, input._h, numGroups, h(opts.weight), h(opts.bias), opts.eps ?? 1e-5, true));
}

export function layerNorm(input: Tensor, normalizedShape: number[], opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  return wrap(callH(O.layerNorm, input._h, normalizedShape, h(opts.weight), h(opts.bias), opts.eps ?? 1e-5, true));
}

export const relu = (x: Tensor): Tensor => wrap(callH(O.relu, x._h));
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => wrap(callH(O.leakyRelu, x._h, negativeSlope));
export const gelu = (x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor => wrap(callH(O.gelu, x._h, opts.approximate ?? 'none'));
export const silu = (x: Tensor): Tensor => wrap(callH(O.silu, x._h));
export const hardsigmoid = (x: Tensor): Tensor => wrap(callH(O.hardsigmoid, x._h));
export const hardswish = (x: Tensor): Tensor => wrap(callH(O.hardswish, x._h));
export const elu = (x: Tensor, alpha = 1): Tensor => wrap(callH(O.elu, x._h, alpha, 1, 1));
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
export const tanh = (x: Tensor): Tensor => x.tanh();
export const softmax = (x: Tensor, dim: number): Tensor => wrap(callH(O.softmax, x._h, dim, null));
export const logSoftmax = (x: Tensor, dim: number): Tensor => wrap(callH(O.logSoftmax, x._h, dim, null));

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

export function maxPool2d(input: Tensor, kernelSize: Pair, opts: PoolOptions = {}): Tensor {
  return wrap(callH(O.maxPool2d, input._h, pair(kernelSize), pair(opts.stride ?? kernelSize), pair(opts.padding ?? 0), pair(opts.dilation ?? 1), opts.ceilMode ?? false));
}

/** Max pooling that also returns the flat (per-plane) argmax indices. */
export function maxPool2dWithIndices(input: Tensor, kernelSize: Pair, opts: PoolOptions = {}): { output: Tensor; indices: Tensor } {
  const [o, i] = callMany(O.maxPool2dIdx, input._h, pair(kernelSize), pair(opts.stride ?? kernelSize), pair(opts.padding ?? 0), pair(opts.dilation ?? 1), opts.ceilMode ?? false);
  return { output: wrap(o as NativeHandle), indices: wrap(i as NativeHandle) };
}

export function avgPool2d(input: Tensor, kernelSize: Pair, opts: Omit<PoolOptions, 'dilation'> & { countIncludePad?: boolean; divisorOverride?: number } = {}): Tensor {
  return wrap(callH(O.avgPool2d, input._h, pair(kernelSize), pair(opts.stride ?? kernelSize), pair(opts.padding ?? 0), opts.ceilMode ?? false, opts.countIncludePad ?? true, opts.divisorOverride ?? null));
}

export function adaptiveAvgPool2d(input: Tensor, outputSize: Pair): Tensor {
  return wrap(callH(O.adaptiveAvg, input._h, pair(outputSize)));
}

export function adaptiveMaxPool2d(input: Tensor, outputSize: Pair): { output: Tensor; indices: Tensor } {
  const [o, i] = callMany(O.adaptiveMax, input._h, pair(outputSize));
  return { output: wrap(o as NativeHandle), indices: wrap(i as NativeHandle) };
}

/**
 * Resizes NCHW input to `size` or by `scaleFactor` (as F.interpolate with
 * recompute_scale_factor unset: the scale is passed to the kernel).
 */
export function interpolate(input: Tensor, opts: { size?: Pair; scaleFactor?: number | [number, number]; mode?: 'nearest' | 'bilinear'; alignCorners?: boolean }): Tensor {
  const mode = opts.mode ?? 'nearest';
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) {
    throw new TypeError('interpolate: give exactly one of size and scaleFactor');
  }
  const size = opts.size === undefined ? null : pair(opts.size);
  const scales = opts.scaleFactor === undefined ? null : pair(opts.scaleFactor);
  if (mode === 'nearest') {
    if (opts.alignCorners !== undefined) throw new TypeError("interpolate: alignCorners only applies to mode 'bilinear'");
    return wrap(callH(O.nearest, input._h, size, scales));
  }
  if (mode === 'bilinear') return wrap(callH(O.bilinear, input._h, size, opts.alignCorners ?? false, scales));
  throw new TypeError(`interpolate: unsupported mode '${mode}' (nearest, bilinear)`);
}

/** Samples input at grid locations ([N,Ho,Wo,2], normalized to [-1, 1]). */
export function gridSample(input: Tensor, grid: Tensor, opts: { mode?: 'bilinear' | 'nearest' | 'bicubic'; paddingMode?: 'zeros' | 'border' | 'reflection'; alignCorners?: boolean } = {}): Tensor {
  const mode = { bilinear: 0, nearest: 1, bicubic: 2 }[opts.mode ?? 'bilinear'];
  const padding = { zeros: 0, border: 1, reflection: 2 }[opts.paddingMode ?? 'zeros'];
  return wrap(callH(O.gridSampler, input._h, grid._h, mode, padding, opts.alignCorners ?? false));
}

/** Pads the last dimensions: pad = [left, right, top, bottom, ...] as F.pad. */
export function pad(input: Tensor, padding: number[], opts: { mode?: 'constant' | 'reflect' | 'replicate'; value?: number } = {}): Tensor {
  const mode = opts.mode ?? 'constant';
  if (mode === 'constant') return wrap(callH(O.constantPad, input._h, padding, opts.value ?? 0));
  if (padding.length !== 4) throw new TypeError(`pad: mode '${mode}' supports 4 padding values (2-d), got ${padding.length}`);
  return wrap(callH(mode === 'reflect' ? O.reflectionPad : O.replicationPad, input._h, padding));
}

export function dropout(input: Tensor, opts: { p?: number; training?: boolean } = {}): Tensor {
  const p = opts.p ?? 0.5;
  if (p < 0 || p > 1) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  return wrap(callH(O.dropout, input._h, p, opts.training ?? true));
}

/** One-hot encoding of int64 class indices; numClasses -1 infers it. */
export function oneHot(input: Tensor, numClasses = -1): Tensor {
  return wrap(callH(O.oneHot, input._h, numClasses));
}

export function pixelShuffle(input: Tensor, upscaleFactor: number): Tensor {
  return wrap(callH(O.pixelShuffle, input._h, upscaleFactor));
}

// ---------------------------------------------------------------- losses

/** Softmax cross-entropy; target holds class indices (int64) or class probabilities. */
export function crossEntropy(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction; labelSmoothing?: number } = {}): Tensor {
  return wrap(callH(O.crossEntropy, input._h, target._h, h(opts.weight), reductionCode(opts.reduction), opts.ignoreIndex ?? -100, opts.labelSmoothing ?? 0));
}

export function nllLoss(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction } = {}): Tensor {
  return wrap(callH(O.nllLoss, input._h, target._h, h(opts.weight), reductionCode(opts.reduction), opts.ignoreIndex ?? -100));
}

/** Binary cross-entropy on probabilities. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  return wrap(callH(O.bce, input._h, target._h, h(opts.weight), reductionCode(opts.reduction)));
}

/** Binary cross-entropy on logits (numerically stable). */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  return wrap(callH(O.bceLogits, input._h, target._h, h(opts.weight), h(opts.posWeight), reductionCode(opts.reduction)));
}

export function smoothL1Loss(input: Tensor, target: Tensor, opts: { beta?: number; reduction?: Reduction } = {}): Tensor {
  return wrap(callH(O.smoothL1, input._h, target._h, reductionCode(opts.reduction), opts.beta ?? 1));
}

export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  return wrap(callH(O.l1, input._h, target._h, reductionCode(opts.reduction)));
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  return wrap(callH(O.mse, input._h, target._h, reductionCode(opts.reduction)));
}

/**
 * Focal loss on logits (RetinaNet), as torchvision.ops.sigmoid_focal_loss:
 * ce * (1 - p_t)^gamma, weighted by alpha for positives (alpha < 0 disables).
 */
export function sigmoidFocalLoss(inputs: Tensor, targets: Tensor, opts: { alpha?: number; gamma?: number; reduction?: Reduction } = {}): Tensor {
  const alpha = opts.alpha ?? 0.25;
  const gamma = opts.gamma ?? 2;
  return tidy(() => {
    const p = inputs.sigmoid();
    const ce = binaryCrossEntropyWithLogits(inputs, targets, { reduction: 'none' });
    // p_t = p * t + (1 - p) * (1 - t)
    const pt = p.mul(targets).add(p.rsub(1).mul(targets.rsub(1)));
    let loss = ce.mul(pt.rsub(1).pow(gamma));
    if (alpha >= 0) {
      const alphaT = targets.mul(alpha).add(targets.rsub(1).mul(1 - alpha));
      loss = loss.mul(alphaT);
    }
    const r = opts.reduction ?? 'none';
    return r === 'none' ? loss : r === 'mean' ? loss.mean() : loss.sum();
  });
}
