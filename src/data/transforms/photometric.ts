/**
 * PhotoMetricDistortion (MMDetection): random brightness, contrast (before or after the
 * colour steps), saturation and hue, each with probability 1/2. MMDetection keeps float
 * values out of [0, 255]; here the result is clamped to uint8 so geometric transforms can
 * still follow.
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
}

export class PhotoMetricDistortion implements Transform {
  readonly name = 'PhotoMetricDistortion';
  private readonly o: Required<PhotoMetricDistortionOptions>;
  constructor(opts: PhotoMetricDistortionOptions = {}) {
    this.o = { brightnessDelta: 32, contrastRange: [0.5, 1.5], saturationRange: [0.5, 1.5], hueDelta: 36, ...opts };
  }

  async apply(sample: Sample, rng: Rng): Promise<Sample> {
    const img = await ensureDecoded(sample);
    if (!(img.data instanceof Uint8Array) || img.layout !== 'hwc') throw new Error('PhotoMetricDistortion: expected a uint8 HWC image (before Normalize)');
    const o = this.o;
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
