/**
 * Fuzz cases that call into the binding through the public torch API (src/torch): each case
 * draws its arguments from its own seeded generator (see common.ts), logs a description of
 * the call (written before the call, so a native crash leaves it behind), then makes the call
 * inside a tidy scope. Receivers are real (possibly disposed) tensors; argument positions also
 * get wrong kinds (strings, objects, undefined, arrays where tensors are expected).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { DTYPES, FLOAT_DTYPES, HUGE, ODD_NUMBERS, Rng, WRONG_KINDS, dimArg, scalar, shape, show, sizeArg, smallDim } from './common';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

export interface CallContext {
  /** Device of the generated tensors: 'cpu' or 'cuda'. */
  device: string;
  /** Records what the case is about to call (written to the progress log before the call). */
  note(desc: string): void;
  /** A scratch folder for files. */
  tmpDir: string;
}

export type CallCase = (r: Rng, c: CallContext) => void;

const isCuda = (c: CallContext): boolean => c.device.startsWith('cuda');

/** A valid tensor of this shape/dtype on the case's device; floats sometimes hold NaN/inf. */
function make(r: Rng, c: CallContext, s: number[], dtype: string): Tensor {
  const opts = { dtype: dtype as Any, device: c.device as Any };
  if (dtype === 'bool') return torch.randint(0, 2, s, { device: c.device as Any }).to('bool');
  if (!torch.isFloatingPoint(dtype as Any)) return torch.randint(0, 5, s, opts);
  if (r.bool(0.08)) return torch.full(s, r.pick([NaN, Infinity, -Infinity, 1e30]), opts);
  return torch.randn(s, { device: c.device as Any }).to(dtype as Any);
}

function describeT(x: unknown): string {
  if (x instanceof torch.Tensor) {
    if (x.isDisposed) return 'disposed';
    return `T[${x.shape.join(',')}]${x.dtype}`;
  }
  if (Array.isArray(x) && x.some((v) => v instanceof torch.Tensor)) return `[${x.map(describeT).join(', ')}]`;
  return show(x);
}

interface TOpts {
  shape?: number[];
  rank?: number;
  dtype?: string;
  /** Probability of a disposed tensor / a wrong kind instead of a tensor. */
  bad?: number;
}

/** A tensor argument: usually a valid tensor, sometimes disposed, sometimes a wrong kind. */
function T(r: Rng, c: CallContext, o: TOpts = {}): Tensor {
  const bad = o.bad ?? 0.1;
  const u = r.next();
  if (u < bad / 2) {
    const t = make(r, c, [2], 'float32');
    t.dispose();
    return t;
  }
  if (u < bad) return r.pick(WRONG_KINDS) as Tensor;
  const s = o.shape ?? shape(r, o.rank ?? r.int(0, 4), 0);
  const dtype = o.dtype ?? (r.bool(0.6) ? 'float32' : r.pick(DTYPES));
  return make(r, c, s, dtype);
}

/** A receiver tensor (a method is called on it): valid, rarely disposed. */
function R(r: Rng, c: CallContext, o: TOpts = {}): Tensor {
  if (r.bool(0.04)) {
    const t = make(r, c, [2], 'float32');
    t.dispose();
    return t;
  }
  return T(r, c, { ...o, bad: 0 });
}

/** Shape argument: mostly small, sometimes with huge, negative, -1, fractional or wrong-kind entries. */
function shapeArg(r: Rng, rank = r.int(0, 4)): Any {
  if (r.bool(0.04)) return r.pick(WRONG_KINDS);
  const s: unknown[] = shape(r, rank, 0.05);
  if (r.bool(0.1) && s.length) s[r.int(0, s.length - 1)] = r.pick([-1, -2, 1.5, NaN, Infinity, '2', null]);
  return s;
}

function dtypeArg(r: Rng): Any {
  const u = r.next();
  if (u < 0.85) return r.pick(DTYPES);
  if (u < 0.95) return r.pick(['float128', 'complex64', 'Float', '', 'int']);
  return r.pick(WRONG_KINDS);
}

function deviceArg(r: Rng, c: CallContext): Any {
  const u = r.next();
  if (u < 0.8) return c.device;
  if (u < 0.9) return r.pick(['cuda', 'cuda:0', 'cuda:1', 'cuda:99', 'cpu:0']);
  return r.pick(['tpu', 'gpu', 'cuda:-1', 'cuda:x', '', 'CUDA', 'mps', 5, null, {}]);
}

function optsArg(r: Rng, c: CallContext): Any {
  if (r.bool(0.05)) return r.pick(WRONG_KINDS);
  const o: Record<string, unknown> = {};
  if (r.bool(0.6)) o.dtype = dtypeArg(r);
  if (r.bool(0.6)) o.device = deviceArg(r, c);
  else o.device = c.device;
  return o;
}

/** Deletes the last tensor handle safely (results are freed by the surrounding tidy scope). */
function call(c: CallContext, desc: string, fn: () => unknown): void {
  c.note(desc);
  fn();
}

// ---------------------------------------------------------------- creation
const creation: CallCase[] = [
  (r, c) => {
    const f = r.pick(['zeros', 'ones', 'empty', 'rand', 'randn'] as const);
    const s = shapeArg(r);
    const o = optsArg(r, c);
    call(c, `torch.${f}(${show(s)}, ${show(o)})`, () => (torch as Any)[f](s, o));
  },
  (r, c) => {
    const s = shapeArg(r);
    const v = scalar(r);
    const o = optsArg(r, c);
    call(c, `torch.full(${show(s)}, ${show(v)}, ${show(o)})`, () => torch.full(s, v as Any, o));
  },
  (r, c) => {
    const a = r.bool(0.8) ? r.int(-5, 5) : r.pick([...ODD_NUMBERS, ...HUGE]);
    const b = r.bool(0.8) ? r.int(-5, 20) : r.pick([...ODD_NUMBERS, ...HUGE]);
    const st = r.bool(0.8) ? r.pick([1, 2, 0.5, -1]) : r.pick([0, ...ODD_NUMBERS, 1e-300]);
    const o = optsArg(r, c);
    call(c, `torch.arange(${show(a)}, ${show(b)}, ${show(st)}, ${show(o)})`, () => torch.arange(a, b, st, o));
  },
  (r, c) => {
    const steps = sizeArg(r, 0, 20);
    const o = optsArg(r, c);
    const a = scalar(r);
    call(c, `torch.linspace(${show(a)}, 1, ${show(steps)}, ${show(o)})`, () => torch.linspace(a as Any, 1, steps as Any, o));
  },
  (r, c) => {
    const n = sizeArg(r, 0, 8);
    const m = r.bool() ? undefined : sizeArg(r, 0, 8);
    const o = optsArg(r, c);
    call(c, `torch.eye(${show(n)}, ${show(m)}, ${show(o)})`, () => torch.eye(n as Any, m as Any, o));
  },
  (r, c) => {
    const lo = r.bool(0.8) ? r.int(-3, 3) : r.pick([...ODD_NUMBERS, ...HUGE]);
    const hi = r.bool(0.8) ? r.int(-3, 10) : r.pick([...ODD_NUMBERS, ...HUGE]);
    const s = shapeArg(r);
    const o = optsArg(r, c);
    call(c, `torch.randint(${show(lo)}, ${show(hi)}, ${show(s)}, ${show(o)})`, () => torch.randint(lo, hi, s, o));
  },
  (r, c) => {
    const n = sizeArg(r, 0, 20);
    const o = optsArg(r, c);
    call(c, `torch.randperm(${show(n)}, ${show(o)})`, () => torch.randperm(n as Any, o));
  },
  (r, c) => {
    const gen = (d: number): unknown => (d === 0 ? (r.bool(0.9) ? scalar(r) : r.pick(WRONG_KINDS)) : Array.from({ length: r.bool(0.1) ? 0 : r.int(1, 3) }, () => gen(r.bool(0.1) ? d - 1 : d - 1 + (r.bool(0.05) ? 0 : 0))));
    let data: unknown = gen(r.int(0, 3));
    if (r.bool(0.15) && Array.isArray(data)) data = [...data, [1, [2]]]; // ragged
    const o = r.bool() ? optsArg(r, c) : { ...optsArg(r, c), shape: shapeArg(r) };
    call(c, `torch.tensor(${show(data)}, ${show(o)})`, () => torch.tensor(data as Any, o));
  },
  (r, c) => {
    const kinds = [Float32Array, Float64Array, Int32Array, Int16Array, Int8Array, Uint8Array, Uint16Array, Uint32Array, Float64Array];
    const K = r.pick(kinds);
    const n = r.int(0, 12);
    const arr = new K(n);
    const s = r.bool(0.5) ? [n] : shapeArg(r);
    const o = optsArg(r, c);
    if (r.bool(0.5)) call(c, `torch.fromTypedArray(${K.name}(${n}), ${show(s)}, ${show(o)})`, () => torch.fromTypedArray(arr as Any, s, o));
    else {
      const dt = dtypeArg(r);
      const buf = r.bool(0.8) ? new Uint8Array(r.int(0, 64)) : r.pick(WRONG_KINDS);
      call(c, `torch.fromBytes(bytes(${show((buf as Uint8Array)?.length)}), ${show(dt)}, ${show(s)})`, () => torch.fromBytes(buf as Any, dt, s));
    }
  },
  (r, c) => {
    const v = scalar(r);
    const o = optsArg(r, c);
    call(c, `torch.scalarTensor(${show(v)}, ${show(o)})`, () => torch.scalarTensor(v as Any, o));
  },
  (r, c) => {
    const t = T(r, c);
    const f = r.pick(['zerosLike', 'onesLike', 'emptyLike', 'randLike', 'randnLike', 'fullLike'] as const);
    const v = scalar(r);
    const o = r.bool() ? {} : optsArg(r, c);
    call(c, `torch.${f}(${describeT(t)}, ${f === 'fullLike' ? show(v) + ', ' : ''}${show(o)})`, () => (f === 'fullLike' ? torch.fullLike(t, v as Any, o) : (torch as Any)[f](t, o)));
  },
];

// ---------------------------------------------------------------- elementwise
const BINARY = ['add', 'sub', 'mul', 'div', 'remainder', 'pow', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
const BINARY_T = ['maximum', 'minimum', 'logicalAnd', 'logicalOr', 'logicalXor', 'bitwiseAnd', 'bitwiseOr'] as const;
const UNARY = ['neg', 'abs', 'sqrt', 'rsqrt', 'exp', 'log', 'sigmoid', 'tanh', 'sin', 'cos', 'floor', 'ceil', 'round', 'trunc', 'sign', 'reciprocal', 'square', 'relu', 'logicalNot', 'isnan', 'isfinite'] as const;

/** A second operand broadcastable with `a` (often), or any tensor. */
function operand(r: Rng, c: CallContext, a: Tensor): Tensor {
  if (!(a instanceof torch.Tensor) || a.isDisposed || r.bool(0.3)) return T(r, c);
  const s = a.shape.map((d) => (r.bool(0.3) ? 1 : d)).slice(r.int(0, Math.min(1, a.shape.length)));
  return T(r, c, { shape: s });
}

const elementwise: CallCase[] = [
  (r, c) => {
    const a = R(r, c);
    const f = r.pick(BINARY);
    const b = r.bool(0.6) ? operand(r, c, a) : (scalar(r) as Any);
    const o = f === 'add' || f === 'sub' ? (r.bool(0.7) ? {} : { alpha: scalar(r) }) : f === 'div' ? (r.bool(0.7) ? {} : { roundingMode: r.pick(['trunc', 'floor', 'up', 3]) }) : undefined;
    call(c, `${describeT(a)}.${f}(${describeT(b)}, ${show(o)})`, () => (a as Any)[f](b, o));
  },
  (r, c) => {
    const a = R(r, c);
    const f = r.pick(BINARY_T);
    const b = operand(r, c, a);
    call(c, `${describeT(a)}.${f}(${describeT(b)})`, () => (a as Any)[f](b));
  },
  (r, c) => {
    const a = R(r, c);
    const f = r.pick(UNARY);
    call(c, `${describeT(a)}.${f}()`, () => (a as Any)[f]());
  },
  (r, c) => {
    const a = R(r, c);
    const lim = (): unknown => (r.bool(0.3) ? undefined : r.bool(0.7) ? scalar(r) : operand(r, c, a));
    const o = { min: lim(), max: lim() };
    call(c, `${describeT(a)}.clamp({min: ${describeT(o.min)}, max: ${describeT(o.max)}})`, () => a.clamp(o as Any));
  },
  (r, c) => {
    const cond = T(r, c, { dtype: r.bool(0.8) ? 'bool' : undefined });
    const x = r.bool(0.7) ? operand(r, c, cond) : (scalar(r) as Any);
    const y = r.bool(0.7) ? operand(r, c, cond) : (scalar(r) as Any);
    call(c, `torch.where(${describeT(cond)}, ${describeT(x)}, ${describeT(y)})`, () => torch.where(cond, x, y));
  },
  (r, c) => {
    const a = R(r, c);
    const v = r.bool(0.7) ? scalar(r) : T(r, c, { rank: 0 });
    const m = operand(r, c, a);
    call(c, `${describeT(a)}.maskedFill(${describeT(m)}, ${describeT(v)})`, () => a.maskedFill(m, v as Any));
  },
];

// ---------------------------------------------------------------- reductions
const reduction: CallCase[] = [
  (r, c) => {
    const a = R(r, c);
    const f = r.pick(['sum', 'mean', 'std', 'var', 'amax', 'amin', 'norm'] as const);
    const o: Record<string, unknown> = {};
    if (r.bool(0.6)) o.dim = r.bool(0.8) ? dimArg(r, a.isDisposed ? 1 : a.dim()) : [dimArg(r, 2), dimArg(r, 2)];
    if (r.bool(0.3)) o.keepdim = r.bool(0.9) ? r.bool() : 'yes';
    if (f === 'sum' && r.bool(0.2)) o.dtype = dtypeArg(r);
    if (f === 'norm' && r.bool(0.5)) o.p = r.pick([1, 2, 0, Infinity, -Infinity, NaN, -1, 'fro']);
    if ((f === 'std' || f === 'var') && r.bool(0.3)) o.unbiased = r.bool();
    call(c, `${describeT(a)}.${f}(${show(o)})`, () => (a as Any)[f](o));
  },
  (r, c) => {
    const a = R(r, c);
    const f = r.pick(['max', 'min', 'argmax', 'argmin', 'prod', 'all', 'any', 'cumsum', 'cumprod', 'logsumexp'] as const);
    const d = dimArg(r, a.isDisposed ? 1 : a.dim());
    const o = r.bool(0.3) && f !== 'cumsum' && f !== 'cumprod' && f !== 'logsumexp' ? undefined : { dim: d, keepdim: r.bool() };
    if (f === 'cumsum' || f === 'cumprod') call(c, `${describeT(a)}.${f}(${show(d)})`, () => (a as Any)[f](d));
    else call(c, `${describeT(a)}.${f}(${show(o)})`, () => (a as Any)[f](o));
  },
  (r, c) => {
    const a = R(r, c);
    const f = r.pick(['sort', 'argsort', 'topk', 'unique'] as const);
    const d = dimArg(r, a.isDisposed ? 1 : a.dim());
    if (f === 'topk') {
      const k = sizeArg(r, 0, 4);
      call(c, `${describeT(a)}.topk(${show(k)}, {dim: ${show(d)}})`, () => a.topk(k as Any, { dim: d as Any, largest: r.bool() }));
    } else if (f === 'unique') {
      const o = { sorted: r.bool(), returnInverse: r.bool(), returnCounts: r.bool(), dim: r.bool() ? undefined : d };
      call(c, `${describeT(a)}.unique(${show(o)})`, () => a.unique(o as Any));
    } else {
      const o = { dim: d, descending: r.bool(), stable: r.bool() };
      call(c, `${describeT(a)}.${f}(${show(o)})`, () => (a as Any)[f](o));
    }
  },
];

// ---------------------------------------------------------------- matmul
const EINSUM = ['ij,jk->ik', 'bij,bjk->bik', 'ii->i', 'i,i->', 'ij->ji', '...ij,...jk->...ik', 'ij,jk', 'ab->abc', '', '->', 'i,j->ij', 'iJ', 'ij,jk->ik,', 'ij->ij->ij'];
const matmul: CallCase[] = [
  (r, c) => {
    const n = smallDim(r), k = smallDim(r), m = smallDim(r), b = smallDim(r);
    const f = r.pick(['matmul', 'mm', 'bmm'] as const);
    const dt = r.bool(0.8) ? r.pick(FLOAT_DTYPES) : r.pick(DTYPES);
    const sa = r.bool(0.7) ? (f === 'bmm' ? [b, n, k] : r.pick([[n, k], [b, n, k], [k]])) : shape(r, r.int(0, 4), 0.05);
    const sb = r.bool(0.7) ? (f === 'bmm' ? [b, k, m] : r.pick([[k, m], [b, k, m], [k]])) : shape(r, r.int(0, 4), 0.05);
    const x = R(r, c, { shape: sa.some((d: number) => d > 64) ? [2] : sa, dtype: dt });
    // a huge second operand cannot be materialised; expand a small one to it instead (a view)
    const y0 = T(r, c, { shape: sb.map((d: number) => (d > 64 ? 1 : d)), dtype: r.bool(0.9) ? dt : undefined });
    const y = y0 instanceof torch.Tensor && !y0.isDisposed && sb.some((d: number) => d > 64) ? y0.expand(sb) : y0;
    call(c, `${describeT(x)}.${f}(${describeT(y)})`, () => (x as Any)[f](y));
  },
  (r, c) => {
    const eq = r.pick(EINSUM);
    const ops = Array.from({ length: r.int(0, 3) }, () => T(r, c, { rank: r.int(0, 3), dtype: r.bool(0.9) ? 'float32' : undefined }));
    call(c, `torch.einsum(${show(eq)}, ${describeT(ops)})`, () => torch.einsum(eq, ops));
  },
];

// ---------------------------------------------------------------- nn
function pair(r: Rng, lo = 1, hi = 3): Any {
  if (r.bool(0.7)) return sizeArg(r, lo, hi);
  return [sizeArg(r, lo, hi), sizeArg(r, lo, hi)];
}
function image(r: Rng, c: CallContext, o: TOpts = {}): Tensor {
  const s = r.bool(0.85) ? [smallDim(r), smallDim(r), r.int(0, 9), r.int(0, 9)] : shape(r, r.int(0, 5), 0);
  return T(r, c, { shape: s, dtype: r.bool(0.85) ? 'float32' : r.pick(DTYPES), ...o });
}
const REDUCTIONS = ['none', 'mean', 'sum', 'avg', 3];

const nn: CallCase[] = [
  (r, c) => {
    const x = image(r, c);
    const cin = x instanceof torch.Tensor && !x.isDisposed && x.dim() > 1 ? x.size(1) : 3;
    const groups = r.bool(0.8) ? 1 : sizeArg(r, 1, 3);
    const cout = r.int(0, 4);
    const w = T(r, c, { shape: r.bool(0.8) ? [cout, Math.max(1, Math.floor(cin / (typeof groups === 'number' && groups > 0 ? groups : 1))), r.int(1, 3), r.int(1, 3)] : shape(r, r.int(0, 5), 0), dtype: r.bool(0.9) ? 'float32' : undefined });
    const b = r.bool(0.5) ? null : T(r, c, { shape: [r.bool(0.8) ? cout : r.int(0, 5)] });
    const o: Record<string, unknown> = {};
    if (r.bool(0.4)) o.stride = pair(r);
    if (r.bool(0.4)) o.padding = r.bool(0.9) ? pair(r, 0, 2) : r.pick(['same', 'valid', 'full']);
    if (r.bool(0.3)) o.dilation = pair(r);
    if (r.bool(0.3)) o.groups = groups;
    const f = r.pick(['conv2d', 'conv2d', 'convTranspose2d'] as const);
    if (f === 'convTranspose2d' && r.bool(0.3)) o.outputPadding = pair(r, 0, 2);
    // issue 14 item 8: the options object in the bias position
    const misplaced = r.bool(0.05);
    call(c, `F.${f}(${describeT(x)}, ${describeT(w)}, ${misplaced ? show(o) : `${describeT(b)}, ${show(o)}`})`, () => (misplaced ? (torch.F as Any)[f](x, w, o) : (torch.F as Any)[f](x, w, b, o)));
  },
  (r, c) => {
    const k = smallDim(r);
    const x = T(r, c, { shape: r.bool(0.8) ? [smallDim(r), k] : shape(r, r.int(0, 4), 0) });
    const w = T(r, c, { shape: r.bool(0.8) ? [smallDim(r), k] : shape(r, r.int(0, 3), 0) });
    const b = r.bool(0.5) ? null : r.bool(0.9) ? T(r, c, { rank: 1 }) : ({ bias: 5 } as Any);
    call(c, `F.linear(${describeT(x)}, ${describeT(w)}, ${describeT(b)})`, () => torch.F.linear(x, w, b));
  },
  (r, c) => {
    const x = image(r, c);
    const f = r.pick(['maxPool2d', 'maxPool2dWithIndices', 'avgPool2d'] as const);
    const k = pair(r, 1, 3);
    const o: Record<string, unknown> = {};
    if (r.bool(0.4)) o.stride = pair(r);
    if (r.bool(0.4)) o.padding = pair(r, 0, 2);
    if (r.bool(0.3)) o.ceilMode = r.bool();
    if (f !== 'avgPool2d' && r.bool(0.2)) o.dilation = pair(r);
    if (f === 'avgPool2d' && r.bool(0.2)) o.divisorOverride = sizeArg(r, 0, 3);
    call(c, `F.${f}(${describeT(x)}, ${show(k)}, ${show(o)})`, () => (torch.F as Any)[f](x, k, o));
  },
  (r, c) => {
    const x = image(r, c);
    const f = r.pick(['adaptiveAvgPool2d', 'adaptiveMaxPool2d'] as const);
    const s = pair(r, 0, 4);
    call(c, `F.${f}(${describeT(x)}, ${show(s)})`, () => (torch.F as Any)[f](x, s));
  },
  (r, c) => {
    const x = image(r, c);
    const o: Record<string, unknown> = {};
    if (r.bool(0.5)) o.size = pair(r, 0, 12);
    else o.scaleFactor = r.bool(0.8) ? r.pick([0.5, 1, 2, 3, 1.7]) : r.pick([0, -1, NaN, Infinity, 1e300, 2 ** 40, [2, 2], 'x']);
    if (r.bool(0.1)) o.size = o.size ?? 4;
    o.mode = r.bool(0.9) ? r.pick(['nearest', 'bilinear']) : r.pick(['bicubic', 'area', 'x', 1]);
    if (r.bool(0.3)) o.alignCorners = r.bool();
    call(c, `F.interpolate(${describeT(x)}, ${show(o)})`, () => torch.F.interpolate(x, o as Any));
  },
  (r, c) => {
    const x = image(r, c);
    const ch = x instanceof torch.Tensor && !x.isDisposed && x.dim() > 1 ? x.size(1) : 3;
    const f = r.pick(['batchNorm', 'groupNorm', 'layerNorm'] as const);
    const vec = (): Tensor | null => (r.bool(0.3) ? null : T(r, c, { shape: [r.bool(0.85) ? ch : r.int(0, 5)], dtype: 'float32' }));
    if (f === 'batchNorm') {
      const o = { weight: vec(), bias: vec(), training: r.bool(), momentum: r.bool(0.8) ? 0.1 : scalar(r), eps: r.bool(0.8) ? 1e-5 : scalar(r) };
      const m = vec(), v = vec();
      call(c, `F.batchNorm(${describeT(x)}, ${describeT(m)}, ${describeT(v)}, ${show({ ...o, weight: describeT(o.weight), bias: describeT(o.bias) })})`, () => torch.F.batchNorm(x, m, v, o as Any));
    } else if (f === 'groupNorm') {
      const g = sizeArg(r, 1, 3);
      const o = { weight: vec(), bias: vec(), eps: r.bool(0.8) ? 1e-5 : scalar(r) };
      call(c, `F.groupNorm(${describeT(x)}, ${show(g)}, ...)`, () => torch.F.groupNorm(x, g as Any, o as Any));
    } else {
      const ns = r.bool(0.7) && x instanceof torch.Tensor && !x.isDisposed ? x.shape.slice(-r.int(1, Math.max(1, x.dim()))) : shapeArg(r, r.int(0, 2));
      call(c, `F.layerNorm(${describeT(x)}, ${show(ns)})`, () => torch.F.layerNorm(x, ns as Any));
    }
  },
  (r, c) => {
    const x = T(r, c);
    const f = r.pick(['softmax', 'logSoftmax', 'relu', 'gelu', 'silu', 'hardswish', 'hardsigmoid', 'elu', 'leakyRelu', 'dropout', 'oneHot', 'pixelShuffle'] as const);
    const d = dimArg(r, x instanceof torch.Tensor && !x.isDisposed ? x.dim() : 2);
    const arg = f === 'softmax' || f === 'logSoftmax' ? d : f === 'dropout' ? { p: r.bool(0.7) ? 0.5 : scalar(r), training: r.bool() } : f === 'oneHot' ? (r.bool(0.5) ? -1 : sizeArg(r, 0, 6)) : f === 'pixelShuffle' ? sizeArg(r, 1, 3) : f === 'gelu' ? { approximate: r.pick(['none', 'tanh', 'x']) } : scalar(r);
    call(c, `F.${f}(${describeT(x)}, ${show(arg)})`, () => (torch.F as Any)[f](x, arg));
  },
  (r, c) => {
    const n = smallDim(r), k = r.int(1, 5);
    const f = r.pick(['crossEntropy', 'nllLoss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'smoothL1Loss', 'l1Loss', 'mseLoss', 'sigmoidFocalLoss'] as const);
    const cls = f === 'crossEntropy' || f === 'nllLoss';
    const input = T(r, c, { shape: r.bool(0.85) ? [n, k] : shape(r, r.int(0, 3), 0), dtype: r.bool(0.9) ? 'float32' : undefined });
    const target = cls ? T(r, c, { shape: r.bool(0.85) ? [n] : shape(r, r.int(0, 2), 0), dtype: r.bool(0.85) ? 'int64' : undefined }) : T(r, c, { shape: r.bool(0.85) ? [n, k] : shape(r, r.int(0, 3), 0), dtype: r.bool(0.9) ? 'float32' : undefined });
    const o: Record<string, unknown> = {};
    if (r.bool(0.3)) o.reduction = r.pick(REDUCTIONS);
    if (cls && r.bool(0.3)) o.ignoreIndex = r.pick([-100, 0, 1, NaN, 2 ** 40]);
    if (f === 'crossEntropy' && r.bool(0.2)) o.labelSmoothing = scalar(r);
    if (r.bool(0.2)) o.weight = T(r, c, { rank: 1 });
    if (f === 'smoothL1Loss' && r.bool(0.3)) o.beta = scalar(r);
    call(c, `F.${f}(${describeT(input)}, ${describeT(target)}, ${show({ ...o, weight: describeT(o.weight) })})`, () => (torch.F as Any)[f](input, target, o));
  },
  (r, c) => {
    const x = image(r, c);
    const p = r.bool(0.1) ? r.pick(WRONG_KINDS) : Array.from({ length: r.pick([2, 4, 4, 3, 6, 0]) }, () => (r.bool(0.9) ? r.int(-2, 3) : r.pick([...HUGE, NaN, -(2 ** 40)])));
    const o = { mode: r.bool(0.8) ? r.pick(['constant', 'reflect', 'replicate']) : r.pick(['circular', 'x']), value: r.bool(0.8) ? 0 : scalar(r) };
    call(c, `F.pad(${describeT(x)}, ${show(p)}, ${show(o)})`, () => torch.F.pad(x, p as Any, o as Any));
  },
  (r, c) => {
    const x = image(r, c);
    const n = x instanceof torch.Tensor && !x.isDisposed && x.dim() > 0 ? x.size(0) : 1;
    const grid = T(r, c, { shape: r.bool(0.8) ? [n, r.int(0, 4), r.int(0, 4), 2] : shape(r, r.int(0, 5), 0), dtype: 'float32' });
    const o = { mode: r.pick(['bilinear', 'nearest', 'bicubic', 'x']), paddingMode: r.pick(['zeros', 'border', 'reflection', 'x']), alignCorners: r.bool() };
    call(c, `F.gridSample(${describeT(x)}, ${describeT(grid)}, ${show(o)})`, () => torch.F.gridSample(x, grid, o as Any));
  },
];

// ---------------------------------------------------------------- shape / indexing
function indexT(r: Rng, c: CallContext, n: number, s: number[]): Tensor {
  // on CUDA an out-of-range index is a device-side assert that poisons the context; keep them in range there
  const hi = isCuda(c) ? Math.max(0, n - 1) : n + 1;
  const lo = isCuda(c) ? 0 : -n - 1;
  const dt = r.bool(0.85) ? 'int64' : r.pick(DTYPES);
  if (n === 0 && isCuda(c)) return torch.zeros(s.map(() => 0), { dtype: 'int64', device: c.device as Any });
  const t = torch.randint(lo, hi + 1, s, { dtype: 'int64', device: c.device as Any });
  return dt === 'int64' ? t : t.to(dt as Any);
}

const shapeOps: CallCase[] = [
  (r, c) => {
    const a = R(r, c);
    const f = r.pick(['view', 'reshape', 'permute', 'expand', 'repeat'] as const);
    const n = a.isDisposed ? 1 : a.dim();
    let s: Any;
    if (f === 'permute') s = r.bool(0.7) ? Array.from({ length: n }, (_, i) => i).sort(() => r.next() - 0.5) : shapeArg(r, r.int(0, 4));
    else if (f === 'repeat') s = r.bool(0.8) ? Array.from({ length: n + r.int(0, 1) }, () => r.int(0, 3)) : shapeArg(r, r.int(0, 4));
    else if (r.bool(0.5) && !a.isDisposed) {
      s = [...a.shape];
      if (s.length) s[r.int(0, s.length - 1)] = r.pick([-1, -1, 1, 0, 2 ** 40, -2]);
      if (f === 'view' && r.bool(0.3)) s = [a.numel()];
    } else s = shapeArg(r);
    call(c, `${describeT(a)}.${f}(${show(s)})`, () => (a as Any)[f](s));
  },
  (r, c) => {
    const a = R(r, c);
    const n = a.isDisposed ? 1 : a.dim();
    const f = r.pick(['transpose', 'squeeze', 'unsqueeze', 'flip', 'flatten', 'unflatten', 'select', 'narrow', 'slice', 'split', 'chunk', 'unbind', 'repeatInterleave', 'contiguous', 't'] as const);
    const d = dimArg(r, f === 'unsqueeze' ? n + 1 : n);
    const d2 = dimArg(r, n);
    const i = r.bool(0.8) ? r.int(-3, 4) : r.pick([...ODD_NUMBERS, ...HUGE]);
    const j = r.bool(0.8) ? r.int(-3, 4) : r.pick([...ODD_NUMBERS, ...HUGE]);
    const args: unknown[] = {
      transpose: [d, d2], squeeze: r.bool() ? [] : [d], unsqueeze: [d], flip: [r.bool() ? d : [d, d2]], flatten: [d, d2],
      unflatten: [d, r.bool(0.7) ? [r.int(1, 3), -1] : shapeArg(r, 2)], select: [d, i], narrow: [d, i, j], slice: [d, i, j, r.bool(0.8) ? 1 : sizeArg(r, 0, 3)],
      split: [r.bool(0.7) ? sizeArg(r, 0, 3) : [r.int(0, 3), r.int(0, 3)], d], chunk: [sizeArg(r, 0, 3), d], unbind: [d],
      repeatInterleave: [sizeArg(r, 0, 3), r.bool() ? undefined : d], contiguous: [], t: [],
    }[f];
    call(c, `${describeT(a)}.${f}(${args.map(show).join(', ')})`, () => (a as Any)[f](...args));
  },
  (r, c) => {
    const f = r.pick(['cat', 'stack'] as const);
    const base = shape(r, r.int(0, 3), 0);
    const ts = Array.from({ length: r.int(0, 4) }, () => T(r, c, { shape: r.bool(0.7) ? base.map((v, k) => (f === 'cat' && k === 0 ? r.int(0, 3) : v)) : shape(r, r.int(0, 3), 0), dtype: r.bool(0.8) ? 'float32' : undefined, bad: 0.06 }));
    const d = dimArg(r, base.length + (f === 'stack' ? 1 : 0));
    const arg = r.bool(0.05) ? r.pick(WRONG_KINDS) : ts;
    call(c, `torch.${f}(${describeT(arg)}, ${show(d)})`, () => (torch as Any)[f](arg, d));
  },
  (r, c) => {
    const a = R(r, c, { rank: r.int(1, 3) });
    const n = a.isDisposed ? 1 : a.dim();
    const d = r.bool(0.85) ? r.int(0, Math.max(0, n - 1)) : dimArg(r, n);
    const size = a.isDisposed || typeof d !== 'number' || d >= n || d < -n ? 2 : a.size(d);
    const f = r.pick(['indexSelect', 'gather', 'scatter', 'scatterAdd'] as const);
    const idx = r.bool(0.08) ? (r.pick(WRONG_KINDS) as Tensor) : indexT(r, c, size, f === 'indexSelect' ? [r.int(0, 4)] : a.isDisposed ? [2] : a.shape.map((s) => (r.bool(0.8) ? Math.min(s, r.int(0, 3)) : r.int(0, 4))));
    if (f === 'indexSelect' || f === 'gather') call(c, `${describeT(a)}.${f}(${show(d)}, ${describeT(idx)})`, () => (a as Any)[f](d, idx));
    else {
      const src = f === 'scatter' && r.bool(0.5) ? (scalar(r) as Any) : T(r, c, { shape: idx instanceof torch.Tensor ? idx.shape : [2], dtype: a.isDisposed ? 'float32' : a.dtype });
      call(c, `${describeT(a)}.${f}(${show(d)}, ${describeT(idx)}, ${describeT(src)})`, () => (a as Any)[f](d, idx, src));
    }
  },
  (r, c) => {
    const a = R(r, c, { rank: r.int(1, 3) });
    const f = r.pick(['index', 'indexPut', 'maskedSelect', 'nonzero'] as const);
    if (f === 'nonzero') return call(c, `${describeT(a)}.nonzero()`, () => a.nonzero());
    if (f === 'maskedSelect') {
      const m = operand(r, c, a);
      const mm = m instanceof torch.Tensor && !m.isDisposed && r.bool(0.8) ? m.to('bool') : m;
      return call(c, `${describeT(a)}.maskedSelect(${describeT(mm)})`, () => a.maskedSelect(mm));
    }
    const idx = Array.from({ length: r.int(0, 3) }, (_, k) => (r.bool(0.2) ? null : r.bool(0.1) ? (r.pick(WRONG_KINDS) as Tensor) : indexT(r, c, a.isDisposed || k >= a.dim() ? 2 : a.size(k), [r.int(0, 3)])));
    if (f === 'index') call(c, `${describeT(a)}.index(${describeT(idx)})`, () => a.index(idx));
    else {
      const v = T(r, c, { shape: r.bool(0.7) ? [] : shape(r, r.int(0, 2), 0), dtype: a.isDisposed ? 'float32' : a.dtype });
      const acc = r.bool();
      call(c, `${describeT(a)}.indexPut(${describeT(idx)}, ${describeT(v)}, ${acc})`, () => a.indexPut(idx, v, acc));
    }
  },
  (r, c) => {
    const a = R(r, c);
    const size = shapeArg(r, r.int(0, 3));
    const stride = r.bool(0.1) ? r.pick(WRONG_KINDS) : Array.from({ length: Array.isArray(size) ? (r.bool(0.9) ? size.length : r.int(0, 4)) : 2 }, () => (r.bool(0.9) ? r.int(0, 4) : r.pick([-1, ...HUGE, NaN])));
    const off = r.bool(0.6) ? undefined : r.bool(0.7) ? r.int(0, 30) : r.pick([-1, ...HUGE, NaN]);
    call(c, `${describeT(a)}.asStrided(${show(size)}, ${show(stride)}, ${show(off)})`, () => a.asStrided(size, stride as Any, off as Any));
  },
];

// ---------------------------------------------------------------- vision ops
function boxesT(r: Rng, c: CallContext, n: number, cols = 4): Tensor {
  if (r.bool(0.06)) return T(r, c, { bad: 1 });
  if (r.bool(0.08)) return T(r, c, { shape: shape(r, r.int(0, 3), 0) });
  const xy = torch.rand([n, 2], { device: c.device as Any }).mul(r.bool(0.9) ? 8 : r.pick([1e30, NaN, Infinity, -8]));
  const wh = torch.rand([n, 2], { device: c.device as Any }).mul(r.bool(0.9) ? 8 : r.pick([0, -4, 1e30, NaN]));
  const b = torch.cat([xy, xy.add(wh)], 1);
  const dt = r.bool(0.85) ? 'float32' : r.pick(DTYPES);
  if (cols === 5) {
    const bi = r.bool(0.85) ? torch.zeros([n, 1], { device: c.device as Any }) : torch.full([n, 1], r.pick([1, 2, 7, -1, 1e9, NaN, 0.5]), { device: c.device as Any });
    return torch.cat([bi, b], 1).to(dt as Any);
  }
  return b.to(dt as Any);
}

const vision: CallCase[] = [
  (r, c) => {
    const f = r.pick(['roiAlign', 'roiPool'] as const);
    const x = r.bool(0.9) ? T(r, c, { shape: [r.int(0, 2), r.int(0, 3), r.bool(0.2) ? 0 : r.int(1, 8), r.bool(0.2) ? 0 : r.int(1, 8)], dtype: r.bool(0.9) ? 'float32' : undefined, bad: 0.05 }) : T(r, c);
    const k = r.int(0, 4);
    const rois: Any = r.bool(0.8) ? boxesT(r, c, k, 5) : Array.from({ length: r.int(0, 2) }, () => boxesT(r, c, r.int(0, 3), 4));
    const o: Record<string, unknown> = { outputSize: r.bool(0.8) ? r.int(1, 3) : r.pick([0, -1, [2, 2], [0, 1], 1.5, NaN, 'x', undefined]) };
    if (r.bool(0.5)) o.spatialScale = r.bool(0.8) ? r.pick([1, 0.5, 0.25, 0.125]) : r.pick([0, -1, NaN, Infinity, 1e30]);
    if (f === 'roiAlign') {
      if (r.bool(0.5)) o.samplingRatio = r.bool(0.8) ? r.int(-1, 3) : r.pick([NaN, 1.5, 2 ** 40, 1e6]);
      if (r.bool(0.5)) o.aligned = r.bool();
    }
    call(c, `ops.${f}(${describeT(x)}, ${describeT(rois)}, ${show(o)})`, () => (torch.ops as Any)[f](x, rois, o));
  },
  (r, c) => {
    const n = r.int(0, 6);
    const f = r.pick(['nms', 'batchedNms', 'boxIou'] as const);
    const boxes = boxesT(r, c, n);
    if (f === 'boxIou') {
      const b2 = boxesT(r, c, r.int(0, 4));
      return call(c, `ops.boxIou(${describeT(boxes)}, ${describeT(b2)})`, () => torch.ops.boxIou(boxes, b2));
    }
    const scores = T(r, c, { shape: [r.bool(0.85) ? n : r.int(0, 6)], dtype: r.bool(0.85) ? 'float32' : undefined, bad: 0.05 });
    const thr = r.bool(0.8) ? r.pick([0.5, 0.3, 0, 1]) : r.pick([...ODD_NUMBERS, 'x', undefined]);
    if (f === 'nms') return call(c, `ops.nms(${describeT(boxes)}, ${describeT(scores)}, ${show(thr)})`, () => torch.ops.nms(boxes, scores, thr as Any));
    const idxs = r.bool(0.9) ? indexT(r, c, 3, [r.bool(0.85) ? n : r.int(0, 6)]) : T(r, c);
    call(c, `ops.batchedNms(${describeT(boxes)}, ${describeT(scores)}, ${describeT(idxs)}, ${show(thr)})`, () => torch.ops.batchedNms(boxes, scores, idxs, thr as Any));
  },
];

// ---------------------------------------------------------------- serialization
const serialization: CallCase[] = [
  (r, c) => {
    const dict: Record<string, Tensor> = {};
    for (let i = r.int(0, 3); i > 0; i--) dict[r.pick(['w', 'b', 'a.b', '', '__metadata__', 'x'])] = T(r, c, { bad: 0.1 });
    const meta = r.bool(0.8) ? undefined : r.pick([{ a: 'b' }, { a: 1 }, 'x', null] as Any[]);
    call(c, `serializeSafetensors(${describeT(Object.values(dict))}, ${show(meta)})`, () => {
      const bytes = torch.serializeSafetensors(dict, meta);
      const mut = new Uint8Array(bytes);
      // mutate: truncate, flip bytes, rewrite the header length
      const how = r.int(0, 4);
      let buf: Uint8Array = mut;
      if (how === 1) buf = mut.slice(0, r.int(0, mut.length));
      else if (how === 2) for (let i = r.int(1, 8); i > 0 && mut.length; i--) mut[r.int(0, mut.length - 1)] = r.int(0, 255);
      else if (how === 3 && mut.length >= 8) new DataView(mut.buffer).setBigUint64(0, BigInt(r.pick([0, 1, 7, 2 ** 31, 2 ** 53, mut.length])), true);
      else if (how === 4) {
        const hdr = JSON.stringify({ t: { dtype: r.pick(['F32', 'I64', 'XX', 3]), shape: r.pick([[2], [2 ** 40], [-1], 'x', [1.5]]), data_offsets: r.pick([[0, 8], [8, 0], [0, 2 ** 60], [-1, 4], 'x']) } });
        const h = new TextEncoder().encode(hdr);
        buf = new Uint8Array(8 + h.length + 8);
        new DataView(buf.buffer).setBigUint64(0, BigInt(h.length), true);
        buf.set(h, 8);
      }
      c.note(`deserializeSafetensors(mutation ${how}, ${buf.length} bytes)`);
      const st = torch.deserializeSafetensors(buf, 'fuzz.safetensors') as Any;
      for (const t of Object.values(st.tensors ?? {})) (t as Tensor).dispose?.();
    });
  },
  (r, c) => {
    const file = path.join(c.tmpDir, `fuzz-${r.int(0, 1e9)}.${r.pick(['pth', 'pt', 'bin'])}`);
    const n = r.int(0, 300);
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = r.int(0, 255);
    if (r.bool(0.5) && n >= 4) bytes.set([0x50, 0x4b, 0x03, 0x04]); // a zip signature, then garbage
    if (r.bool(0.3) && n >= 2) bytes.set([0x80, 0x02]); // a pickle protocol 2 header, then garbage
    fs.writeFileSync(file, bytes);
    try {
      call(c, `loadPth(random ${n} bytes, head ${Array.from(bytes.slice(0, 4)).join(',')})`, () => torch.loadPth(file));
    } finally {
      fs.rmSync(file, { force: true });
    }
  },
];

// ---------------------------------------------------------------- conversion
const convert: CallCase[] = [
  (r, c) => {
    const a = R(r, c);
    const u = r.int(0, 9);
    if (u < 4) {
      const tgt = r.bool(0.5) ? dtypeArg(r) : r.bool(0.5) ? deviceArg(r, c) : { dtype: r.bool() ? dtypeArg(r) : undefined, device: r.bool() ? deviceArg(r, c) : undefined, copy: r.bool() };
      call(c, `${describeT(a)}.to(${show(tgt)})`, () => a.to(tgt));
    } else if (u === 4) {
      const i = r.bool(0.7) ? 0 : r.pick([1, 99, -1, NaN, 'x']);
      call(c, `${describeT(a)}.cuda(${show(i)})`, () => a.cuda(i as Any));
    } else {
      const f = r.pick(['cpu', 'item', 'toTypedArray', 'toArray', 'tolist', 'clone', 'half', 'long', 'bool', 'byte', 'toBuffer', 'detach', 'alias', 'toString', 'isContiguous', 'stride'] as const);
      call(c, `${describeT(a)}.${f}()`, () => (a as Any)[f]());
    }
  },
  (r, c) => {
    const a = R(r, c);
    const b = T(r, c);
    call(c, `${describeT(a)}.typeAs(${describeT(b)})`, () => a.typeAs(b));
  },
];

// ---------------------------------------------------------------- autograd
const autograd: CallCase[] = [
  (r, c) => {
    const x = R(r, c, { dtype: r.bool(0.85) ? r.pick(FLOAT_DTYPES) : r.pick(DTYPES) });
    const rg = r.bool(0.9) ? true : r.pick(WRONG_KINDS);
    c.note(`${describeT(x)}.requiresGrad = ${show(rg)}`);
    (x as Any).requiresGrad = rg;
    const f = r.pick(['sum', 'mul', 'pow', 'relu', 'mean', 'softmax', 'roiAlign', 'conv2d', 'none'] as const);
    let y: Tensor;
    if (f === 'roiAlign') {
      const img = T(r, c, { shape: [1, r.int(1, 2), r.bool(0.1) ? 0 : r.int(1, 5), r.bool(0.1) ? 0 : r.int(1, 5)], dtype: 'float32', bad: 0 });
      img.requiresGrad = true;
      const rois = torch.tensor([[0, 0, 0, r.int(1, 4), r.int(1, 4)]], { device: c.device as Any });
      c.note(`ops.roiAlign(${describeT(img)}, [[0,0,0,..]], {outputSize: 2}).sum().backward()`);
      y = torch.ops.roiAlign(img, rois, { outputSize: 2, aligned: r.bool() }).sum();
    } else if (f === 'conv2d') {
      const img = T(r, c, { shape: [1, 2, r.int(0, 4), r.int(0, 4)], dtype: 'float32', bad: 0 });
      c.note(`F.conv2d(${describeT(img)}, ${describeT(x)})`);
      y = torch.F.conv2d(img, x).sum();
    } else if (f === 'none') y = x;
    else {
      c.note(`${describeT(x)}.${f}()`);
      y = f === 'mul' ? x.mul(x) : f === 'pow' ? x.pow(2) : f === 'softmax' ? x.softmax(-1) : (x as Any)[f]();
    }
    const g = r.bool(0.6) ? undefined : r.bool(0.5) ? T(r, c, { shape: y.isDisposed ? [2] : r.bool(0.7) ? y.shape : shape(r, r.int(0, 3), 0) }) : (r.pick(WRONG_KINDS) as Tensor);
    const o = { retainGraph: r.bool(0.8) ? r.bool() : (r.pick(WRONG_KINDS) as Any), createGraph: r.bool(0.1) };
    call(c, `(${describeT(y)}).backward(${describeT(g)}, ${show(o)})`, () => y.backward(g, o));
    if (r.bool(0.3)) call(c, 'backward() again', () => y.backward(g, o));
    call(c, 'x.grad', () => x.grad?.dispose());
    if (r.bool(0.2)) call(c, 'x.grad = wrong', () => ((x as Any).grad = r.bool() ? T(r, c) : r.pick(WRONG_KINDS)));
  },
];

// ---------------------------------------------------------------- runtime
const runtime: CallCase[] = [
  (r, c) => {
    const u = r.int(0, 5);
    if (u === 0) {
      const s = r.bool(0.5) ? r.int(0, 1e6) : r.pick([...ODD_NUMBERS, ...HUGE, 'x', undefined]);
      call(c, `manualSeed(${show(s)})`, () => torch.manualSeed(s as Any));
    } else if (u === 1) {
      const st = r.bool(0.5) ? torch.getRngState() : T(r, c, { dtype: r.bool() ? 'uint8' : undefined });
      call(c, `setRngState(${describeT(st)})`, () => torch.setRngState(st));
    } else if (u === 2) {
      const d = r.bool(0.5) ? 0 : r.pick([1, -1, 99, NaN, 'x', 2 ** 40]);
      const f = r.pick(['memoryStats', 'memoryAllocated', 'maxMemoryAllocated', 'resetPeakMemoryStats', 'synchronize', 'isAvailable', 'deviceCount'] as const);
      call(c, `cuda.${f}(${show(d)})`, () => (torch.cuda as Any)[f](d));
    } else if (u === 3) {
      const n = r.pick([NaN, -1, 0, 'x', undefined, 2 ** 40, 1.5]);
      call(c, `setNumThreads(${show(n)})`, () => torch.setNumThreads(n as Any));
      torch.setNumThreads(1);
    } else if (u === 4) {
      const v = r.pick([true, false, 'x', undefined, 1]);
      call(c, `setFlushDenormal(${show(v)})`, () => torch.setFlushDenormal(v as Any));
    } else {
      const f = r.pick([() => torch.noGrad(() => r.pick(WRONG_KINDS)), () => torch.setGradEnabled(r.pick([true, false, 'x', undefined]) as Any), () => torch.tidy(r.pick(WRONG_KINDS) as Any), () => torch.keep(r.pick(WRONG_KINDS) as Any), () => torch.dispose(r.pick(WRONG_KINDS) as Any)]);
      call(c, `runtime misc ${f.toString().slice(6, 60)}`, f);
      torch.setGradEnabled(true);
    }
  },
];

/** Binding-call families: each is a list of case generators, one drawn per case. */
export const CALL_FAMILIES: Record<string, CallCase[]> = {
  creation, elementwise, reduction, matmul, nn, shape: shapeOps, vision, serialization, convert, autograd, runtime,
};

/** Default share of the calls per family (the rest are split evenly). */
export const CALL_WEIGHTS: Record<string, number> = {
  creation: 12, elementwise: 14, reduction: 10, matmul: 6, nn: 14, shape: 14, vision: 10, serialization: 4, convert: 7, autograd: 6, runtime: 3,
};

export function tmpDirFor(seed: number): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tsvision-fuzz-${seed}-`));
}
