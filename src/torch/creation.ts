/** Tensor factories and multi-tensor ops (torch.zeros, torch.tensor, torch.cat, ...). */
import { native, type NativeHandle } from './native';
import { callH, callMany, op } from './op';
import { DTYPE_SIZE, dtypeCode, dtypeOfTypedArray, type DType, type TypedArray } from './dtype';
import { Tensor, wrap, type Device, type Scalar } from './tensor';
import { argError, boolArg, deviceArg, numberArg, optionsArg, shapeArg, tensorArg, tensorListArg } from './args';

/** Options every factory takes (PyTorch's keyword arguments). */
export interface TensorOptions {
  dtype?: DType;
  device?: Device | string;
  requiresGrad?: boolean;
}

const O = {
  zeros: op('aten::zeros'), ones: op('aten::ones'), full: op('aten::full'), empty: op('aten::empty', 'memory_format'),
  arange: op('aten::arange', 'start_step'), linspace: op('aten::linspace'),
  eye: op('aten::eye'), eyeM: op('aten::eye', 'm'),
  rand: op('aten::rand'), randn: op('aten::randn'), randint: op('aten::randint', 'low'), randperm: op('aten::randperm'),
  zerosLike: op('aten::zeros_like'), onesLike: op('aten::ones_like'), fullLike: op('aten::full_like'),
  emptyLike: op('aten::empty_like'), randLike: op('aten::rand_like'), randnLike: op('aten::randn_like'),
  cat: op('aten::cat'), stack: op('aten::stack'), meshgrid: op('aten::meshgrid', 'indexing'),
  einsum: op('aten::einsum'), to: op('aten::to', 'dtype_layout'), bucketize: op('aten::bucketize', 'Tensor'),
  searchsorted: op('aten::searchsorted', 'Tensor'),
};

function finish(h: NativeHandle, opts: TensorOptions): Tensor {
  const t = wrap(h);
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/**
 * Checks a factory's options object (an object or undefined; device a string, CUDA only where
 * available; requiresGrad a boolean) and returns it, `{}` for undefined. dtype is checked by dtypeCode.
 */
function topts<T extends TensorOptions>(fn: string, opts: T | undefined): T {
  const o = optionsArg(`torch.${fn}`, opts);
  if (o.dtype !== undefined) {
    try {
      dtypeCode(o.dtype);
    } catch (err) {
      throw new TypeError(`torch.${fn}: options.dtype: ${(err as Error).message}`);
    }
  }
  deviceArg(`torch.${fn}`, o.device, 'options.device');
  if (o.requiresGrad !== undefined) boolArg(`torch.${fn}`, 'options.requiresGrad', o.requiresGrad);
  return o;
}

function dt(opts: TensorOptions): number | null {
  return opts.dtype === undefined ? null : dtypeCode(opts.dtype);
}

function dev(opts: TensorOptions): string | null {
  return opts.device ?? null;
}

const checkShape = (fn: string, shape: unknown): number[] => shapeArg(`torch.${fn}`, shape);
const num = (fn: string, name: string, v: unknown): number => numberArg(`torch.${fn}`, name, v);

export function zeros(shape: number[], opts: TensorOptions = {}): Tensor {
  opts = topts('zeros', opts);
  return finish(callH(O.zeros, checkShape('zeros', shape), dt(opts), null, dev(opts), null), opts);
}
export function ones(shape: number[], opts: TensorOptions = {}): Tensor {
  opts = topts('ones', opts);
  return finish(callH(O.ones, checkShape('ones', shape), dt(opts), null, dev(opts), null), opts);
}
export function full(shape: number[], fillValue: Scalar, opts: TensorOptions = {}): Tensor {
  opts = topts('full', opts);
  if (typeof fillValue !== 'number' && typeof fillValue !== 'boolean') argError('torch.full', 'fillValue', 'a number or a boolean', fillValue);
  // PyTorch infers float for a float fill and int64 for an int one; JS has one number
  // type, so without a dtype the default float dtype is used, unless the fill is boolean.
  const dtype = opts.dtype ?? (typeof fillValue === 'boolean' ? 'bool' : 'float32');
  return finish(callH(O.full, checkShape('full', shape), fillValue, dtypeCode(dtype), null, dev(opts), null), opts);
}
/** Uninitialized memory (contents are arbitrary). */
export function empty(shape: number[], opts: TensorOptions = {}): Tensor {
  opts = topts('empty', opts);
  return finish(callH(O.empty, checkShape('empty', shape), dt(opts), null, dev(opts), null, null), opts);
}
/**
 * Values from start to end (exclusive) by step; `arange(5)` = [0..4]. Integral
 * arguments give int64 (as in PyTorch), fractional ones the default float dtype.
 */
export function arange(end: number, opts?: TensorOptions): Tensor;
export function arange(start: number, end: number, step?: number, opts?: TensorOptions): Tensor;
export function arange(a: number, b?: number | TensorOptions, c?: number | TensorOptions, d?: TensorOptions): Tensor {
  let start = 0, end: number, step = 1, opts: TensorOptions = {};
  if (typeof b !== 'number') {
    end = a;
    opts = b ?? {};
  } else {
    start = a;
    end = b;
    if (typeof c === 'number') { step = c; opts = d ?? {}; } else opts = c ?? {};
  }
  opts = topts('arange', opts);
  num('arange', 'start', start); num('arange', 'end', end); num('arange', 'step', step);
  if (step === 0) throw new RangeError('arange: step must be non-zero');
  return finish(callH(O.arange, start, end, step, dt(opts), null, dev(opts), null), opts);
}
export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  opts = topts('linspace', opts);
  num('linspace', 'start', start); num('linspace', 'end', end); num('linspace', 'steps', steps);
  return finish(callH(O.linspace, start, end, steps, dt(opts), null, dev(opts), null), opts);
}
export function eye(n: number, m?: number, opts: TensorOptions = {}): Tensor {
  opts = topts('eye', opts);
  num('eye', 'n', n);
  if (m !== undefined) num('eye', 'm', m);
  return finish(m === undefined
    ? callH(O.eye, n, dt(opts), null, dev(opts), null)
    : callH(O.eyeM, n, m, dt(opts), null, dev(opts), null), opts);
}
/** Uniform samples in [0, 1). */
export function rand(shape: number[], opts: TensorOptions = {}): Tensor {
  opts = topts('rand', opts);
  return finish(callH(O.rand, checkShape('rand', shape), dt(opts), null, dev(opts), null), opts);
}
/** Standard normal samples. */
export function randn(shape: number[], opts: TensorOptions = {}): Tensor {
  opts = topts('randn', opts);
  return finish(callH(O.randn, checkShape('randn', shape), dt(opts), null, dev(opts), null), opts);
}
/** Integers uniformly drawn from [low, high); int64 unless a dtype is given. */
export function randint(low: number, high: number, shape: number[], opts: TensorOptions = {}): Tensor {
  opts = topts('randint', opts);
  num('randint', 'low', low); num('randint', 'high', high);
  return finish(callH(O.randint, low, high, checkShape('randint', shape), opts.dtype ? dtypeCode(opts.dtype) : dtypeCode('int64'), null, dev(opts), null), opts);
}
export function randperm(n: number, opts: TensorOptions = {}): Tensor {
  opts = topts('randperm', opts);
  num('randperm', 'n', n);
  return finish(callH(O.randperm, n, opts.dtype ? dtypeCode(opts.dtype) : dtypeCode('int64'), null, dev(opts), null), opts);
}

type LikeOptions = TensorOptions;
const like = (o: typeof O.zerosLike, fn: string) => (t: Tensor, opts: LikeOptions = {}): Tensor => {
  opts = topts(fn, opts);
  return finish(callH(o, tensorArg(`torch.${fn}`, 'input', t), dt(opts), null, dev(opts), null, null), opts);
};
export const zerosLike = like(O.zerosLike, 'zerosLike');
export const onesLike = like(O.onesLike, 'onesLike');
export const emptyLike = like(O.emptyLike, 'emptyLike');
export const randLike = like(O.randLike, 'randLike');
export const randnLike = like(O.randnLike, 'randnLike');
export function fullLike(t: Tensor, value: Scalar, opts: LikeOptions = {}): Tensor {
  opts = topts('fullLike', opts);
  const h = tensorArg('torch.fullLike', 'input', t);
  if (typeof value !== 'number' && typeof value !== 'boolean') argError('torch.fullLike', 'value', 'a number or a boolean', value);
  return finish(callH(O.fullLike, h, value, dt(opts), null, dev(opts), null, null), opts);
}

/** Nested arrays of numbers or booleans. */
export type NestedArray = number | boolean | NestedArray[];

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flattenInto(data: NestedArray, shape: number[], depth: number, out: number[], path: string): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new TypeError(`tensor: ragged nested array at ${path || 'top level'} (expected a number)`);
    if (typeof data !== 'number' && typeof data !== 'boolean') argError('torch.tensor', `data${path}`, 'a number or a boolean', data);
    out.push(typeof data === 'boolean' ? (data ? 1 : 0) : data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(`tensor: ragged nested array at ${path || 'top level'} (expected ${shape[depth]} elements)`);
  }
  for (let i = 0; i < data.length; i++) flattenInto(data[i], shape, depth + 1, out, `${path}[${i}]`);
}

function typedFor(dtype: DType, values: ArrayLike<number>): ArrayBufferView {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'int32': return Int32Array.from(values);
    case 'int16': return Int16Array.from(values);
    case 'int8': return Int8Array.from(values);
    case 'uint8': case 'bool': return Uint8Array.from(values);
    case 'int64': return BigInt64Array.from(Array.from(values, (v) => {
      if (!Number.isInteger(v)) throw new TypeError(`tensor: int64 values must be integers, got ${v}`);
      return BigInt(v);
    }));
    case 'float16': case 'bfloat16': return Float32Array.from(values);
  }
}

/**
 * A tensor from nested arrays or a typed array (data is copied once).
 * Without a dtype: typed arrays keep theirs; nested numbers give float32 (JavaScript
 * cannot tell 1 from 1.0, so PyTorch's int64 inference is not reproduced); booleans give bool.
 */
export function tensor(data: NestedArray | TypedArray | ArrayBufferView, opts: TensorOptions & { shape?: number[] } = {}): Tensor {
  opts = topts('tensor', opts);
  if (ArrayBuffer.isView(data)) {
    const shape = opts.shape === undefined ? [(data as TypedArray).length] : shapeArg('torch.tensor', opts.shape, 'options.shape');
    return fromTypedArray(data as TypedArray, shape, opts);
  }
  const shape = inferShape(data);
  const flat: number[] = [];
  flattenInto(data, shape, 0, flat, '');
  let first: NestedArray = data;
  while (Array.isArray(first) && first.length > 0) first = first[0];
  const isBool = typeof first === 'boolean';
  const dtype = opts.dtype ?? (isBool ? 'bool' : 'float32');
  const buf = typedFor(dtype, flat);
  const base = dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : dtype;
  let t = finish(native.fromBuffer(buf, dtypeCode(base), shape), {});
  if (base !== dtype || (opts.device && opts.device !== 'cpu')) {
    const c = t.to({ dtype, device: opts.device });
    t.dispose();
    t = c;
  }
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** A tensor that copies a typed array's elements (one copy) into the given shape. */
export function fromTypedArray(data: TypedArray | ArrayBufferView, shape: number[], opts: TensorOptions = {}): Tensor {
  opts = topts('fromTypedArray', opts);
  checkShape('fromTypedArray', shape);
  const src = dtypeOfTypedArray(data);
  const elements = data.byteLength / DTYPE_SIZE[src];
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel !== elements) {
    throw new RangeError(`fromTypedArray: shape [${shape.join(', ')}] holds ${numel} elements, the array has ${elements}`);
  }
  let t = wrap(native.fromBuffer(data, dtypeCode(src), checkShape('fromTypedArray', shape)));
  const dtype = opts.dtype ?? src;
  if (dtype !== src || (opts.device && opts.device !== 'cpu')) {
    const c = t.to({ dtype, device: opts.device });
    t.dispose();
    t = c;
  }
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** A tensor over raw little-endian bytes of the given dtype (copied once). */
export function fromBytes(bytes: ArrayBufferView | ArrayBuffer, dtype: DType, shape: number[]): Tensor {
  if (!(ArrayBuffer.isView(bytes) || bytes instanceof ArrayBuffer)) argError('torch.fromBytes', 'bytes', 'an ArrayBuffer or a typed array', bytes);
  return wrap(native.fromBuffer(bytes, dtypeCode(dtype), checkShape('fromBytes', shape)));
}

/** A 0-d tensor. */
export function scalarTensor(value: Scalar, opts: TensorOptions = {}): Tensor {
  return full([], value, opts);
}

// ---------------------------------------------------------------- multi-tensor ops
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return wrap(callH(O.cat, tensorListArg('torch.cat', 'tensors', tensors), dim));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return wrap(callH(O.stack, tensorListArg('torch.stack', 'tensors', tensors), dim));
}
export function meshgrid(tensors: Tensor[], indexing: 'ij' | 'xy' = 'ij'): Tensor[] {
  return callMany(O.meshgrid, tensorListArg('torch.meshgrid', 'tensors', tensors), indexing).map((h) => wrap(h as NativeHandle));
}
/** Einstein summation, e.g. einsum('bij,bjk->bik', [a, b]). */
export function einsum(equation: string, operands: Tensor[]): Tensor {
  if (typeof equation !== 'string') argError('torch.einsum', 'equation', 'a string', equation);
  return wrap(callH(O.einsum, equation, tensorListArg('torch.einsum', 'operands', operands), null));
}
/** Indices of the buckets (given by sorted boundaries) the values fall into. */
export function bucketize(values: Tensor, boundaries: Tensor, opts: { right?: boolean; outInt32?: boolean } = {}): Tensor {
  return wrap(callH(O.bucketize, tensorArg('torch.bucketize', 'values', values), tensorArg('torch.bucketize', 'boundaries', boundaries), opts.outInt32 ?? false, opts.right ?? false));
}
export function searchsorted(sortedSequence: Tensor, values: Tensor, opts: { right?: boolean } = {}): Tensor {
  return wrap(callH(O.searchsorted, tensorArg('torch.searchsorted', 'sortedSequence', sortedSequence), tensorArg('torch.searchsorted', 'values', values), false, opts.right ?? false, null, null));
}
