/** Element-wise closeness used by the detection-module tests, and the parity tests' tensor-wide relative error. */
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/torch';

/** |a[i] − b[i]| ≤ tol · max(1, |b[i]|) for every i (absolute below 1, relative above). */
export function close(a: number[], b: number[], tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])))) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

/** max |a − b| / max |b| over float tensors of one shape (the reference b must not be all zeros). */
export function maxRelErr(a: Tensor, b: Tensor, what: string): number {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const x = a.toTypedArray() as Float32Array, y = b.toTypedArray() as Float32Array;
  let d = 0, m = 0;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(y[i]));
  }
  assert.ok(m > 0, `${what}: the reference is all zeros`);
  return d / m;
}

/** Asserts maxRelErr(a, b) ≤ tol and returns it. */
export function assertMaxRelErr(a: Tensor, b: Tensor, tol: number, what: string): number {
  const e = maxRelErr(a, b, what);
  assert.ok(e <= tol, `${what}: max|Δ|/max|ref| = ${e.toExponential(3)} > ${tol}`);
  return e;
}
