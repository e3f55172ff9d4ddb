/**
 * Tensor: a handle to a libtorch tensor, with PyTorch's method names camelCased and
 * keyword arguments as options objects (`t.sum({ dim: 1, keepdim: true })`).
 *
 * Memory: a tensor's native memory is released by dispose() (or by the enclosing
 * tidy() scope, or `using`), never by waiting for the garbage collector.
 */
import { native, type NativeHandle, type NativeValue } from './native';
import { callH, callMany, callVoid, op } from './op';
import { DTYPE_SIZE, dtypeCode, dtypeFromCode, isFloatingPoint, type DType, type TypedArray } from './dtype';
import { guardEscaped, releaseHandle } from './release';
import { setEscapeHandler, track } from './scope';
import { argError, boolArg, deviceArg, optTensorArg, optionsArg, tensorArg, tensorListArg } from './args';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type Scalar = number | boolean;
export type Shape = number[];

const O = {
  add: op('aten::add', 'Tensor'), addS: op('aten::add', 'Scalar'),
  add_: op('aten::add_', 'Tensor'), addS_: op('aten::add_', 'Scalar'),
  sub: op('aten::sub', 'Tensor'), subS: op('aten::sub', 'Scalar'),
  sub_: op('aten::sub_', 'Tensor'), subS_: op('aten::sub_', 'Scalar'),
  rsubS: op('aten::rsub', 'Scalar'),
  mul: op('aten::mul', 'Tensor'), mulS: op('aten::mul', 'Scalar'),
  mul_: op('aten::mul_', 'Tensor'), mulS_: op('aten::mul_', 'Scalar'),
  div: op('aten::div', 'Tensor'), divS: op('aten::div', 'Scalar'),
  divMode: op('aten::div', 'Tensor_mode'), divSMode: op('aten::div', 'Scalar_mode'),
  div_: op('aten::div_', 'Tensor'), divS_: op('aten::div_', 'Scalar'),
  remainder: op('aten::remainder', 'Tensor'), remainderS: op('aten::remainder', 'Scalar'),
  pow: op('aten::pow', 'Tensor_Tensor'), powS: op('aten::pow', 'Tensor_Scalar'),
  neg: op('aten::neg'), abs: op('aten::abs'), sqrt: op('aten::sqrt'), rsqrt: op('aten::rsqrt'),
  exp: op('aten::exp'), log: op('aten::log'), log2: op('aten::log2'), log1p: op('aten::log1p'),
  sigmoid: op('aten::sigmoid'), tanh: op('aten::tanh'), sin: op('aten::sin'), cos: op('aten::cos'),
  floor: op('aten::floor'), ceil: op('aten::ceil'), round: op('aten::round'), trunc: op('aten::trunc'),
  sign: op('aten::sign'), reciprocal: op('aten::reciprocal'), square: op('aten::square'),
  relu: op('aten::relu'), relu_: op('aten::relu_'),
  eq: op('aten::eq', 'Tensor'), eqS: op('aten::eq', 'Scalar'),
  ne: op('aten::ne', 'Tensor'), neS: op('aten::ne', 'Scalar'),
  lt: op('aten::lt', 'Tensor'), ltS: op('aten::lt', 'Scalar'),
  le: op('aten::le', 'Tensor'), leS: op('aten::le', 'Scalar'),
  gt: op('aten::gt', 'Tensor'), gtS: op('aten::gt', 'Scalar'),
  ge: op('aten::ge', 'Tensor'), geS: op('aten::ge', 'Scalar'),
  logicalAnd: op('aten::logical_and'), logicalOr: op('aten::logical_or'),
  logicalNot: op('aten::logical_not'), logicalXor: op('aten::logical_xor'),
  bitwiseAnd: op('aten::bitwise_and', 'Tensor'), bitwiseOr: op('aten::bitwise_or', 'Tensor'),
  maximum: op('aten::maximum'), minimum: op('aten::minimum'),
  isnan: op('aten::isnan'), isfinite: op('aten::isfinite'),
  sum: op('aten::sum'), sumDim: op('aten::sum', 'dim_IntList'),
  mean: op('aten::mean'), meanDim: op('aten::mean', 'dim'),
  std: op('aten::std'), stdDim: op('aten::std', 'dim'),
  var: op('aten::var'), varDim: op('aten::var', 'dim'),
  prod: op('aten::prod'), prodDim: op('aten::prod', 'dim_int'),
  all: op('aten::all'), allDim: op('aten::all', 'dim'),
  any: op('aten::any'), anyDim: op('aten::any', 'dim'),
  max: op('aten::max'), maxDim: op('aten::max', 'dim'),
  min: op('aten::min'), minDim: op('aten::min', 'dim'),
  amax: op('aten::amax'), amin: op('aten::amin'),
  argmax: op('aten::argmax'), argmin: op('aten::argmin'),
  norm: op('aten::norm', 'Scalar'), normDim: op('aten::norm', 'ScalarOpt_dim'),
  logsumexp: op('aten::logsumexp'),
  cumsum: op('aten::cumsum'), cumprod: op('aten::cumprod'),
  sort: op('aten::sort', 'stable'), argsort: op('aten::argsort'), topk: op('aten::topk'),
  unique: op('aten::_unique2'), uniqueDim: op('aten::unique_dim'),
  clamp: op('aten::clamp'), clampT: op('aten::clamp', 'Tensor'), clamp_: op('aten::clamp_'),
  view: op('aten::view'), reshape: op('aten::reshape'), flatten: op('aten::flatten', 'using_ints'),
  unflatten: op('aten::unflatten', 'int'),
  permute: op('aten::permute'), transpose: op('aten::transpose', 'int'), t: op('aten::t'),
  contiguous: op('aten::contiguous'), squeeze: op('aten::squeeze'), squeezeDim: op('aten::squeeze', 'dim'),
  unsqueeze: op('aten::unsqueeze'), expand: op('aten::expand'), expandAs: op('aten::expand_as'),
  repeat: op('aten::repeat'), repeatInterleave: op('aten::repeat_interleave', 'self_int'),
  flip: op('aten::flip'), narrow: op('aten::narrow'), slice: op('aten::slice', 'Tensor'),
  select: op('aten::select', 'int'), split: op('aten::split', 'Tensor'),
  splitWithSizes: op('aten::split_with_sizes'), chunk: op('aten::chunk'), unbind: op('aten::unbind', 'int'),
  asStrided: op('aten::as_strided'),
  indexSelect: op('aten::index_select'), gather: op('aten::gather'),
  scatter: op('aten::scatter', 'src'), scatterS: op('aten::scatter', 'value'),
  scatterAdd: op('aten::scatter_add'), scatter_: op('aten::scatter_', 'src'),
  scatterAdd_: op('aten::scatter_add_'), indexAdd_: op('aten::index_add_'),
  maskedFill: op('aten::masked_fill', 'Scalar'), maskedFillT: op('aten::masked_fill', 'Tensor'),
  maskedFill_: op('aten::masked_fill_', 'Scalar'), maskedSelect: op('aten::masked_select'),
  whereT: op('aten::where', 'self'), nonzero: op('aten::nonzero'),
  index: op('aten::index', 'Tensor'), indexPut: op('aten::index_put'), indexPut_: op('aten::index_put_'),
  to: op('aten::to', 'dtype_layout'), clone: op('aten::clone'), detach: op('aten::detach'),
  copy_: op('aten::copy_'), zero_: op('aten::zero_'), fill_: op('aten::fill_', 'Scalar'),
  addcmul_: op('aten::addcmul_'), addcdiv_: op('aten::addcdiv_'), lerp_: op('aten::lerp_', 'Scalar'),
  sqrt_: op('aten::sqrt_'), neg_: op('aten::neg_'), exp_: op('aten::exp_'),
  uniform_: op('aten::uniform_'), normal_: op('aten::normal_'),
  matmul: op('aten::matmul'), mm: op('aten::mm'), bmm: op('aten::bmm'),
  softmax: op('aten::softmax', 'int'), logSoftmax: op('aten::log_softmax', 'int'),
  typeAs: op('aten::type_as'),
};

/** Options of PyTorch's reductions over dimensions. */
export interface ReduceOptions {
  dim?: number | number[];
  keepdim?: boolean;
}

function dims(d: number | number[]): number[] {
  return typeof d === 'number' ? [d] : d;
}

/** Flattens `view(2, 3)` / `view([2, 3])` into one shape array. */
function shapeArgs(args: (number | number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? args[0] : (args as number[]);
}

/** A tensor argument of method `Tensor.<fn>` (a TypeError naming both otherwise). */
function T(fn: string, name: string, v: unknown): NativeHandle {
  return v instanceof Tensor ? v._h : tensorArg(`Tensor.${fn}`, name, v);
}

/** A scalar operand (number or boolean) where a Tensor was not given. */
function S<V>(fn: string, name: string, v: V): V {
  if (typeof v !== 'number' && typeof v !== 'boolean') argError(`Tensor.${fn}`, name, 'a Tensor or a number', v);
  return v;
}

/** A tensor's element order in memory: row-major, or channels-last (NHWC) for 4-d tensors. */
export type MemoryFormat = 'contiguous' | 'channelsLast';
/** c10::MemoryFormat's values (aten's MemoryFormat arguments are passed as these integers). */
const MEMORY_FORMATS: Record<string, number> = { contiguous: 0, channelsLast: 2 };

export class Tensor {
  /** @internal the native handle (a slot number in the binding's tensor table). */
  _h: NativeHandle;
  private _disposed = false;

  /** @internal use the factory functions (zeros, tensor, ...) instead. */
  constructor(h: NativeHandle) {
    this._h = h;
    track(this);
  }

  // ---------------------------------------------------------------- metadata
  /** Sizes of each dimension. */
  get shape(): Shape {
    return native.sizes(this._h);
  }
  /** PyTorch's size(): all sizes, or the size of one dimension (negative counts from the end). */
  size(): Shape;
  size(dim: number): number;
  size(dim?: number): Shape | number {
    const s = native.sizes(this._h);
    if (dim === undefined) return s;
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`size: dimension ${dim} out of range for a ${s.length}-d tensor`);
    return s[d];
  }
  stride(): number[] {
    return native.strides(this._h);
  }
  get ndim(): number {
    return native.dim(this._h);
  }
  dim(): number {
    return native.dim(this._h);
  }
  numel(): number {
    return native.numel(this._h);
  }
  get dtype(): DType {
    return dtypeFromCode(native.scalarType(this._h));
  }
  get device(): string {
    return native.device(this._h);
  }
  get isCuda(): boolean {
    return this.device.startsWith('cuda');
  }
  /** Whether the elements are in row-major order (or, with 'channelsLast', in NHWC order). */
  isContiguous(memoryFormat: MemoryFormat = 'contiguous'): boolean {
    if (memoryFormat === 'contiguous') return native.isContiguous(this._h);
    if (memoryFormat !== 'channelsLast') throw new TypeError(`isContiguous: memoryFormat should be 'contiguous' or 'channelsLast', got ${JSON.stringify(memoryFormat)}`);
    if (this.dim() !== 4) return false;
    const [, c, h, w] = this.shape;
    const st = this.stride();
    // sizes of 1 place no constraint on their stride (as c10's is_channels_last_strides_2d)
    const want = [h * w * c, 1, w * c, c];
    return this.shape.every((n, i) => n === 1 || st[i] === want[i]);
  }
  isFloatingPoint(): boolean {
    return isFloatingPoint(this.dtype);
  }
  storageOffset(): number {
    return native.storageOffset(this._h);
  }
  /** Bytes held by the elements (numel × element size). */
  get nbytes(): number {
    return this.numel() * DTYPE_SIZE[this.dtype];
  }
  toString(): string {
    if (this._disposed) return 'Tensor(disposed)';
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---------------------------------------------------------------- memory
  /**
   * Frees this handle's reference to the native tensor. Idempotent. The handle is queued
   * (no call into C++); the binding frees it before its next call does anything else.
   */
  dispose(): void {
    if (!this._disposed) {
      this._disposed = true;
      releaseHandle(this._h);
    }
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  // ---------------------------------------------------------------- data out
  /** The single element as a number (or boolean for bool tensors). */
  item(): number {
    return native.item(this._h) as number;
  }
  /** The elements, row-major, in the dtype's typed array (float16/bfloat16 → Float32Array). */
  toTypedArray(): TypedArray {
    const dtype = this.dtype;
    if (dtype === 'float16' || dtype === 'bfloat16') {
      const f = callH(O.to, this._h, dtypeCode('float32'));
      try {
        return new Float32Array(native.toBuffer(f));
      } finally {
        native.dispose(f);
      }
    }
    const buf = native.toBuffer(this._h);
    switch (dtype) {
      case 'float32': return new Float32Array(buf);
      case 'float64': return new Float64Array(buf);
      case 'int32': return new Int32Array(buf);
      case 'int16': return new Int16Array(buf);
      case 'int8': return new Int8Array(buf);
      case 'int64': return new BigInt64Array(buf);
      default: return new Uint8Array(buf);
    }
  }
  /** The elements as a flat array of JavaScript numbers (int64 converted, bool as 0/1). */
  toArray(): number[] {
    const a = this.toTypedArray();
    return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a as ArrayLike<number>);
  }
  /** Nested arrays, like PyTorch's tolist(); bool tensors give booleans. */
  tolist(): unknown {
    const shape = this.shape;
    const flat = this.toArray();
    const isBool = this.dtype === 'bool';
    let pos = 0;
    const build = (d: number): unknown => {
      if (d === shape.length) {
        const v = flat[pos++];
        return isBool ? v !== 0 : v;
      }
      const out: unknown[] = [];
      for (let i = 0; i < shape[d]; i++) out.push(build(d + 1));
      return out;
    };
    return build(0);
  }
  /** The raw bytes of the elements (contiguous, on CPU). */
  toBuffer(): ArrayBuffer {
    return native.toBuffer(this._h);
  }

  // ---------------------------------------------------------------- dtype/device
  /** Converts to a dtype and/or device (`t.to('cuda')`, `t.to('float16')`, `t.to({ dtype, device })`). */
  to(target: DType | Device | { dtype?: DType; device?: Device | string; copy?: boolean }): Tensor {
    let dtype: DType | undefined;
    let device: string | undefined;
    let copy = false;
    const fn = 'Tensor.to';
    if (typeof target === 'string') {
      if (target === 'cpu' || target.startsWith('cuda')) device = target;
      else dtype = target as DType;
    } else {
      if (target === null || typeof target !== 'object' || Array.isArray(target) || target instanceof Tensor) {
        argError(fn, 'target', "a dtype, a device or { dtype, device, copy }", target);
      }
      ({ dtype, device } = target);
      copy = boolArg(fn, 'options.copy', target.copy, false);
    }
    const dev = deviceArg(fn, device);
    return wrap(callH(O.to, this._h, dtype === undefined ? null : dtypeCode(dtype), null, dev, null, false, copy));
  }
  cpu(): Tensor {
    return this.to('cpu');
  }
  cuda(index = 0): Tensor {
    if (!Number.isSafeInteger(index) || index < 0) argError('Tensor.cuda', 'index', 'a non-negative integer', index);
    return this.to(`cuda:${index}`);
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  half(): Tensor { return this.to('float16'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  byte(): Tensor { return this.to('uint8'); }
  typeAs(other: Tensor): Tensor {
    return wrap(callH(O.typeAs, this._h, T('typeAs', 'other', other)));
  }
  clone(): Tensor {
    return wrap(callH(O.clone, this._h));
  }
  /** A new handle to the same tensor (shares data and autograd identity). */
  alias(): Tensor {
    return wrap(native.alias(this._h));
  }

  // ---------------------------------------------------------------- autograd
  get requiresGrad(): boolean {
    return native.requiresGrad(this._h);
  }
  set requiresGrad(value: boolean) {
    native.setRequiresGrad(this._h, boolArg('Tensor.requiresGrad', 'value', value));
  }
  requiresGrad_(value = true): this {
    native.setRequiresGrad(this._h, boolArg('Tensor.requiresGrad_', 'value', value));
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this._h);
  }
  /** The accumulated gradient, or null. Each read returns a new handle (dispose it or read inside tidy). */
  get grad(): Tensor | null {
    const g = native.grad(this._h);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    if (g !== null && !(g instanceof Tensor)) argError('Tensor.grad', 'value', 'a Tensor or null', g);
    native.setGrad(this._h, g === null ? null : g._h);
  }
  /** Computes gradients of this tensor w.r.t. graph leaves (gradient: d(out)/d(this), default 1 for scalars). */
  backward(gradient?: Tensor | null, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    const fn = 'Tensor.backward';
    const g = optTensorArg(fn, 'gradient', gradient);
    const o = optionsArg(fn, opts);
    const retainGraph = o.retainGraph === undefined ? undefined : boolArg(fn, 'options.retainGraph', o.retainGraph);
    native.backward(this._h, g, retainGraph, boolArg(fn, 'options.createGraph', o.createGraph, false));
  }
  detach(): Tensor {
    return wrap(callH(O.detach, this._h));
  }

  // ---------------------------------------------------------------- arithmetic
  add(other: Tensor | Scalar, opts: { alpha?: number } = {}): Tensor {
    const alpha = opts.alpha ?? 1;
    return wrap(other instanceof Tensor ? callH(O.add, this._h, other._h, alpha) : callH(O.addS, this._h, S('add', 'other', other), alpha));
  }
  sub(other: Tensor | Scalar, opts: { alpha?: number } = {}): Tensor {
    const alpha = opts.alpha ?? 1;
    return wrap(other instanceof Tensor ? callH(O.sub, this._h, other._h, alpha) : callH(O.subS, this._h, S('sub', 'other', other), alpha));
  }
  /** other - this (PyTorch's rsub), for scalar left operands: `x.rsub(1)` = 1 - x. */
  rsub(other: Scalar): Tensor {
    return wrap(callH(O.rsubS, this._h, S('rsub', 'other', other), 1));
  }
  mul(other: Tensor | Scalar): Tensor {
    return wrap(other instanceof Tensor ? callH(O.mul, this._h, other._h) : callH(O.mulS, this._h, S('mul', 'other', other)));
  }
  /** True division; roundingMode 'trunc' or 'floor' for integer-style division. */
  div(other: Tensor | Scalar, opts: { roundingMode?: 'trunc' | 'floor' } = {}): Tensor {
    if (opts.roundingMode) {
      return wrap(other instanceof Tensor
        ? callH(O.divMode, this._h, other._h, opts.roundingMode)
        : callH(O.divSMode, this._h, S('div', 'other', other), opts.roundingMode));
    }
    return wrap(other instanceof Tensor ? callH(O.div, this._h, other._h) : callH(O.divS, this._h, S('div', 'other', other)));
  }
  remainder(other: Tensor | Scalar): Tensor {
    return wrap(other instanceof Tensor ? callH(O.remainder, this._h, other._h) : callH(O.remainderS, this._h, S('remainder', 'other', other)));
  }
  pow(exponent: Tensor | number): Tensor {
    return wrap(exponent instanceof Tensor ? callH(O.pow, this._h, exponent._h) : callH(O.powS, this._h, S('pow', 'exponent', exponent)));
  }
  neg(): Tensor { return wrap(callH(O.neg, this._h)); }
  abs(): Tensor { return wrap(callH(O.abs, this._h)); }
  sqrt(): Tensor { return wrap(callH(O.sqrt, this._h)); }
  rsqrt(): Tensor { return wrap(callH(O.rsqrt, this._h)); }
  exp(): Tensor { return wrap(callH(O.exp, this._h)); }
  log(): Tensor { return wrap(callH(O.log, this._h)); }
  log2(): Tensor { return wrap(callH(O.log2, this._h)); }
  log1p(): Tensor { return wrap(callH(O.log1p, this._h)); }
  sigmoid(): Tensor { return wrap(callH(O.sigmoid, this._h)); }
  tanh(): Tensor { return wrap(callH(O.tanh, this._h)); }
  sin(): Tensor { return wrap(callH(O.sin, this._h)); }
  cos(): Tensor { return wrap(callH(O.cos, this._h)); }
  floor(): Tensor { return wrap(callH(O.floor, this._h)); }
  ceil(): Tensor { return wrap(callH(O.ceil, this._h)); }
  round(): Tensor { return wrap(callH(O.round, this._h)); }
  trunc(): Tensor { return wrap(callH(O.trunc, this._h)); }
  sign(): Tensor { return wrap(callH(O.sign, this._h)); }
  reciprocal(): Tensor { return wrap(callH(O.reciprocal, this._h)); }
  square(): Tensor { return wrap(callH(O.square, this._h)); }
  relu(): Tensor { return wrap(callH(O.relu, this._h)); }
  maximum(other: Tensor): Tensor { return wrap(callH(O.maximum, this._h, T('maximum', 'other', other))); }
  minimum(other: Tensor): Tensor { return wrap(callH(O.minimum, this._h, T('minimum', 'other', other))); }
  /** Clamps to [min, max]; either bound may be omitted; bounds may be tensors. */
  clamp(opts: { min?: number | Tensor | null; max?: number | Tensor | null }): Tensor {
    const fn = 'Tensor.clamp';
    const { min = null, max = null } = optionsArg(fn, opts);
    for (const [name, v] of [['min', min], ['max', max]] as const) {
      if (v !== null && typeof v !== 'number' && !(v instanceof Tensor)) argError(fn, `options.${name}`, 'a number, a Tensor or null', v);
    }
    if (min instanceof Tensor || max instanceof Tensor) {
      const h = (v: number | Tensor | null) => (v === null ? null : v instanceof Tensor ? v._h : fullLike(this, v)._h);
      return wrap(callH(O.clampT, this._h, h(min), h(max)));
    }
    return wrap(callH(O.clamp, this._h, min, max));
  }
  matmul(other: Tensor): Tensor { return wrap(callH(O.matmul, this._h, T('matmul', 'other', other))); }
  mm(other: Tensor): Tensor { return wrap(callH(O.mm, this._h, T('mm', 'other', other))); }
  bmm(other: Tensor): Tensor { return wrap(callH(O.bmm, this._h, T('bmm', 'other', other))); }
  softmax(dim: number): Tensor { return wrap(callH(O.softmax, this._h, dim, null)); }
  logSoftmax(dim: number): Tensor { return wrap(callH(O.logSoftmax, this._h, dim, null)); }

  // ---------------------------------------------------------------- comparison / logic
  eq(other: Tensor | Scalar): Tensor { return this.cmp(O.eq, O.eqS, other); }
  ne(other: Tensor | Scalar): Tensor { return this.cmp(O.ne, O.neS, other); }
  lt(other: Tensor | Scalar): Tensor { return this.cmp(O.lt, O.ltS, other); }
  le(other: Tensor | Scalar): Tensor { return this.cmp(O.le, O.leS, other); }
  gt(other: Tensor | Scalar): Tensor { return this.cmp(O.gt, O.gtS, other); }
  ge(other: Tensor | Scalar): Tensor { return this.cmp(O.ge, O.geS, other); }
  private cmp(t: typeof O.eq, s: typeof O.eq, other: Tensor | Scalar): Tensor {
    return wrap(other instanceof Tensor ? callH(t, this._h, other._h) : callH(s, this._h, S(t.name.slice(6), 'other', other)));
  }
  logicalAnd(other: Tensor): Tensor { return wrap(callH(O.logicalAnd, this._h, T('logicalAnd', 'other', other))); }
  logicalOr(other: Tensor): Tensor { return wrap(callH(O.logicalOr, this._h, T('logicalOr', 'other', other))); }
  logicalXor(other: Tensor): Tensor { return wrap(callH(O.logicalXor, this._h, T('logicalXor', 'other', other))); }
  logicalNot(): Tensor { return wrap(callH(O.logicalNot, this._h)); }
  bitwiseAnd(other: Tensor): Tensor { return wrap(callH(O.bitwiseAnd, this._h, T('bitwiseAnd', 'other', other))); }
  bitwiseOr(other: Tensor): Tensor { return wrap(callH(O.bitwiseOr, this._h, T('bitwiseOr', 'other', other))); }
  isnan(): Tensor { return wrap(callH(O.isnan, this._h)); }
  isfinite(): Tensor { return wrap(callH(O.isfinite, this._h)); }

  // ---------------------------------------------------------------- reductions
  sum(opts: ReduceOptions & { dtype?: DType } = {}): Tensor {
    const dt = opts.dtype === undefined ? null : dtypeCode(opts.dtype);
    if (opts.dim === undefined) return wrap(callH(O.sum, this._h, dt));
    return wrap(callH(O.sumDim, this._h, dims(opts.dim), opts.keepdim ?? false, dt));
  }
  mean(opts: ReduceOptions = {}): Tensor {
    if (opts.dim === undefined) return wrap(callH(O.mean, this._h, null));
    return wrap(callH(O.meanDim, this._h, dims(opts.dim), opts.keepdim ?? false, null));
  }
  /** Standard deviation (unbiased by default, as PyTorch). */
  std(opts: ReduceOptions & { unbiased?: boolean } = {}): Tensor {
    if (opts.dim === undefined) return wrap(callH(O.std, this._h, opts.unbiased ?? true));
    return wrap(callH(O.stdDim, this._h, dims(opts.dim), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  var(opts: ReduceOptions & { unbiased?: boolean } = {}): Tensor {
    if (opts.dim === undefined) return wrap(callH(O.var, this._h, opts.unbiased ?? true));
    return wrap(callH(O.varDim, this._h, dims(opts.dim), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  prod(opts: { dim?: number; keepdim?: boolean } = {}): Tensor {
    if (opts.dim === undefined) return wrap(callH(O.prod, this._h, null));
    return wrap(callH(O.prodDim, this._h, opts.dim, opts.keepdim ?? false, null));
  }
  all(opts: { dim?: number; keepdim?: boolean } = {}): Tensor {
    if (opts.dim === undefined) return wrap(callH(O.all, this._h));
    return wrap(callH(O.allDim, this._h, opts.dim, opts.keepdim ?? false));
  }
  any(opts: { dim?: number; keepdim?: boolean } = {}): Tensor {
    if (opts.dim === undefined) return wrap(callH(O.any, this._h));
    return wrap(callH(O.anyDim, this._h, opts.dim, opts.keepdim ?? false));
  }
  /** The maximum of all elements. */
  max(): Tensor;
  /** Maximum along dim: values and indices. */
  max(opts: { dim: number; keepdim?: boolean }): { values: Tensor; indices: Tensor };
  max(opts?: { dim: number; keepdim?: boolean }): Tensor | { values: Tensor; indices: Tensor } {
    if (!opts) return wrap(callH(O.max, this._h));
    return pair(callMany(O.maxDim, this._h, opts.dim, opts.keepdim ?? false));
  }
  min(): Tensor;
  min(opts: { dim: number; keepdim?: boolean }): { values: Tensor; indices: Tensor };
  min(opts?: { dim: number; keepdim?: boolean }): Tensor | { values: Tensor; indices: Tensor } {
    if (!opts) return wrap(callH(O.min, this._h));
    return pair(callMany(O.minDim, this._h, opts.dim, opts.keepdim ?? false));
  }
  amax(opts: ReduceOptions = {}): Tensor {
    return wrap(callH(O.amax, this._h, opts.dim === undefined ? [] : dims(opts.dim), opts.keepdim ?? false));
  }
  amin(opts: ReduceOptions = {}): Tensor {
    return wrap(callH(O.amin, this._h, opts.dim === undefined ? [] : dims(opts.dim), opts.keepdim ?? false));
  }
  argmax(opts: { dim?: number; keepdim?: boolean } = {}): Tensor {
    return wrap(callH(O.argmax, this._h, opts.dim ?? null, opts.keepdim ?? false));
  }
  argmin(opts: { dim?: number; keepdim?: boolean } = {}): Tensor {
    return wrap(callH(O.argmin, this._h, opts.dim ?? null, opts.keepdim ?? false));
  }
  /** p-norm over all elements or over dims. */
  norm(opts: { p?: number; dim?: number | number[]; keepdim?: boolean } = {}): Tensor {
    if (opts.dim === undefined) return wrap(callH(O.norm, this._h, opts.p ?? 2));
    return wrap(callH(O.normDim, this._h, opts.p ?? 2, dims(opts.dim), opts.keepdim ?? false));
  }
  logsumexp(opts: { dim: number | number[]; keepdim?: boolean }): Tensor {
    return wrap(callH(O.logsumexp, this._h, dims(opts.dim), opts.keepdim ?? false));
  }
  cumsum(dim: number, opts: { dtype?: DType } = {}): Tensor {
    return wrap(callH(O.cumsum, this._h, dim, opts.dtype ? dtypeCode(opts.dtype) : null));
  }
  cumprod(dim: number): Tensor {
    return wrap(callH(O.cumprod, this._h, dim, null));
  }
  /** Sorts along dim (default last); stable: equal elements keep their order. */
  sort(opts: { dim?: number; descending?: boolean; stable?: boolean } = {}): { values: Tensor; indices: Tensor } {
    return pair(callMany(O.sort, this._h, opts.stable ?? false, opts.dim ?? -1, opts.descending ?? false));
  }
  argsort(opts: { dim?: number; descending?: boolean; stable?: boolean } = {}): Tensor {
    if (opts.stable) {
      const { values, indices } = this.sort(opts);
      values.dispose();
      return indices;
    }
    return wrap(callH(O.argsort, this._h, opts.dim ?? -1, opts.descending ?? false));
  }
  topk(k: number, opts: { dim?: number; largest?: boolean; sorted?: boolean } = {}): { values: Tensor; indices: Tensor } {
    return pair(callMany(O.topk, this._h, k, opts.dim ?? -1, opts.largest ?? true, opts.sorted ?? true));
  }
  /** Unique elements (sorted), optionally with inverse indices and counts. */
  unique(opts: { sorted?: boolean; returnInverse?: boolean; returnCounts?: boolean; dim?: number } = {}): { values: Tensor; inverse?: Tensor; counts?: Tensor } {
    const r = opts.dim === undefined
      ? callMany(O.unique, this._h, opts.sorted ?? true, opts.returnInverse ?? false, opts.returnCounts ?? false)
      : callMany(O.uniqueDim, this._h, opts.dim, opts.sorted ?? true, opts.returnInverse ?? false, opts.returnCounts ?? false);
    const [values, inverse, counts] = r.map((h) => wrap(h as NativeHandle));
    const out: { values: Tensor; inverse?: Tensor; counts?: Tensor } = { values };
    if (opts.returnInverse) out.inverse = inverse; else inverse.dispose();
    if (opts.returnCounts) out.counts = counts; else counts.dispose();
    return out;
  }

  // ---------------------------------------------------------------- shape
  view(...shape: (number | number[])[]): Tensor { return wrap(callH(O.view, this._h, shapeArgs(shape))); }
  reshape(...shape: (number | number[])[]): Tensor { return wrap(callH(O.reshape, this._h, shapeArgs(shape))); }
  viewAs(other: Tensor): Tensor { return this.view(other.shape); }
  flatten(startDim = 0, endDim = -1): Tensor { return wrap(callH(O.flatten, this._h, startDim, endDim)); }
  unflatten(dim: number, sizes: number[]): Tensor { return wrap(callH(O.unflatten, this._h, dim, sizes)); }
  permute(...order: (number | number[])[]): Tensor { return wrap(callH(O.permute, this._h, shapeArgs(order))); }
  transpose(dim0: number, dim1: number): Tensor { return wrap(callH(O.transpose, this._h, dim0, dim1)); }
  /** Transpose of a 2-d tensor. */
  t(): Tensor { return wrap(callH(O.t, this._h)); }
  /**
   * The elements in row-major order ('contiguous', default) or, for a 4-d tensor, channels-last order
   * (strides [H·W·C, 1, W·C, C]: the NHWC layout oneDNN's convolutions run on without reordering).
   * Returns this tensor's data (a new handle) when it already is in that order.
   */
  contiguous(memoryFormat: MemoryFormat = 'contiguous'): Tensor {
    const code = MEMORY_FORMATS[memoryFormat];
    if (code === undefined) throw new TypeError(`contiguous: memoryFormat should be 'contiguous' or 'channelsLast', got ${JSON.stringify(memoryFormat)}`);
    if (code === 2 && this.dim() !== 4) throw new RangeError(`contiguous: 'channelsLast' needs a 4-d tensor, got shape [${this.shape.join(', ')}]`);
    return wrap(callH(O.contiguous, this._h, code));
  }
  squeeze(dim?: number): Tensor {
    return wrap(dim === undefined ? callH(O.squeeze, this._h) : callH(O.squeezeDim, this._h, dim));
  }
  unsqueeze(dim: number): Tensor { return wrap(callH(O.unsqueeze, this._h, dim)); }
  expand(...shape: (number | number[])[]): Tensor { return wrap(callH(O.expand, this._h, shapeArgs(shape), false)); }
  expandAs(other: Tensor): Tensor { return wrap(callH(O.expandAs, this._h, T('expandAs', 'other', other))); }
  repeat(...repeats: (number | number[])[]): Tensor { return wrap(callH(O.repeat, this._h, shapeArgs(repeats))); }
  repeatInterleave(repeats: number, dim?: number): Tensor {
    return wrap(callH(O.repeatInterleave, this._h, repeats, dim ?? null, null));
  }
  flip(dims_: number | number[]): Tensor { return wrap(callH(O.flip, this._h, dims(dims_))); }
  narrow(dim: number, start: number, length: number): Tensor { return wrap(callH(O.narrow, this._h, dim, start, length)); }
  /** Python's t[start:end:step] along dim (end may be omitted or exceed the size). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return wrap(callH(O.slice, this._h, dim, start ?? null, end ?? null, step));
  }
  /** t[index] along dim: drops that dimension. */
  select(dim: number, index: number): Tensor { return wrap(callH(O.select, this._h, dim, index)); }
  /** Splits into chunks of splitSize (or of the given sizes) along dim. */
  split(splitSize: number | number[], dim = 0): Tensor[] {
    const r = typeof splitSize === 'number'
      ? callMany(O.split, this._h, splitSize, dim)
      : callMany(O.splitWithSizes, this._h, splitSize, dim);
    return r.map((h) => wrap(h as NativeHandle));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return callMany(O.chunk, this._h, chunks, dim).map((h) => wrap(h as NativeHandle));
  }
  unbind(dim = 0): Tensor[] {
    return callMany(O.unbind, this._h, dim).map((h) => wrap(h as NativeHandle));
  }
  asStrided(size: number[], stride: number[], storageOffset?: number): Tensor {
    return wrap(callH(O.asStrided, this._h, size, stride, storageOffset ?? null));
  }

  // ---------------------------------------------------------------- indexing
  indexSelect(dim: number, index: Tensor): Tensor { return wrap(callH(O.indexSelect, this._h, dim, T('indexSelect', 'index', index))); }
  gather(dim: number, index: Tensor): Tensor { return wrap(callH(O.gather, this._h, dim, T('gather', 'index', index), false)); }
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor {
    return wrap(src instanceof Tensor ? callH(O.scatter, this._h, dim, T('scatter', 'index', index), src._h) : callH(O.scatterS, this._h, dim, T('scatter', 'index', index), S('scatter', 'src', src)));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return wrap(callH(O.scatterAdd, this._h, dim, T('scatterAdd', 'index', index), T('scatterAdd', 'src', src))); }
  scatter_(dim: number, index: Tensor, src: Tensor): this { callVoid(O.scatter_, this._h, dim, T('scatter_', 'index', index), T('scatter_', 'src', src)); return this; }
  scatterAdd_(dim: number, index: Tensor, src: Tensor): this { callVoid(O.scatterAdd_, this._h, dim, T('scatterAdd_', 'index', index), T('scatterAdd_', 'src', src)); return this; }
  indexAdd_(dim: number, index: Tensor, source: Tensor, alpha = 1): this { callVoid(O.indexAdd_, this._h, dim, T('indexAdd_', 'index', index), T('indexAdd_', 'source', source), alpha); return this; }
  maskedFill(mask: Tensor, value: Scalar | Tensor): Tensor {
    return wrap(value instanceof Tensor ? callH(O.maskedFillT, this._h, T('maskedFill', 'mask', mask), value._h) : callH(O.maskedFill, this._h, T('maskedFill', 'mask', mask), S('maskedFill', 'value', value)));
  }
  maskedFill_(mask: Tensor, value: Scalar): this { callVoid(O.maskedFill_, this._h, T('maskedFill_', 'mask', mask), S('maskedFill_', 'value', value)); return this; }
  maskedSelect(mask: Tensor): Tensor { return wrap(callH(O.maskedSelect, this._h, T('maskedSelect', 'mask', mask))); }
  /** Indices of non-zero elements, [N, ndim] int64. */
  nonzero(): Tensor { return wrap(callH(O.nonzero, this._h)); }
  /**
   * Advanced indexing, PyTorch's t[i0, i1, ...] with int64 or bool index tensors; null
   * leaves a dimension whole (`t.index([null, idx])` is t[:, idx]).
   */
  index(indices: (Tensor | null)[]): Tensor {
    return wrap(callH(O.index, this._h, tensorListArg('Tensor.index', 'indices', indices, true)));
  }
  /** t[indices] = values (out of place); accumulate adds instead of assigning. */
  indexPut(indices: (Tensor | null)[], values: Tensor, accumulate = false): Tensor {
    return wrap(callH(O.indexPut, this._h, tensorListArg('Tensor.indexPut', 'indices', indices, true), T('indexPut', 'values', values), boolArg('Tensor.indexPut', 'accumulate', accumulate)));
  }
  indexPut_(indices: (Tensor | null)[], values: Tensor, accumulate = false): this {
    callVoid(O.indexPut_, this._h, tensorListArg('Tensor.indexPut_', 'indices', indices, true), T('indexPut_', 'values', values), boolArg('Tensor.indexPut_', 'accumulate', accumulate));
    return this;
  }

  // ---------------------------------------------------------------- in place (optimizers)
  add_(other: Tensor | Scalar, opts: { alpha?: number } = {}): this {
    const alpha = opts.alpha ?? 1;
    if (other instanceof Tensor) callVoid(O.add_, this._h, other._h, alpha); else callVoid(O.addS_, this._h, S('add_', 'other', other), alpha);
    return this;
  }
  sub_(other: Tensor | Scalar, opts: { alpha?: number } = {}): this {
    const alpha = opts.alpha ?? 1;
    if (other instanceof Tensor) callVoid(O.sub_, this._h, other._h, alpha); else callVoid(O.subS_, this._h, S('sub_', 'other', other), alpha);
    return this;
  }
  mul_(other: Tensor | Scalar): this {
    if (other instanceof Tensor) callVoid(O.mul_, this._h, other._h); else callVoid(O.mulS_, this._h, S('mul_', 'other', other));
    return this;
  }
  div_(other: Tensor | Scalar): this {
    if (other instanceof Tensor) callVoid(O.div_, this._h, other._h); else callVoid(O.divS_, this._h, S('div_', 'other', other));
    return this;
  }
  /** this += value * t1 * t2 */
  addcmul_(t1: Tensor, t2: Tensor, opts: { value?: number } = {}): this {
    callVoid(O.addcmul_, this._h, T('addcmul_', 't1', t1), T('addcmul_', 't2', t2), opts.value ?? 1);
    return this;
  }
  /** this += value * t1 / t2 */
  addcdiv_(t1: Tensor, t2: Tensor, opts: { value?: number } = {}): this {
    callVoid(O.addcdiv_, this._h, T('addcdiv_', 't1', t1), T('addcdiv_', 't2', t2), opts.value ?? 1);
    return this;
  }
  /** this += weight * (end - this) */
  lerp_(end: Tensor, weight: number): this { callVoid(O.lerp_, this._h, T('lerp_', 'end', end), weight); return this; }
  clamp_(opts: { min?: number | null; max?: number | null }): this {
    for (const name of ['min', 'max'] as const) {
      const v = optionsArg('Tensor.clamp_', opts)[name];
      if (v !== null && v !== undefined && typeof v !== 'number') argError('Tensor.clamp_', `options.${name}`, 'a number or null', v);
    }
    callVoid(O.clamp_, this._h, opts.min ?? null, opts.max ?? null);
    return this;
  }
  sqrt_(): this { callVoid(O.sqrt_, this._h); return this; }
  neg_(): this { callVoid(O.neg_, this._h); return this; }
  exp_(): this { callVoid(O.exp_, this._h); return this; }
  relu_(): this { callVoid(O.relu_, this._h); return this; }
  copy_(src: Tensor): this { callVoid(O.copy_, this._h, T('copy_', 'src', src), false); return this; }
  zero_(): this { callVoid(O.zero_, this._h); return this; }
  fill_(value: Scalar): this { callVoid(O.fill_, this._h, S('fill_', 'value', value)); return this; }
  uniform_(from = 0, to = 1): this { callVoid(O.uniform_, this._h, from, to, null); return this; }
  normal_(mean = 0, std = 1): this { callVoid(O.normal_, this._h, mean, std, null); return this; }
}

// The safety net for tensors that escape every tidy scope and are never disposed: when
// the garbage collector reclaims such a Tensor, its native tensor is freed (release.ts).
setEscapeHandler((t) => {
  if (t instanceof Tensor) guardEscaped(t);
});

/** Wraps a native handle (from an op) into a Tensor registered with the current scope. */
export function wrap(h: NativeHandle): Tensor {
  return new Tensor(h);
}

function pair(r: NativeValue[]): { values: Tensor; indices: Tensor } {
  return { values: wrap(r[0] as NativeHandle), indices: wrap(r[1] as NativeHandle) };
}

/** A 0-d tensor holding value, with other's dtype and device. */
function fullLike(other: Tensor, value: number): Tensor {
  return wrap(callH(op('aten::full_like'), other._h, value, null, null, null, null, null));
}

/** Where cond, x else y (elementwise, broadcasting). */
export function where(cond: Tensor, x: Tensor | Scalar, y: Tensor | Scalar): Tensor {
  const c = tensorArg('where', 'cond', cond);
  for (const [name, v] of [['x', x], ['y', y]] as const) {
    if (!(v instanceof Tensor) && typeof v !== 'number' && typeof v !== 'boolean') argError('where', name, 'a Tensor or a number', v);
  }
  const asT = (v: Tensor | Scalar, like: Tensor) => (v instanceof Tensor ? v : scalarTensor(v, like));
  const like = x instanceof Tensor ? x : y instanceof Tensor ? y : undefined;
  if (!like) throw new TypeError('where: at least one of x and y must be a Tensor');
  const xt = asT(x, like);
  const yt = asT(y, like);
  try {
    return wrap(callH(O.whereT, c, xt._h, yt._h));
  } finally {
    if (xt !== x) xt.dispose();
    if (yt !== y) yt.dispose();
  }
}

const scalarTensorOp = op('aten::scalar_tensor');
function scalarTensor(v: Scalar, like: Tensor): Tensor {
  return wrap(callH(scalarTensorOp, v, dtypeCode(like.dtype), null, like.device, null));
}

/** Whether v is a Tensor (a type guard). */
export function isTensor(v: unknown): v is Tensor {
  return v instanceof Tensor;
}

