import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { resizeNormalizeChw } from '../../src/data/image-kernels';
import { Rng } from '../../src/data/rng';
import { repoRoot } from '../helpers/paths';

/** cvRound: round half to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * OpenCV 4.x cv::resize(INTER_LINEAR) taps of one axis (imgproc/src/resize.cpp, 8U): float32
 * coordinates, 11-bit weights each rounded on its own, columns clamped to the edge pixel, rows
 * clamped after the weights are taken.
 */
function cv2Taps(o: number, src: number, dst: number, isRow: boolean): { i0: number; i1: number; c0: number; c1: number } {
  const scale = 1 / (dst / src);
  let f = Math.fround((o + 0.5) * scale - 0.5);
  let i0 = Math.floor(f);
  f = Math.fround(f - i0);
  let i1 = i0 + 1;
  if (isRow) {
    i0 = Math.min(Math.max(i0, 0), src - 1);
    i1 = Math.min(Math.max(i1, 0), src - 1);
  } else {
    if (i0 < 0) [f, i0] = [0, 0];
    if (i0 >= src - 1) [f, i0] = [0, src - 1];
    i1 = Math.min(i0 + 1, src - 1);
  }
  return { i0, i1, c0: roundHalfEven(Math.fround(1 - f) * 2048), c1: roundHalfEven(f * 2048) };
}

/**
 * The reference, one output value at a time: cv2.resize(INTER_LINEAR) of the uint8 image in
 * OpenCV's fixed point (horizontal sums >> 4, then ((b0 * t) >> 16) + ((b1 * b) >> 16) + 2 >> 2),
 * flip of the resized image, then (v - mean) / std in float32 (torch on the float32 batch), padded.
 */
function reference(
  src: Uint8Array, w: number, h: number, nw: number, nh: number, flop: boolean,
  mean: number[], std: number[], srcChannel: number[], rows: number, cols: number, padValue: number,
): Float32Array {
  const out = new Float32Array(3 * rows * cols).fill(padValue);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    for (let y = 0; y < nh; y++) {
      const ty = cv2Taps(y, h, nh, true);
      for (let x = 0; x < nw; x++) {
        const tx = cv2Taps(flop ? nw - 1 - x : x, w, nw, false);
        const px = (yy: number, xx: number) => src[(yy * w + xx) * 3 + srcChannel[c]];
        const top = (px(ty.i0, tx.i0) * tx.c0 + px(ty.i0, tx.i1) * tx.c1) >> 4;
        const bottom = (px(ty.i1, tx.i0) * tx.c0 + px(ty.i1, tx.i1) * tx.c1) >> 4;
        const v = (((ty.c0 * top) >> 16) + ((ty.c1 * bottom) >> 16) + 2) >> 2;
        out[(c * rows + y) * cols + x] = Math.fround(Math.fround(v - m) / s);
      }
    }
  }
  return out;
}

function randomImage(rng: Rng, w: number, h: number): Uint8Array {
  return Uint8Array.from({ length: w * h * 3 }, () => rng.int(0, 255));
}

/** Index of the first differing value (Object.is: -0 and 0 differ too), or -1. */
function firstDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const PYTORCH = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] };
const CAFFE = { mean: [103.53, 116.28, 123.675], std: [1, 1, 1] };
const UNIT = { mean: [0, 0, 0], std: [1, 1, 1] };

test('native resize+flip+normalize+pad equals the cv2 fixed-point reference exactly (sizes, flip, channel order, padding)', () => {
  const rng = new Rng(11);
  // [w, h, nw, nh]: upscales, mild and strong downscales, 2x (cv2's INTER_AREA case), identity,
  // a single pixel, one axis each way, the keep-ratio (1333, 800) size of a 64x48 image.
  const sizes: Array<[number, number, number, number]> = [
    [7, 5, 13, 9], [16, 12, 9, 7], [40, 20, 5, 3], [18, 10, 9, 5], [9, 9, 9, 9], [1, 1, 4, 3], [3, 8, 3, 20], [33, 17, 64, 11],
    [64, 48, 107, 80], [64, 48, 1067, 800], [37, 1, 70, 2],
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
            const i = firstDiff(got, want);
            assert.equal(i, -1, `${w}x${h} -> ${nw}x${nh} flop=${flop} srcChannel=${srcChannel} std=${norm.std[0]} planes ${rows}x${cols}: value ${i} is ${got[i]}, want ${want[i]}`);
            cases++;
          }
        }
      }
    }
  }
  assert.equal(cases, sizes.length * 16);
});

test('native kernel: normalization is a true float32 division (v - mean) / std, as torch', () => {
  // Every uint8 value in every channel, at the image's own size (cv2 copies).
  const src = Uint8Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));
  const out = resizeNormalizeChw(src, 256, 1, 256, 1, { ...PYTORCH, srcChannel: [2, 1, 0] });
  let reciprocalWouldDiffer = 0;
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(PYTORCH.mean[c]);
    const s = Math.fround(PYTORCH.std[c]);
    for (let v = 0; v < 256; v++) {
      const a = Math.fround(v - m);
      assert.equal(out[c * 256 + v], Math.fround(a / s), `channel ${c} value ${v}`);
      if (Math.fround(a * Math.fround(1 / s)) !== Math.fround(a / s)) reciprocalWouldDiffer++;
    }
  }
  assert.ok(reciprocalWouldDiffer > 0, 'the check would not catch a multiplication by 1 / std');
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

interface Cv2Index {
  cv2: string;
  images: Record<string, { width: number; height: number; file: string }>;
  cases: Array<{ image: string; width: number; height: number; sha256: string; file?: string; same_as_source?: boolean; band?: number; band_sums?: number[] }>;
}

/** The kernel's resize alone: planar float output with mean 0 / std 1 back to uint8 HWC. */
function kernelResize(src: Uint8Array, w: number, h: number, nw: number, nh: number, flop: boolean, srcChannel: number[]): Uint8Array {
  const out = resizeNormalizeChw(src, w, h, nw, nh, { ...UNIT, flop, srcChannel });
  const n = nw * nh;
  const hwc = new Uint8Array(n * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      const v = out[c * n + i];
      assert.ok(Number.isInteger(v) && v >= 0 && v <= 255, `value ${v} is not a uint8`);
      hwc[i * 3 + c] = v;
    }
  }
  return hwc;
}

test('native resize reproduces cv2.resize(INTER_LINEAR) byte for byte (test/fixtures/cv2_resize, cv2 4.8)', async () => {
  const dir = path.join(repoRoot, 'test', 'fixtures', 'cv2_resize');
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as Cv2Index;
  const images: Record<string, Uint8Array> = {};
  for (const [name, e] of Object.entries(index.images)) {
    if (e.file.endsWith('.png')) {
      // mmdet's LoadImageFromFile: cv2.imread, BGR.
      const { data, info } = await sharp(path.join(repoRoot, e.file)).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([info.width, info.height, info.channels], [e.width, e.height, 3]);
      const bgr = new Uint8Array(data);
      for (let i = 0; i < bgr.length; i += 3) [bgr[i], bgr[i + 2]] = [bgr[i + 2], bgr[i]];
      images[name] = bgr;
    } else {
      images[name] = new Uint8Array(fs.readFileSync(path.join(dir, e.file)));
    }
    assert.equal(images[name].length, e.width * e.height * 3, name);
  }
  assert.ok(index.cases.length >= 50);
  for (const c of index.cases) {
    const e = index.images[c.image];
    const what = `${c.image} (${e.width}x${e.height}) -> ${c.width}x${c.height}`;
    const got = kernelResize(images[c.image], e.width, e.height, c.width, c.height, false, [0, 1, 2]);
    if (c.file || c.same_as_source) {
      const want = c.same_as_source ? images[c.image] : new Uint8Array(fs.readFileSync(path.join(dir, c.file!)));
      const i = got.findIndex((v, k) => v !== want[k]);
      assert.equal(i, -1, `${what}: byte ${i} (row ${Math.floor(i / (3 * c.width))}) is ${got[i]}, cv2 ${want[i]}`);
    } else {
      const band = c.band!;
      const sums = c.band_sums!.map((_, b) => got.subarray(b * band * c.width * 3, (b + 1) * band * c.width * 3).reduce((s, v) => s + v, 0));
      const b = sums.findIndex((s, k) => s !== c.band_sums![k]);
      assert.equal(b, -1, `${what}: rows ${b * band}..${b * band + band - 1} sum to ${sums[b]}, cv2 ${c.band_sums![b]}`);
    }
    assert.equal(createHash('sha256').update(got).digest('hex'), c.sha256, what);
    // Flipped and with channels swapped: the mirror of the same bytes (mmdet's RandomFlip flips
    // the resized uint8 image).
    const flipped = kernelResize(images[c.image], e.width, e.height, c.width, c.height, true, [2, 1, 0]);
    for (let y = 0; y < c.height; y++) {
      for (let x = 0; x < c.width; x++) {
        for (let ch = 0; ch < 3; ch++) {
          const v = flipped[(y * c.width + x) * 3 + ch];
          const want = got[(y * c.width + (c.width - 1 - x)) * 3 + 2 - ch];
          if (v !== want) assert.fail(`${what} flipped, to_rgb: (${x}, ${y}) channel ${ch} is ${v}, want ${want}`);
        }
      }
    }
  }
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
