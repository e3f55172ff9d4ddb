/** Tensor element types, with the codes of c10::ScalarType. */

export type DType = 'uint8' | 'int8' | 'int16' | 'int32' | 'int64' | 'float16' | 'float32' | 'float64' | 'bool' | 'bfloat16';

export const DTYPE_CODE: Readonly<Record<DType, number>> = {
  uint8: 0, int8: 1, int16: 2, int32: 3, int64: 4, float16: 5, float32: 6, float64: 7, bool: 11, bfloat16: 15,
};

const CODE_DTYPE: Record<number, DType> = Object.fromEntries(
  Object.entries(DTYPE_CODE).map(([k, v]) => [v, k as DType]),
);

export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  uint8: 1, int8: 1, int16: 2, int32: 4, int64: 8, float16: 2, float32: 4, float64: 8, bool: 1, bfloat16: 2,
};

export function dtypeCode(dtype: DType): number {
  const code = typeof dtype === 'string' && Object.hasOwn(DTYPE_CODE, dtype) ? DTYPE_CODE[dtype] : undefined;
  if (code === undefined) {
    const got = typeof dtype === 'string' ? `'${dtype}'` : typeof dtype === 'object' || typeof dtype === 'function' ? String(dtype && typeof dtype) : `${typeof dtype} ${String(dtype)}`;
    throw new TypeError(`unknown dtype ${got} (expected one of ${Object.keys(DTYPE_CODE).join(', ')})`);
  }
  return code;
}

export function dtypeFromCode(code: number): DType {
  const d = CODE_DTYPE[code];
  if (d === undefined) throw new TypeError(`tensor has a scalar type (${code}) that tsvision does not support`);
  return d;
}

export function isFloatingPoint(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** The typed array that holds a dtype's elements (half types are read as float32). */
export type TypedArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;

/** The dtype a typed array naturally holds. */
export function dtypeOfTypedArray(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return 'uint8';
  if (a instanceof BigInt64Array) return 'int64';
  throw new TypeError(`cannot make a tensor from a ${a.constructor.name} (supported: Float32Array, Float64Array, Int32Array, Int16Array, Int8Array, Uint8Array, BigInt64Array)`);
}
