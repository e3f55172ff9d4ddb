/**
 * PhotoMetricDistortion: random brightness, contrast (before or after the colour steps),
 * saturation and hue, each with probability 1/2, in one of two flavours:
 *  - 'mmdet' (default, MMDetection's): float steps on the pixel values, HSV in floats; MMDetection
 *    keeps float values out of [0, 255], here the result is clamped to uint8 once at the end so
 *    geometric transforms can still follow;
 *  - 'mmseg' (MMSegmentation 1.x's, which its configs use): every step returns uint8 (float32
 *    arithmetic, clip to [0, 255], truncation), saturation and hue go through OpenCV's 8-bit HSV
 *    (H in 0-179, cv2.COLOR_BGR2HSV / HSV2BGR as OpenCV 4.8 computes them on x86 with AVX2), the hue shift is an
 *    integer of OpenCV's scale drawn from [-hueDelta/2, hueDelta/2).
 */
import { ensureDecoded } from '../image';
import type { Rng } from '../rng';
import type { Sample } from '../sample';
import type { Transform } from './transform';

export interface PhotoMetricDistortionOptions {
  brightnessDelta?: number;
  contrastRange?: [number, number];
  saturationRange?: [number, number];
  /** Hue shift in degrees (OpenCV's 0-180 hue scale in MMDetection: 18 there = 36 degrees here). */
  hueDelta?: number;
  /** Whose steps: MMDetection's float ones (default) or MMSegmentation's uint8 ones (see the file comment). */
  flavor?: 'mmdet' | 'mmseg';
}

export class PhotoMetricDistortion implements Transform {
  readonly name = 'PhotoMetricDistortion';
  private readonly o: Required<PhotoMetricDistortionOptions>;
  constructor(opts: PhotoMetricDistortionOptions = {}) {
    this.o = { brightnessDelta: 32, contrastRange: [0.5, 1.5], saturationRange: [0.5, 1.5], hueDelta: 36, flavor: 'mmdet', ...opts };
    if (this.o.flavor === 'mmseg' && !Number.isInteger(this.o.hueDelta / 2)) {
      throw new Error(`PhotoMetricDistortion.hueDelta: the mmseg flavour shifts hue by whole steps of OpenCV's 0-180 scale, so hueDelta (degrees) must be even, got ${this.o.hueDelta}`);
    }
  }

  async apply(sample: Sample, rng: Rng): Promise<Sample> {
    const img = await ensureDecoded(sample);
    if (!(img.data instanceof Uint8Array) || img.layout !== 'hwc') throw new Error('PhotoMetricDistortion: expected a uint8 HWC image (before Normalize)');
    const o = this.o;
    if (o.flavor === 'mmseg') {
      mmsegDistortion(img.data, img.width, img.order === 'rgb', o, rng);
      return sample;
    }
    const delta = rng.chance(0.5) ? rng.uniform(-o.brightnessDelta, o.brightnessDelta) : 0;
    const contrastFirst = rng.chance(0.5);
    const alpha = rng.chance(0.5) ? rng.uniform(o.contrastRange[0], o.contrastRange[1]) : 1;
    const sat = rng.chance(0.5) ? rng.uniform(o.saturationRange[0], o.saturationRange[1]) : 1;
    const hue = rng.chance(0.5) ? rng.uniform(-o.hueDelta, o.hueDelta) : 0;
    const d = img.data;
    const rgb = img.order === 'rgb';
    for (let i = 0; i < d.length; i += 3) {
      let r = d[rgb ? i : i + 2] + delta, g = d[i + 1] + delta, b = d[rgb ? i + 2 : i] + delta;
      if (contrastFirst) { r *= alpha; g *= alpha; b *= alpha; }
      if (sat !== 1 || hue !== 0) [r, g, b] = adjustHsv(r, g, b, sat, hue);
      if (!contrastFirst) { r *= alpha; g *= alpha; b *= alpha; }
      d[rgb ? i : i + 2] = clamp(r); d[i + 1] = clamp(g); d[rgb ? i + 2 : i] = clamp(b);
    }
    return sample;
  }
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** Scales saturation by `sat` and rotates hue by `hue` degrees (HSV round trip). */
function adjustHsv(r: number, g: number, b: number, sat: number, hue: number): [number, number, number] {
  const max = Math.max(r, g, b), min = Math.min(r, g, b);
  const v = max;
  let s = max > 0 ? (max - min) / max : 0;
  let h = 0;
  if (max > min) {
    if (max === r) h = (60 * (g - b)) / (max - min);
    else if (max === g) h = 120 + (60 * (b - r)) / (max - min);
    else h = 240 + (60 * (r - g)) / (max - min);
  }
  s = Math.min(1, s * sat);
  h = (((h + hue) % 360) + 360) % 360;
  const c = v * s, x = c * (1 - Math.abs(((h / 60) % 2) - 1)), m = v - c;
  const [rr, gg, bb] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return [rr + m, gg + m, bb + m];
}

/**
 * MMSegmentation's PhotoMetricDistortion.transform on an HWC uint8 image, in place, drawing in its order:
 * brightness (coin, delta), contrast-first coin, [contrast (coin, alpha)], saturation (coin, factor),
 * hue (coin, integer shift), [contrast]. A coin is numpy's randint(2) (true = 1).
 */
function mmsegDistortion(d: Uint8Array, width: number, rgb: boolean, o: Required<PhotoMetricDistortionOptions>, rng: Rng): void {
  // convert(): float32 x * alpha + beta, clipped to [0, 255], truncated to uint8 (numpy casts the
  // Python float scalars to float32 before the arithmetic)
  const convert = (alpha: number, beta: number, stride: number, offset: number): void => {
    const a = Math.fround(alpha), b = Math.fround(beta);
    for (let i = offset; i < d.length; i += stride) {
      const v = Math.fround(Math.fround(d[i] * a) + b);
      d[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
    }
  };
  const contrast = (): void => {
    if (rng.chance(0.5)) convert(rng.uniform(o.contrastRange[0], o.contrastRange[1]), 0, 1, 0);
  };
  if (rng.chance(0.5)) convert(1, rng.uniform(-o.brightnessDelta, o.brightnessDelta), 1, 0);
  const contrastFirst = rng.chance(0.5);
  if (contrastFirst) contrast();
  if (rng.chance(0.5)) {
    const f = rng.uniform(o.saturationRange[0], o.saturationRange[1]);
    bgrToHsv8(d, rgb);
    convert(f, 0, 3, 1);
    hsv8ToBgr(d, rgb, width);
  }
  if (rng.chance(0.5)) {
    const half = o.hueDelta / 2;
    const shift = rng.int(-half, half - 1);
    bgrToHsv8(d, rgb);
    for (let i = 0; i < d.length; i += 3) d[i] = (((d[i] + shift) % 180) + 180) % 180;
    hsv8ToBgr(d, rgb, width);
  }
  if (!contrastFirst) contrast();
}

const HSV_SHIFT = 12;
/** OpenCV's saturate_cast<int>(double): round half to even. */
const roundEven = (x: number): number => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
let hsvTables: { sdiv: Int32Array; hdiv: Int32Array } | undefined;
function tables(): { sdiv: Int32Array; hdiv: Int32Array } {
  if (!hsvTables) {
    const sdiv = new Int32Array(256), hdiv = new Int32Array(256);
    for (let i = 1; i < 256; i++) {
      sdiv[i] = roundEven((255 << HSV_SHIFT) / i);
      hdiv[i] = roundEven((180 << HSV_SHIFT) / (6 * i));
    }
    hsvTables = { sdiv, hdiv };
  }
  return hsvTables;
}

/** cv2.cvtColor(img, COLOR_BGR2HSV) on 8 bits (OpenCV's RGB2HSV_b, H in 0-179), in place; `rgb` if the pixels are RGB. */
export function bgrToHsv8(d: Uint8Array, rgb: boolean): void {
  const { sdiv, hdiv } = tables();
  const half = 1 << (HSV_SHIFT - 1);
  for (let i = 0; i < d.length; i += 3) {
    const b = d[rgb ? i + 2 : i], g = d[i + 1], r = d[rgb ? i : i + 2];
    const v = Math.max(b, g, r);
    const diff = v - Math.min(b, g, r);
    const s = (diff * sdiv[v] + half) >> HSV_SHIFT;
    let h = v === r ? g - b : v === g ? b - r + 2 * diff : r - g + 4 * diff;
    h = (h * hdiv[diff] + half) >> HSV_SHIFT;
    if (h < 0) h += 180;
    d[i] = h; d[i + 1] = s; d[i + 2] = v;
  }
}

const SECTORS = [[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]];
/** Pixels per vector block of OpenCV's HSV2RGB_b on x86 with AVX2 (4 vectors of 8 floats). */
const CV_HSV_BLOCK = 32;

/**
 * cv2.cvtColor(img, COLOR_HSV2BGR) on 8 bits, in place, for an image `width` pixels wide (OpenCV 4.8's HSV2RGB_b
 * as it runs on x86 with AVX2, float32 arithmetic throughout): each row's first floor(width / 32) * 32 pixels take
 * the vector path (truncation to uint8), the rest the scalar one (fmod, rounding half to even). An SSE-only build
 * of OpenCV has 16-pixel blocks and would differ by one grey level on some pixels.
 */
export function hsv8ToBgr(d: Uint8Array, rgb: boolean, width: number): void {
  const f = Math.fround;
  const hscale = f(6 / 180), inv255 = f(1 / 255);
  const tab = new Float32Array(4);
  const vectorCols = Math.floor(width / CV_HSV_BLOCK) * CV_HSV_BLOCK;
  const clampU8 = (x: number): number => (x < 0 ? 0 : x > 255 ? 255 : x);
  // the vector path truncates, the scalar one rounds half to even
  const truncated = (x: number): number => clampU8(Math.trunc(f(x * 255)));
  const rounded = (x: number): number => clampU8(roundEven(f(x * 255)));
  for (let i = 0, px = 0; i < d.length; i += 3, px++) {
    const vector = px % width < vectorCols;
    const s = f(d[i + 1] * inv255), v = f(d[i + 2] * inv255);
    let h = f(d[i] * hscale);
    let sector: number;
    if (vector) {
      sector = Math.trunc(h);
      h = f(h - sector);
      sector -= Math.trunc(f(sector * f(1 / 6))) * 6;
    } else {
      h = f(h % 6);
      sector = Math.floor(h);
      h = f(h - sector);
      if (sector < 0 || sector >= 6) { sector = 0; h = 0; }
    }
    let b: number, g: number, r: number;
    if (s === 0 && !vector) {
      b = g = r = v;
    } else {
      // 1 - s h and 1 - s (1 - h) are single fused multiply-adds in OpenCV's AVX2 build (the compiler contracts
      // them): the product is exact in a double, so one rounding to float32 reproduces them
      tab[0] = v; tab[1] = v * f(1 - s); tab[2] = v * f(1 - s * h); tab[3] = v * f(1 - s * f(1 - h));
      const sd = SECTORS[sector];
      b = tab[sd[0]]; g = tab[sd[1]]; r = tab[sd[2]];
    }
    const out = vector ? truncated : rounded;
    d[rgb ? i + 2 : i] = out(b); d[i + 1] = out(g); d[rgb ? i : i + 2] = out(r);
  }
}
