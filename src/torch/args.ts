/**
 * Argument checks shared by every wrapper in src/torch (Tensor methods, factories, F.*,
 * ops.*, autograd and runtime): a value of the wrong kind (a non-tensor where a tensor
 * belongs, a non-array shape, a string where a boolean belongs) is a TypeError naming the
 * function, the argument and what was given, before anything reaches libtorch:
 *   `Tensor.indexSelect: index: expected a Tensor, got null`.
 * (Tensor is used only inside functions: this module and tensor.ts import each other.)
 */
import { native, type NativeHandle } from './native';
import { Tensor } from './tensor';

/** A short, bounded description of any value for error messages (never throws). */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (v instanceof Tensor) return v.isDisposed ? 'a disposed Tensor' : 'a Tensor';
  if (Array.isArray(v)) {
    const items = v.slice(0, 4).map((x) => (typeof x === 'number' ? String(x) : x === null ? 'null' : x instanceof Tensor ? 'Tensor' : typeof x));
    return `an array [${items.join(', ')}${v.length > 4 ? ', ...' : ''}]`;
  }
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of ${v.byteLength} bytes`;
  switch (typeof v) {
    case 'object': {
      const name = Object.getPrototypeOf(v)?.constructor?.name;
      const kind = typeof name === 'string' && name && name !== 'Object' ? `a ${name}` : 'an object';
      const keys = Object.keys(v);
      return `${kind} {${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', ...' : ''}}`;
    }
    case 'string': return `'${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
    case 'symbol': return `a symbol ${v.toString()}`;
    case 'bigint': return `a bigint ${v}n`;
    case 'function': return `a function${v.name ? ` ${v.name}` : ''}`;
    default: return `${typeof v} ${String(v)}`;
  }
}

/** Throws `TypeError("fn: name: expected <expected>, got <value>")`. */
export function argError(fn: string, name: string, expected: string, v: unknown): never {
  throw new TypeError(`${fn}: ${name}: expected ${expected}, got ${describe(v)}`);
}

/** A required tensor argument: its native handle. */
export function tensorArg(fn: string, name: string, v: unknown): NativeHandle {
  if (v instanceof Tensor) return v._h;
  return argError(fn, name, 'a Tensor', v);
}

/** A tensor-or-null argument (null/undefined: none); an options object here gets a hint. */
export function optTensorArg(fn: string, name: string, v: unknown): NativeHandle | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Tensor) return v._h;
  const hint = typeof v === 'object' && !Array.isArray(v) ? ` (options go in the next argument; pass null for no ${name})` : '';
  throw new TypeError(`${fn}: ${name}: expected a Tensor or null, got ${describe(v)}${hint}`);
}

/** A non-empty-or-empty array of tensors (nullable: null entries allowed, as index lists): their handles. */
export function tensorListArg(fn: string, name: string, v: unknown, nullable = false): (NativeHandle | null)[] {
  if (!Array.isArray(v)) return argError(fn, name, nullable ? 'an array of Tensors or nulls' : 'an array of Tensors', v);
  return v.map((t, i) => {
    if (t instanceof Tensor) return t._h;
    if (nullable && t === null) return null;
    return argError(fn, `${name}[${i}]`, nullable ? 'a Tensor or null' : 'a Tensor', t);
  });
}

/** A shape: an array of non-negative safe integers (TypeError for the wrong kind, RangeError for a bad size). */
export function shapeArg(fn: string, v: unknown, name = 'shape'): number[] {
  if (!Array.isArray(v)) return argError(fn, name, 'an array of non-negative integers', v);
  for (let i = 0; i < v.length; i++) {
    const s: unknown = v[i];
    if (typeof s !== 'number') argError(fn, `${name}[${i}]`, 'a non-negative integer', s);
    if (!Number.isSafeInteger(s) || s < 0) {
      throw new RangeError(`${fn}: ${name} must hold non-negative integers, got [${v.map((x) => (typeof x === 'number' ? String(x) : describe(x))).join(', ')}]`);
    }
  }
  return v as number[];
}

/** A boolean argument; undefined gives the default when one is given. */
export function boolArg(fn: string, name: string, v: unknown, dflt?: boolean): boolean {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v === 'boolean') return v;
  return argError(fn, name, 'true or false', v);
}

/** A number argument (any number, NaN and infinities included: libtorch decides what they mean). */
export function numberArg(fn: string, name: string, v: unknown): number {
  if (typeof v === 'number') return v;
  return argError(fn, name, 'a number', v);
}

/** An options object (or undefined: {}); null, arrays, tensors and primitives are TypeErrors. */
export function optionsArg<T extends object>(fn: string, v: T | undefined | null, name = 'options'): T {
  if (v === undefined) return {} as T;
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Tensor) return argError(fn, name, 'an options object', v);
  return v;
}

/** A function argument (tidy(fn), noGrad(fn) ...). */
export function fnArg<T extends (...args: never[]) => unknown>(fn: string, name: string, v: T): T {
  if (typeof v !== 'function') argError(fn, name, 'a function', v);
  return v;
}

let cudaBuilt: boolean | undefined;
/**
 * A device string ('cpu', 'cuda', 'cuda:N', or another libtorch device name), or null/undefined
 * for the default. A CUDA device on a build or machine without CUDA is an Error saying so,
 * instead of libtorch's "Could not run 'aten::empty_strided' ... 'CUDA' backend".
 */
export function deviceArg(fn: string, v: unknown, name = 'device'): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') return argError(fn, name, "a device string ('cpu', 'cuda', 'cuda:0' ...)", v);
  if (v.startsWith('cuda') && !native.cudaIsAvailable()) {
    cudaBuilt ??= native.buildInfo().cuda;
    throw new Error(cudaBuilt
      ? `${fn}: ${name} '${v}': CUDA is not available (no CUDA device found)`
      : `${fn}: ${name} '${v}': CUDA is not available in this build of tsvision/libtorch (a CPU-only build)`);
  }
  return v;
}
