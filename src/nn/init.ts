/**
 * Weight initializers: PyTorch's torch.nn.init (in place, under noGrad) and the
 * module-level helpers of MMCV (normalInit, xavierInit, caffe2XavierInit, ...)
 * that detection heads call.
 */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import type { Module } from './module';

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

export type FanMode = 'fan_in' | 'fan_out';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain); param is leaky_relu's slope. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: throw new TypeError(`calculateGain: unsupported nonlinearity '${nonlinearity as string}'`);
  }
}

/** fan_in = size(1) × receptive field, fan_out = size(0) × receptive field (PyTorch's convention, also for transposed convs). */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  const shape = t.shape;
  if (shape.length < 2) throw new RangeError(`init: fan in and fan out need a tensor with at least 2 dimensions, got shape [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

function fan(t: Tensor, mode: FanMode): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  if (mode === 'fan_in') return fanIn;
  if (mode === 'fan_out') return fanOut;
  throw new TypeError(`init: mode must be 'fan_in' or 'fan_out', got '${mode as string}'`);
}

const inPlace = (t: Tensor, fn: (t: Tensor) => void): Tensor => {
  torch.noGrad(() => fn(t));
  return t;
};

export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return inPlace(t, (x) => x.uniform_(a, b));
}
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return inPlace(t, (x) => x.normal_(mean, std));
}
export function constant_(t: Tensor, value: number): Tensor {
  return inPlace(t, (x) => x.fill_(value));
}
export function zeros_(t: Tensor): Tensor {
  return inPlace(t, (x) => x.zero_());
}
export function ones_(t: Tensor): Tensor {
  return inPlace(t, (x) => x.fill_(1));
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only). Default 0. */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

/** He initialization, uniform in ±gain·√(3 / fan) (defaults as PyTorch: a 0, fan_in, leaky_relu). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const std = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan(t, opts.mode ?? 'fan_in'));
  const bound = Math.sqrt(3) * std;
  return uniform_(t, -bound, bound);
}

/** He initialization, normal with std gain / √fan. */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const std = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan(t, opts.mode ?? 'fan_in'));
  return normal_(t, 0, std);
}

/** Glorot initialization, uniform in ±gain·√(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const a = Math.sqrt(3) * gain * Math.sqrt(2 / (fanIn + fanOut));
  return uniform_(t, -a, a);
}

/** Glorot initialization, normal with std gain·√(2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

// ---------------------------------------------------------------- MMCV's module helpers

/** The module's `weight` and `bias` (parameters, or buffers as in FrozenBatchNorm2d), either may be null. */
function weightAndBias(m: Module): { weight: Tensor | null; bias: Tensor | null } {
  return {
    weight: m.getParameter('weight') ?? m.getBuffer('weight'),
    bias: m.getParameter('bias') ?? m.getBuffer('bias'),
  };
}

function initBias(m: Module, bias: number): void {
  const b = weightAndBias(m).bias;
  if (b) constant_(b, bias);
}

/** weight ← val, bias ← bias (MMCV constant_init). */
export function constantInit(m: Module, val: number, bias = 0): void {
  const w = weightAndBias(m).weight;
  if (w) constant_(w, val);
  initBias(m, bias);
}

/** weight ~ N(mean, std²), bias ← bias (MMCV normal_init). */
export function normalInit(m: Module, opts: { mean?: number; std?: number; bias?: number } = {}): void {
  const w = weightAndBias(m).weight;
  if (w) normal_(w, opts.mean ?? 0, opts.std ?? 1);
  initBias(m, opts.bias ?? 0);
}

/** weight ~ U(a, b), bias ← bias (MMCV uniform_init). */
export function uniformInit(m: Module, opts: { a?: number; b?: number; bias?: number } = {}): void {
  const w = weightAndBias(m).weight;
  if (w) uniform_(w, opts.a ?? 0, opts.b ?? 1);
  initBias(m, opts.bias ?? 0);
}

/** Xavier weight (normal by default, as MMCV xavier_init), bias ← bias. */
export function xavierInit(m: Module, opts: { gain?: number; bias?: number; distribution?: 'uniform' | 'normal' } = {}): void {
  const w = weightAndBias(m).weight;
  if (w) {
    if ((opts.distribution ?? 'normal') === 'uniform') xavierUniform_(w, opts.gain ?? 1);
    else xavierNormal_(w, opts.gain ?? 1);
  }
  initBias(m, opts.bias ?? 0);
}

/** Kaiming weight with MMCV's defaults (fan_out, relu, normal), bias ← bias. */
export function kaimingInit(m: Module, opts: KaimingOptions & { bias?: number; distribution?: 'uniform' | 'normal' } = {}): void {
  const w = weightAndBias(m).weight;
  if (w) {
    const k = { a: opts.a ?? 0, mode: opts.mode ?? 'fan_out', nonlinearity: opts.nonlinearity ?? 'relu' } as const;
    if ((opts.distribution ?? 'normal') === 'uniform') kaimingUniform_(w, k);
    else kaimingNormal_(w, k);
  }
  initBias(m, opts.bias ?? 0);
}

/** Caffe2's XavierFill, which detection heads (FPN, RetinaNet) use: kaiming_uniform a=1, fan_in, leaky_relu. */
export function caffe2XavierInit(m: Module, bias = 0): void {
  kaimingInit(m, { a: 1, mode: 'fan_in', nonlinearity: 'leaky_relu', bias, distribution: 'uniform' });
}

/** The bias that makes sigmoid(bias) = priorProb (focal-loss heads): −log((1 − p) / p). */
export function biasInitWithProb(priorProb: number): number {
  if (!(priorProb > 0 && priorProb < 1)) throw new RangeError(`biasInitWithProb: priorProb must be in (0, 1), got ${priorProb}`);
  return -Math.log((1 - priorProb) / priorProb);
}
