/**
 * Shared pieces of the tensor-engine tests: a seeded PRNG, closeness checks, a
 * float64 finite-difference gradient check, and a harness that evaluates many
 * cases in one python3-torch process and compares them with ours.
 */
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor, DType } from '../../src/torch';
import { python } from '../helpers/reference';

// ---------------------------------------------------------------- data

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic input data: a flat array with its shape and dtype. */
export interface Data {
  data: number[];
  shape: number[];
  dtype: DType;
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Uniform values in [lo, hi). */
export function uniform(seed: number, shape: number[], lo = -1, hi = 1, dtype: DType = 'float32'): Data {
  const r = prng(seed);
  return { data: Array.from({ length: numel(shape) }, () => lo + (hi - lo) * r()), shape, dtype };
}

/** Standard normal values (Box-Muller). */
export function normal(seed: number, shape: number[], dtype: DType = 'float32'): Data {
  const r = prng(seed);
  return {
    data: Array.from({ length: numel(shape) }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())),
    shape,
    dtype,
  };
}

/** Integers in [lo, hi). */
export function ints(seed: number, shape: number[], lo: number, hi: number, dtype: DType = 'int64'): Data {
  const r = prng(seed);
  return { data: Array.from({ length: numel(shape) }, () => lo + Math.floor((hi - lo) * r())), shape, dtype };
}

/** Booleans (as 0/1) with probability p of true. */
export function bools(seed: number, shape: number[], p = 0.5): Data {
  const r = prng(seed);
  return { data: Array.from({ length: numel(shape) }, () => (r() < p ? 1 : 0)), shape, dtype: 'bool' };
}

/** Explicit values. */
export function given(data: number[], shape: number[], dtype: DType = 'float32'): Data {
  assert.equal(data.length, numel(shape), 'given: data does not fill the shape');
  return { data, shape, dtype };
}

/** Our tensor for a Data. */
export function toTensor(d: Data, opts: { requiresGrad?: boolean } = {}): Tensor {
  const t = d.dtype === 'bool'
    ? torch.tensor(d.data, { dtype: 'uint8' }).to('bool').reshape(d.shape)
    : torch.tensor(d.data, { dtype: d.dtype }).reshape(d.shape);
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

// ---------------------------------------------------------------- comparison

/** A tensor as plain data: dtype, shape and row-major elements (bool as 0/1). */
export interface Enc {
  t: true;
  dtype: string;
  shape: number[];
  data: (number | string | boolean)[];
}
export type Encoded = Enc | Encoded[] | number | boolean | string | null | { error: string };

export function encode(x: unknown): Encoded {
  if (x instanceof torch.Tensor) return { t: true, dtype: x.dtype, shape: x.shape, data: x.toArray() };
  if (Array.isArray(x)) return x.map(encode);
  if (x === null || x === undefined) return null;
  if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'string') return x;
  throw new TypeError(`encode: cannot encode ${String(x)}`);
}

function num(v: number | string | boolean): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v);
  return v;
}

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** Elementwise |a - b| <= atol + rtol·|b|, with NaN == NaN and equal infinities. */
export function assertCloseArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance = {}, what = ''): void {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} elements, expected ${expected.length}`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (Number.isNaN(b) || Number.isNaN(a)) {
      if (Number.isNaN(a) !== Number.isNaN(b)) { worst = i; worstErr = Infinity; break; }
      continue;
    }
    if (!Number.isFinite(b) || !Number.isFinite(a)) {
      if (a !== b) { worst = i; worstErr = Infinity; break; }
      continue;
    }
    const err = Math.abs(a - b) - (atol + rtol * Math.abs(b));
    if (err > worstErr) { worstErr = err; worst = i; }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

const FLOAT = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/** Compares two encoded values: dtypes and shapes equal; floats within tolerance, others exact. */
export function assertMatches(actual: Encoded, expected: Encoded, tol: Tolerance = {}, what = 'result'): void {
  if (expected !== null && typeof expected === 'object' && 'error' in expected) {
    assert.fail(`${what}: the reference failed: ${expected.error}`);
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${what}: expected a list of ${expected.length}`);
    assert.equal(actual.length, expected.length, `${what}: list length`);
    expected.forEach((e, i) => assertMatches((actual as Encoded[])[i], e, tol, `${what}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === 'object' && 't' in expected) {
    const a = actual as Enc;
    assert.ok(a !== null && typeof a === 'object' && 't' in a, `${what}: expected a tensor, got ${JSON.stringify(actual)}`);
    assert.equal(a.dtype, expected.dtype, `${what}: dtype`);
    assert.deepEqual(a.shape, expected.shape, `${what}: shape`);
    const ad = a.data.map(num);
    const ed = expected.data.map(num);
    if (FLOAT.has(expected.dtype)) assertCloseArrays(ad, ed, tol, what);
    else assert.deepEqual(ad, ed, `${what}: values`);
    return;
  }
  if (typeof expected === 'number' || typeof expected === 'string') {
    assertCloseArrays([num(actual as number)], [num(expected)], tol, what);
    return;
  }
  assert.deepEqual(actual, expected, what);
}

/** Our tensor against expected values (nested or flat), with tolerance for floats. */
export function assertTensor(t: Tensor, shape: number[], values: number[], tol: Tolerance = {}): void {
  assert.deepEqual(t.shape, shape, 'shape');
  if (t.isFloatingPoint()) assertCloseArrays(t.toArray(), values, tol, 'values');
  else assert.deepEqual(t.toArray(), values);
}

// ---------------------------------------------------------------- reference harness

/** One case: a Python expression over the pool's tensors and our computation of the same. */
export interface RefCase extends Tolerance {
  name: string;
  /** Python expression (torch, F = torch.nn.functional, ops = torchvision.ops, pool names in scope). */
  py: string;
  /** Ours: tensors, arrays of them, numbers. Runs inside tidy. */
  ts: (p: Record<string, Tensor>) => unknown;
}

const HARNESS = String.raw`
import math
F = torch.nn.functional
ops = torchvision.ops
DT = {'float32': torch.float32, 'float64': torch.float64, 'float16': torch.float16, 'bfloat16': torch.bfloat16,
      'int64': torch.int64, 'int32': torch.int32, 'int16': torch.int16, 'int8': torch.int8, 'uint8': torch.uint8, 'bool': torch.bool}
env = {'torch': torch, 'F': F, 'ops': ops, 'math': math, 'torchvision': torchvision}
for k, v in inp['pool'].items():
    env[k] = torch.tensor(v['data'], dtype=torch.float64 if v['dtype'] != 'bool' else torch.bool).to(DT[v['dtype']]).reshape(v['shape'])
def enc(x):
    if isinstance(x, torch.Tensor):
        x = x.detach()
        dt = str(x.dtype).replace('torch.', '')
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        flat = x.reshape(-1).tolist()
        if x.is_floating_point():
            flat = [v if math.isfinite(v) else repr(v) for v in flat]
        return {'t': True, 'dtype': dt, 'shape': list(x.shape), 'data': flat}
    if isinstance(x, (list, tuple)):
        return [enc(v) for v in x]
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, (int, float)):
        return x if math.isfinite(x) else repr(x)
    raise TypeError('cannot encode %r' % type(x))
out = {}
for c in inp['cases']:
    try:
        torch.manual_seed(0)
        out[c['name']] = enc(eval(c['py'], env))
    except Exception as e:
        out[c['name']] = {'error': repr(e)}
`;

/** Evaluates every case's Python expression in one reference process. */
export function referenceResults(pool: Record<string, Data>, cases: { name: string; py: string }[]): Record<string, Encoded> {
  const names = new Set<string>();
  for (const c of cases) {
    assert.ok(!names.has(c.name), `duplicate case name ${c.name}`);
    names.add(c.name);
  }
  return python<Record<string, Encoded>>(HARNESS, { pool, cases: cases.map(({ name, py }) => ({ name, py })) });
}

/** Runs ours for one case (inside tidy, pool tensors fresh) and compares with the reference. */
export function checkCase(pool: Record<string, Data>, c: RefCase, expected: Encoded): void {
  torch.tidy(() => {
    const p: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(pool)) p[k] = toTensor(v);
    torch.manualSeed(0);
    const actual = encode(c.ts(p));
    assertMatches(actual, expected, c, c.name);
  });
}

// ---------------------------------------------------------------- gradient check

/**
 * Finite-difference check in float64: for f(inputs) -> tensor, compares the gradient
 * of sum(f(x) · w) (w fixed random weights) from our backward with central
 * differences (eps 1e-6) for every element of the inputs marked in `wrt`.
 */
export function gradcheck(
  f: (xs: Tensor[]) => Tensor,
  inputs: Data[],
  opts: { wrt?: number[]; eps?: number; rtol?: number; atol?: number; name?: string } = {},
): void {
  const eps = opts.eps ?? 1e-6;
  const wrt = opts.wrt ?? inputs.map((_, i) => i).filter((i) => FLOAT.has(inputs[i].dtype));
  const name = opts.name ?? 'gradcheck';
  torch.tidy(() => {
    const xs = inputs.map((d, i) => toTensor(d, { requiresGrad: wrt.includes(i) }));
    const out = f(xs);
    const w = toTensor(uniform(12345, out.shape, 0.5, 1.5, 'float64'));
    out.mul(w).sum().backward();
    const value = (vals: Data[]): number => torch.tidy(() => torch.noGrad(() => f(vals.map((d) => toTensor(d))).mul(w).sum().item()));
    for (const i of wrt) {
      const g = xs[i].grad;
      assert.ok(g, `${name}: input ${i} has no gradient`);
      const analytic = g.toArray();
      const numeric: number[] = [];
      for (let k = 0; k < inputs[i].data.length; k++) {
        const plus = inputs.map((d) => ({ ...d, data: d.data.slice() }));
        const minus = inputs.map((d) => ({ ...d, data: d.data.slice() }));
        plus[i].data[k] += eps;
        minus[i].data[k] -= eps;
        numeric.push((value(plus) - value(minus)) / (2 * eps));
      }
      assertCloseArrays(analytic, numeric, { rtol: opts.rtol ?? 1e-5, atol: opts.atol ?? 1e-6 }, `${name}: d/d input ${i}`);
    }
  });
}
