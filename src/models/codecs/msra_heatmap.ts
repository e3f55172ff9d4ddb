/**
 * MMPose 1.x's MSRAHeatmap codec (Xiao et al. 2018's SimpleBaseline targets): keypoints in the input image
 * (the top-down crop, inputSize (w, h)) ↔ Gaussian heatmaps at heatmapSize (w, h); scale inputSize / heatmapSize.
 * unbiased true is DARK (Zhang et al. 2020): unbiased Gaussian targets and the Taylor-expansion decoding.
 *
 * Shapes: K keypoints; keypoints [K, 2] (x, y) input pixels; heatmaps [K, h, w]; weights, scores [K].
 */
import {
  generateGaussianHeatmaps, generateUnbiasedGaussianHeatmaps, getHeatmapMaximum, refineKeypoints, refineKeypointsDark,
  type Heatmaps,
} from './heatmap_utils';
import type { EncodedHeatmaps, HeatmapCodec } from './types';

export interface MSRAHeatmapConfig {
  type: 'MSRAHeatmap';
  /** (w, h) of the network input, e.g. [192, 256]. */
  inputSize: [number, number];
  /** (w, h) of the heatmaps, e.g. [48, 64]. */
  heatmapSize: [number, number];
  /** σ of the Gaussian in heatmap pixels (2). */
  sigma: number;
  /** DARK targets and decoding (default false). */
  unbiased?: boolean;
  /** Kernel of the blur before DARK's refinement (11). */
  blurKernelSize?: number;
}

export function checkSize(key: string, v: unknown): [number, number] {
  if (!(Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x >= 2))) {
    throw new Error(`${key}: expected [w, h] integers ≥ 2, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

export class MSRAHeatmap implements HeatmapCodec {
  readonly inputSize: [number, number];
  readonly heatmapSize: [number, number];
  readonly sigma: number;
  readonly unbiased: boolean;
  readonly blurKernelSize: number;
  /** inputSize / heatmapSize, in float32 as mmpose's. */
  readonly scaleFactor: [number, number];

  constructor(cfg: Omit<MSRAHeatmapConfig, 'type'>, key = 'codec') {
    this.inputSize = checkSize(`${key}.inputSize`, cfg.inputSize);
    this.heatmapSize = checkSize(`${key}.heatmapSize`, cfg.heatmapSize);
    if (!(cfg.sigma > 0)) throw new Error(`${key}.sigma: expected a positive number, got ${cfg.sigma}`);
    this.sigma = cfg.sigma;
    this.unbiased = cfg.unbiased ?? false;
    this.blurKernelSize = cfg.blurKernelSize ?? 11;
    if (!(Number.isInteger(this.blurKernelSize) && this.blurKernelSize % 2 === 1)) throw new Error(`${key}.blurKernelSize: expected an odd integer, got ${this.blurKernelSize}`);
    this.scaleFactor = [Math.fround(this.inputSize[0] / this.heatmapSize[0]), Math.fround(this.inputSize[1] / this.heatmapSize[1])];
  }

  /** keypoints [K, 2] in input pixels, visibility [K] (default all 1) → heatmaps [K, h, w] and weights [K]. */
  encode(keypoints: Float32Array, visible?: Float32Array): EncodedHeatmaps {
    const K = keypoints.length / 2;
    const vis = visible ?? new Float32Array(K).fill(1);
    const kp = new Float32Array(keypoints.length);
    for (let i = 0; i < kp.length; i++) kp[i] = Math.fround(keypoints[i] / this.scaleFactor[i % 2]);
    const [w, h] = this.heatmapSize;
    return this.unbiased ? generateUnbiasedGaussianHeatmaps(w, h, kp, vis, this.sigma) : generateGaussianHeatmaps(w, h, kp, vis, this.sigma);
  }

  /** heatmaps [K, h, w] → keypoints [K, 2] in input pixels and scores [K] (the heatmap maxima). */
  decode(hm: Heatmaps): { keypoints: Float32Array; scores: Float32Array } {
    const { keypoints, scores } = getHeatmapMaximum(hm);
    if (this.unbiased) refineKeypointsDark(keypoints, hm, this.blurKernelSize);
    else refineKeypoints(keypoints, hm);
    for (let i = 0; i < keypoints.length; i++) keypoints[i] = Math.fround(keypoints[i] * this.scaleFactor[i % 2]);
    return { keypoints, scores };
  }
}
