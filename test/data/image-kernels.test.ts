import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { resizeNormalizeChw } from '../../src/data/image-kernels';
import { Rng } from '../../src/data/rng';

/**
 * The reference: OpenCV INTER_LINEAR (half-pixel centres, edge clamp) written plainly in
 * double precision, one output value at a time, then flip, normalize and pad.
 */
function reference(
  src: Uint8Array, w: number, h: number, nw: number, nh: number, flop: boolean,
  mean: number[], std: number[], srcChannel: number[], rows: number, cols: number, padValue: number,
): Float32Array {
  const out = new Float32Array(3 * rows * cols).fill(padValue);
  const taps = (o: number, n: number, size: number) => {
    const s = Math.max((o + 0.5) * (size / n) - 0.5, 0);
    const i0 = Math.min(Math.floor(s), size - 1);
    return { i0, i1: Math.min(i0 + 1, size - 1), f: Math.min(s - i0, 1) };
  };
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < nh; y++) {
      const ty = taps(y, nh, h);
      for (let x = 0; x < nw; x++) {
        const tx = taps(flop ? nw - 1 - x : x, nw, w);
        const px = (yy: number, xx: number) => src[(yy * w + xx) * 3 + srcChannel[c]];
        const top = px(ty.i0, tx.i0) + (px(ty.i0, tx.i1) - px(ty.i0, tx.i0)) * tx.f;
        const bottom = px(ty.i1, tx.i0) + (px(ty.i1, tx.i1) - px(ty.i1, tx.i0)) * tx.f;
        out[(c * rows + y) * cols + x] = (top + (bottom - top) * ty.f - mean[c]) / std[c];
      }
    }
  }
  return out;
}

function randomImage(rng: Rng, w: number, h: number): Uint8Array {
  return Uint8Array.from({ length: w * h * 3 }, () => rng.int(0, 255));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const PYTORCH = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] };
const CAFFE = { mean: [103.53, 116.28, 123.675], std: [1, 1, 1] };

test('native resize+flip+normalize+pad matches the reference within 1e-4 (sizes, flip, channel order, padding)', () => {
  const rng = new Rng(11);
  // [w, h, nw, nh]: upscales, mild and strong downscales, identity, a single pixel, one axis each way.
  const sizes: Array<[number, number, number, number]> = [
    [7, 5, 13, 9], [16, 12, 9, 7], [40, 20, 5, 3], [9, 9, 9, 9], [1, 1, 4, 3], [3, 8, 3, 20], [33, 17, 64, 11], [64, 48, 107, 80],
  ];
  let cases = 0;
  for (const [w, h, nw, nh] of sizes) {
    const src = randomImage(rng, w, h);
    for (const flop of [false, true]) {
      for (const srcChannel of [[0, 1, 2], [2, 1, 0]]) {
        for (const norm of [PYTORCH, CAFFE]) {
          for (const [rows, cols, padValue] of [[nh, nw, 0], [nh + 3, nw + 5, -1.5]]) {
            const got = resizeNormalizeChw(src, w, h, nw, nh, { flop, ...norm, srcChannel, planeShape: [rows, cols], padValue });
            const want = reference(src, w, h, nw, nh, flop, norm.mean, norm.std, srcChannel, rows, cols, padValue);
            const d = maxDiff(got, want);
            assert.ok(d <= 1e-4, `${w}x${h} -> ${nw}x${nh} flop=${flop} srcChannel=${srcChannel} std=${norm.std[0]} planes ${rows}x${cols}: max diff ${d}`);
            cases++;
          }
        }
      }
    }
  }
  assert.equal(cases, sizes.length * 16);
});

test('native kernel: same size is a plain normalize, and values are exact where the arithmetic is', () => {
  const src = new Uint8Array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255]); // 2 x 2
  const out = resizeNormalizeChw(src, 2, 2, 2, 2, { mean: [0, 10, 20], std: [1, 2, 4] });
  assert.deepEqual([...out], [0, 30, 60, 90, 0, 15, 30, 45, 0, 7.5, 15, 58.75]);
  // Upscaling 2 -> 4 with a flip and channels swapped (to_rgb), padded with 9.
  const ramp = new Uint8Array([0, 1, 2, 100, 101, 102]); // 2 x 1
  const up = resizeNormalizeChw(ramp, 2, 1, 4, 1, { flop: true, mean: [0, 0, 0], std: [1, 1, 1], srcChannel: [2, 1, 0], planeShape: [2, 5], padValue: 9 });
  assert.deepEqual([...up.subarray(0, 10)], [102, 77, 27, 2, 9, 9, 9, 9, 9, 9]);
  assert.deepEqual([...up.subarray(20, 25)], [100, 75, 25, 0, 9]);
});

test('native kernel: bad arguments are JavaScript errors, never a crash', () => {
  const src = new Uint8Array(4 * 3 * 3);
  const norm = { mean: [0, 0, 0], std: [1, 1, 1] };
  assert.throws(() => resizeNormalizeChw(src, 4, 4, 8, 8, norm), /src must be a Uint8Array of 4x4x3 = 48 bytes, got 36/);
  assert.throws(() => resizeNormalizeChw(src, 4, 3, 8.5, 8, norm), /sizes must be positive integers/);
  assert.throws(() => resizeNormalizeChw(src, 4, 3, 0, 8, norm), /sizes must be positive integers/);
  assert.throws(() => resizeNormalizeChw(src, 4, 3, 8, 8, { ...norm, planeShape: [8, 7] }), /planes 8x7 are smaller than the 8x8 image/);
  assert.throws(() => resizeNormalizeChw(src, 4, 3, 8, 8, { ...norm, std: [1, 0, 1] }), /std 3 positive ones/);
  assert.throws(() => resizeNormalizeChw(src, 4, 3, 8, 8, { ...norm, mean: [0, 0] }), /mean must be 3 finite numbers/);
  assert.throws(() => resizeNormalizeChw(src, 4, 3, 8, 8, { ...norm, srcChannel: [0, 1, 3] }), /srcChannel must be 3 indices/);
  assert.throws(() => resizeNormalizeChw(new Float32Array(36) as unknown as Uint8Array, 4, 3, 8, 8, norm), /src must be a Uint8Array/);

  // The addon checks again on its own (a caller that skips the wrapper).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = require(path.resolve(__dirname, '..', '..', '..', 'build', 'tsvision_image.node'));
  const dst = new Float32Array(3 * 8 * 8);
  const call = (...over: Array<[number, unknown]>) => {
    const args: unknown[] = [src, 4, 3, dst, 8, 8, 8, 8, false, [0, 1, 2], [0, 0, 0], [1, 1, 1], 0];
    for (const [i, v] of over) args[i] = v;
    return () => native.resizeNormalize(...args);
  };
  call()(); // valid
  assert.throws(call([1, 5]), /src must hold w \* h \* 3 bytes/);
  assert.throws(call([3, new Float32Array(10)]), /dst must hold 3 \* rows \* cols values/);
  assert.throws(call([6, 9]), /nw <= cols/);
  assert.throws(call([3, new Uint8Array(192)]), /dst must be a Float32Array/);
  assert.throws(call([0, [1, 2, 3]]), /src must be a Uint8Array/);
  assert.throws(call([2, -1]), /h must be an integer >= 1/);
  assert.throws(call([9, [0, 1, 7]]), /srcChannel entries must be 0, 1 or 2/);
  assert.throws(call([11, [1, -1, 1]]), /std must be positive/);
  assert.throws(call([10, 'x']), /mean must be an array of 3 numbers/);
  assert.throws(call([12, 'x']), /padValue must be a number/);
  assert.throws(() => native.resizeNormalize(src), /expected 13 arguments/);
});
