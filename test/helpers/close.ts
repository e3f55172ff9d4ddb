/** Element-wise closeness used by the detection-module tests. */
import assert from 'node:assert/strict';

/** |a[i] − b[i]| ≤ tol · max(1, |b[i]|) for every i (absolute below 1, relative above). */
export function close(a: number[], b: number[], tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])))) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}
