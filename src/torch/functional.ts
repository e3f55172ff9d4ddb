/**
 * Neural-network functions: PyTorch's torch.nn.functional, camelCased, with keyword
 * arguments as options objects. Images are NCHW.
 */
import { callH, callMany, op } from './op';
import { Tensor, wrap } from './tensor';
import type { NativeHandle } from './native';
import { tidy } from './scope';
import { describe, optTensorArg, tensorArg } from './args';

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
  dropout: op('aten::dropout'), featureDropout: op('aten::feature_dropout'), oneHot: op('aten::one_hot'),
  crossEntropy: op('aten::cross_entropy_loss'), nllLoss: op('aten::nll_loss_nd'),
  bce: op('aten::binary_cross_entropy'), bceLogits: op('aten::binary_cross_entropy_with_logits'),
  smoothL1: op('aten::smooth_l1_loss'), l1: op('aten::l1_loss'), mse: op('aten::mse_loss'),
  pixelShuffle: op('aten::pixel_shuffle'),
};

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

// ---------------------------------------------------------------- argument checks
// Every wrapper checks its arguments here before calling libtorch: a misplaced options
// object (F.conv2d(x, w, { stride: 2 }) taking the options as the bias), a number where a
// tensor belongs, an unknown option key or an option of the wrong type is a TypeError
// naming the function, the argument and what was given.

/** A required tensor argument (the shared check, args.ts). */
const ten = (fn: string, name: string, v: unknown): NativeHandle => (v instanceof Tensor ? v._h : tensorArg(`F.${fn}`, name, v));

/** A tensor-or-null argument (null/undefined: none). */
const optTen = (fn: string, name: string, v: unknown): NativeHandle | null => (v instanceof Tensor ? v._h : optTensorArg(`F.${fn}`, name, v));

/** Returns undefined when v is valid, else what was expected. */
type Check = (v: unknown) => string | undefined;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const C = {
  int: ((v) => (isInt(v) ? undefined : 'an integer')) as Check,
  // a count libtorch narrows or squares (conv groups, pixel-shuffle factors): a larger value wraps to 0 and
  // divides by it natively (SIGFPE; found by the fuzz harness)
  count: ((v) => (isInt(v) && (v as number) >= 1 && (v as number) <= 2147483647 ? undefined : 'an integer in [1, 2147483647]')) as Check,
  num: ((v) => (isNum(v) ? undefined : 'a finite number')) as Check,
  bool: ((v) => (typeof v === 'boolean' ? undefined : 'true or false')) as Check,
  // an adaptive pool's output side: libtorch loops over every output row even when the other side is
  // 0, so 2^40 x 0 hung the process (found by the fuzz harness); no feature map is 65,536 px
  outSize: ((v) => {
    const side = (x: unknown): boolean => isInt(x) && (x as number) >= 0 && (x as number) <= 65536;
    return side(v) || (Array.isArray(v) && v.length === 2 && v.every(side)) ? undefined : 'an integer in [0, 65536] or a pair of them';
  }) as Check,
  pair: ((v) => (isInt(v) || (Array.isArray(v) && v.length === 2 && v.every(isInt)) ? undefined : 'an integer or [integer, integer]')) as Check,
  numPair: ((v) => (isNum(v) || (Array.isArray(v) && v.length === 2 && v.every(isNum)) ? undefined : 'a finite number or [number, number]')) as Check,
  tensor: ((v) => (v === null || v === undefined || v instanceof Tensor ? undefined : 'a Tensor or null')) as Check,
  intOrNull: ((v) => (v === null || isInt(v) ? undefined : 'an integer or null')) as Check,
  oneOf: (...xs: string[]): Check => (v) => (typeof v === 'string' && xs.includes(v) ? undefined : xs.map((x) => `'${x}'`).join(', ').replace(/, ([^,]*)$/, ' or $1')),
};

/** Checks an options object: an object (or undefined), known keys only, each of its type. */
function options<T extends object>(fn: string, v: T | undefined, spec: Record<string, Check>, required = false): T {
  if (v === undefined && !required) return {} as T;
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Tensor) {
    throw new TypeError(`F.${fn}: options: expected an options object {${Object.keys(spec).join(', ')}}, got ${describe(v)}`);
  }
  for (const key of Object.keys(v)) {
    const check = Object.prototype.hasOwnProperty.call(spec, key) ? spec[key] : undefined;
    if (check === undefined) throw new TypeError(`F.${fn}: options.${key}: unknown option (known: ${Object.keys(spec).join(', ')})`);
    const value = (v as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const expected = check(value);
    if (expected !== undefined) throw new TypeError(`F.${fn}: options.${key}: expected ${expected}, got ${describe(value)}`);
  }
  return v;
}

/** A positional non-tensor argument. */
function arg<T>(fn: string, name: string, v: T, check: Check): T {
  const expected = check(v);
  if (expected !== undefined) throw new TypeError(`F.${fn}: ${name}: expected ${expected}, got ${describe(v)}`);
  return v;
}

const intList: Check = (v) => (Array.isArray(v) && v.every(isInt) ? undefined : 'an array of integers');

const CONV = { stride: C.pair, padding: C.pair, dilation: C.pair, groups: C.count };
const CONV_T = { ...CONV, outputPadding: C.pair };
const BATCH_NORM = { weight: C.tensor, bias: C.tensor, training: C.bool, momentum: C.num, eps: C.num };
const AFFINE_NORM = { weight: C.tensor, bias: C.tensor, eps: C.num };
const POOL = { stride: C.pair, padding: C.pair, dilation: C.pair, ceilMode: C.bool };
const AVG_POOL = { stride: C.pair, padding: C.pair, ceilMode: C.bool, countIncludePad: C.bool, divisorOverride: C.intOrNull };
const REDUCTION = C.oneOf('none', 'mean', 'sum');

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
  const o = options('conv2d', opts, CONV);
  return wrap(callH(O.conv2d, ten('conv2d', 'input', input), ten('conv2d', 'weight', weight), optTen('conv2d', 'bias', bias), pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.groups ?? 1));
}

/** Transposed 2-d convolution. weight [Cin, Cout/groups, kH, kW]. */
export function convTranspose2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvOptions & { outputPadding?: Pair } = {}): Tensor {
  const fn = 'convTranspose2d';
  const o = options(fn, opts, CONV_T);
  return wrap(callH(O.convT2d, ten(fn, 'input', input), ten(fn, 'weight', weight), optTen(fn, 'bias', bias), pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.outputPadding ?? 0), o.groups ?? 1, pair(o.dilation ?? 1)));
}

/** y = x W^T + b. weight [out, in]. */
export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return wrap(callH(O.linear, ten('linear', 'input', input), ten('linear', 'weight', weight), optTen('linear', 'bias', bias)));
}

/**
 * Batch normalization. In training mode, batch statistics are used and the running
 * buffers (if given) are updated in place with momentum.
 */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: { weight?: Tensor | null; bias?: Tensor | null; training?: boolean; momentum?: number; eps?: number } = {}): Tensor {
  const fn = 'batchNorm';
  const o = options(fn, opts, BATCH_NORM);
  return wrap(callH(O.batchNorm, ten(fn, 'input', input), optTen(fn, 'weight', o.weight), optTen(fn, 'bias', o.bias), optTen(fn, 'runningMean', runningMean), optTen(fn, 'runningVar', runningVar), o.training ?? false, o.momentum ?? 0.1, o.eps ?? 1e-5, true));
}

export function groupNorm(input: Tensor, numGroups: number, opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  const fn = 'groupNorm';
  const o = options(fn, opts, AFFINE_NORM);
  return wrap(callH(O.groupNorm, ten(fn, 'input', input), arg(fn, 'numGroups', numGroups, C.count), optTen(fn, 'weight', o.weight), optTen(fn, 'bias', o.bias), o.eps ?? 1e-5, true));
}

export function layerNorm(input: Tensor, normalizedShape: number[], opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  const fn = 'layerNorm';
  const o = options(fn, opts, AFFINE_NORM);
  return wrap(callH(O.layerNorm, ten(fn, 'input', input), arg(fn, 'normalizedShape', normalizedShape, intList), optTen(fn, 'weight', o.weight), optTen(fn, 'bias', o.bias), o.eps ?? 1e-5, true));
}

export const relu = (x: Tensor): Tensor => wrap(callH(O.relu, ten('relu', 'input', x)));
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => wrap(callH(O.leakyRelu, ten('leakyRelu', 'input', x), arg('leakyRelu', 'negativeSlope', negativeSlope, C.num)));
export const gelu = (x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor =>
  wrap(callH(O.gelu, ten('gelu', 'input', x), options('gelu', opts, { approximate: C.oneOf('none', 'tanh') }).approximate ?? 'none'));
export const silu = (x: Tensor): Tensor => wrap(callH(O.silu, ten('silu', 'input', x)));
export const hardsigmoid = (x: Tensor): Tensor => wrap(callH(O.hardsigmoid, ten('hardsigmoid', 'input', x)));
export const hardswish = (x: Tensor): Tensor => wrap(callH(O.hardswish, ten('hardswish', 'input', x)));
export const elu = (x: Tensor, alpha = 1): Tensor => wrap(callH(O.elu, ten('elu', 'input', x), arg('elu', 'alpha', alpha, C.num), 1, 1));
export const sigmoid = (x: Tensor): Tensor => (ten('sigmoid', 'input', x), x.sigmoid());
export const tanh = (x: Tensor): Tensor => (ten('tanh', 'input', x), x.tanh());
export const softmax = (x: Tensor, dim: number): Tensor => wrap(callH(O.softmax, ten('softmax', 'input', x), arg('softmax', 'dim', dim, C.int), null));
export const logSoftmax = (x: Tensor, dim: number): Tensor => wrap(callH(O.logSoftmax, ten('logSoftmax', 'input', x), arg('logSoftmax', 'dim', dim, C.int), null));

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

export function maxPool2d(input: Tensor, kernelSize: Pair, opts: PoolOptions = {}): Tensor {
  const fn = 'maxPool2d';
  const o = options(fn, opts, POOL);
  arg(fn, 'kernelSize', kernelSize, C.pair);
  return wrap(callH(O.maxPool2d, ten(fn, 'input', input), pair(kernelSize), pair(o.stride ?? kernelSize), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.ceilMode ?? false));
}

/** Max pooling that also returns the flat (per-plane) argmax indices. */
export function maxPool2dWithIndices(input: Tensor, kernelSize: Pair, opts: PoolOptions = {}): { output: Tensor; indices: Tensor } {
  const fn = 'maxPool2dWithIndices';
  const o = options(fn, opts, POOL);
  arg(fn, 'kernelSize', kernelSize, C.pair);
  const [out, i] = callMany(O.maxPool2dIdx, ten(fn, 'input', input), pair(kernelSize), pair(o.stride ?? kernelSize), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.ceilMode ?? false);
  return { output: wrap(out as NativeHandle), indices: wrap(i as NativeHandle) };
}

export function avgPool2d(input: Tensor, kernelSize: Pair, opts: Omit<PoolOptions, 'dilation'> & { countIncludePad?: boolean; divisorOverride?: number } = {}): Tensor {
  const fn = 'avgPool2d';
  const o = options(fn, opts, AVG_POOL);
  arg(fn, 'kernelSize', kernelSize, C.pair);
  return wrap(callH(O.avgPool2d, ten(fn, 'input', input), pair(kernelSize), pair(o.stride ?? kernelSize), pair(o.padding ?? 0), o.ceilMode ?? false, o.countIncludePad ?? true, o.divisorOverride ?? null));
}

export function adaptiveAvgPool2d(input: Tensor, outputSize: Pair): Tensor {
  return wrap(callH(O.adaptiveAvg, ten('adaptiveAvgPool2d', 'input', input), pair(arg('adaptiveAvgPool2d', 'outputSize', outputSize, C.outSize))));
}

export function adaptiveMaxPool2d(input: Tensor, outputSize: Pair): { output: Tensor; indices: Tensor } {
  const [o, i] = callMany(O.adaptiveMax, ten('adaptiveMaxPool2d', 'input', input), pair(arg('adaptiveMaxPool2d', 'outputSize', outputSize, C.outSize)));
  return { output: wrap(o as NativeHandle), indices: wrap(i as NativeHandle) };
}

/**
 * Resizes NCHW input to `size` or by `scaleFactor` (as F.interpolate with
 * recompute_scale_factor unset: the scale is passed to the kernel).
 */
export function interpolate(input: Tensor, opts: { size?: Pair; scaleFactor?: number | [number, number]; mode?: 'nearest' | 'bilinear'; alignCorners?: boolean }): Tensor {
  options('interpolate', opts, { size: C.pair, scaleFactor: C.numPair, mode: C.oneOf('nearest', 'bilinear'), alignCorners: C.bool }, true);
  const x = ten('interpolate', 'input', input);
  const mode = opts.mode ?? 'nearest';
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) {
    throw new TypeError('interpolate: give exactly one of size and scaleFactor');
  }
  const size = opts.size === undefined ? null : pair(opts.size);
  const scales = opts.scaleFactor === undefined ? null : pair(opts.scaleFactor);
  if (mode === 'nearest') {
    if (opts.alignCorners !== undefined) throw new TypeError("interpolate: alignCorners only applies to mode 'bilinear'");
    return wrap(callH(O.nearest, x, size, scales));
  }
  if (mode === 'bilinear') return wrap(callH(O.bilinear, x, size, opts.alignCorners ?? false, scales));
  throw new TypeError(`interpolate: unsupported mode '${mode}' (nearest, bilinear)`);
}

/** Samples input at grid locations ([N,Ho,Wo,2], normalized to [-1, 1]). */
export function gridSample(input: Tensor, grid: Tensor, opts: { mode?: 'bilinear' | 'nearest' | 'bicubic'; paddingMode?: 'zeros' | 'border' | 'reflection'; alignCorners?: boolean } = {}): Tensor {
  const fn = 'gridSample';
  const o = options(fn, opts, { mode: C.oneOf('bilinear', 'nearest', 'bicubic'), paddingMode: C.oneOf('zeros', 'border', 'reflection'), alignCorners: C.bool });
  const mode = { bilinear: 0, nearest: 1, bicubic: 2 }[o.mode ?? 'bilinear'];
  const padding = { zeros: 0, border: 1, reflection: 2 }[o.paddingMode ?? 'zeros'];
  return wrap(callH(O.gridSampler, ten(fn, 'input', input), ten(fn, 'grid', grid), mode, padding, o.alignCorners ?? false));
}

/** Pads the last dimensions: pad = [left, right, top, bottom, ...] as F.pad. */
export function pad(input: Tensor, padding: number[], opts: { mode?: 'constant' | 'reflect' | 'replicate'; value?: number } = {}): Tensor {
  const o = options('pad', opts, { mode: C.oneOf('constant', 'reflect', 'replicate'), value: (v) => (typeof v === 'number' && !Number.isNaN(v) ? undefined : 'a number') });
  const x = ten('pad', 'input', input);
  arg('pad', 'padding', padding, intList);
  const mode = o.mode ?? 'constant';
  if (mode === 'constant') return wrap(callH(O.constantPad, x, padding, o.value ?? 0));
  if (padding.length !== 4) throw new TypeError(`pad: mode '${mode}' supports 4 padding values (2-d), got ${padding.length}`);
  return wrap(callH(mode === 'reflect' ? O.reflectionPad : O.replicationPad, x, padding));
}

export function dropout(input: Tensor, opts: { p?: number; training?: boolean } = {}): Tensor {
  const o = options('dropout', opts, { p: C.num, training: C.bool });
  const p = o.p ?? 0.5;
  if (p < 0 || p > 1) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  return wrap(callH(O.dropout, ten('dropout', 'input', input), p, o.training ?? true));
}

/** Zeroes whole channels of [N, C, H, W] with probability p in training (the rest scaled by 1/(1-p)), as F.dropout2d. */
export function dropout2d(input: Tensor, opts: { p?: number; training?: boolean } = {}): Tensor {
  const o = options('dropout2d', opts, { p: C.num, training: C.bool });
  const p = o.p ?? 0.5;
  if (p < 0 || p > 1) throw new RangeError(`dropout2d: p must be in [0, 1], got ${p}`);
  const x = ten('dropout2d', 'input', input);
  if (input.dim() !== 4) throw new TypeError(`dropout2d: expected a 4-d input [N, C, H, W], got ${input.dim()}-d`);
  return wrap(callH(O.featureDropout, x, p, o.training ?? true));
}

/** One-hot encoding of int64 class indices; numClasses -1 infers it. */
export function oneHot(input: Tensor, numClasses = -1): Tensor {
  return wrap(callH(O.oneHot, ten('oneHot', 'input', input), arg('oneHot', 'numClasses', numClasses, C.int)));
}

export function pixelShuffle(input: Tensor, upscaleFactor: number): Tensor {
  return wrap(callH(O.pixelShuffle, ten('pixelShuffle', 'input', input), arg('pixelShuffle', 'upscaleFactor', upscaleFactor, C.count)));
}

// ---------------------------------------------------------------- losses

/** Softmax cross-entropy; target holds class indices (int64) or class probabilities. */
export function crossEntropy(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction; labelSmoothing?: number } = {}): Tensor {
  const fn = 'crossEntropy';
  const o = options(fn, opts, { weight: C.tensor, ignoreIndex: C.int, reduction: REDUCTION, labelSmoothing: C.num });
  return wrap(callH(O.crossEntropy, ten(fn, 'input', input), ten(fn, 'target', target), optTen(fn, 'weight', o.weight), reductionCode(o.reduction), o.ignoreIndex ?? -100, o.labelSmoothing ?? 0));
}

export function nllLoss(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction } = {}): Tensor {
  const fn = 'nllLoss';
  const o = options(fn, opts, { weight: C.tensor, ignoreIndex: C.int, reduction: REDUCTION });
  return wrap(callH(O.nllLoss, ten(fn, 'input', input), ten(fn, 'target', target), optTen(fn, 'weight', o.weight), reductionCode(o.reduction), o.ignoreIndex ?? -100));
}

/** Binary cross-entropy on probabilities. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  const fn = 'binaryCrossEntropy';
  const o = options(fn, opts, { weight: C.tensor, reduction: REDUCTION });
  return wrap(callH(O.bce, ten(fn, 'input', input), ten(fn, 'target', target), optTen(fn, 'weight', o.weight), reductionCode(o.reduction)));
}

/** Binary cross-entropy on logits (numerically stable). */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  const fn = 'binaryCrossEntropyWithLogits';
  const o = options(fn, opts, { weight: C.tensor, posWeight: C.tensor, reduction: REDUCTION });
  return wrap(callH(O.bceLogits, ten(fn, 'input', input), ten(fn, 'target', target), optTen(fn, 'weight', o.weight), optTen(fn, 'posWeight', o.posWeight), reductionCode(o.reduction)));
}

export function smoothL1Loss(input: Tensor, target: Tensor, opts: { beta?: number; reduction?: Reduction } = {}): Tensor {
  const fn = 'smoothL1Loss';
  const o = options(fn, opts, { beta: C.num, reduction: REDUCTION });
  return wrap(callH(O.smoothL1, ten(fn, 'input', input), ten(fn, 'target', target), reductionCode(o.reduction), o.beta ?? 1));
}

export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const o = options('l1Loss', opts, { reduction: REDUCTION });
  return wrap(callH(O.l1, ten('l1Loss', 'input', input), ten('l1Loss', 'target', target), reductionCode(o.reduction)));
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const o = options('mseLoss', opts, { reduction: REDUCTION });
  return wrap(callH(O.mse, ten('mseLoss', 'input', input), ten('mseLoss', 'target', target), reductionCode(o.reduction)));
}

/**
 * Focal loss on logits (RetinaNet), as torchvision.ops.sigmoid_focal_loss:
 * ce * (1 - p_t)^gamma, weighted by alpha for positives (alpha < 0 disables).
 */
export function sigmoidFocalLoss(inputs: Tensor, targets: Tensor, opts: { alpha?: number; gamma?: number; reduction?: Reduction } = {}): Tensor {
  const fn = 'sigmoidFocalLoss';
  const o = options(fn, opts, { alpha: C.num, gamma: C.num, reduction: REDUCTION });
  ten(fn, 'inputs', inputs);
  ten(fn, 'targets', targets);
  const alpha = o.alpha ?? 0.25;
  const gamma = o.gamma ?? 2;
  const r = o.reduction ?? 'none';
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
    return r === 'none' ? loss : r === 'mean' ? loss.mean() : loss.sum();
  });
}
