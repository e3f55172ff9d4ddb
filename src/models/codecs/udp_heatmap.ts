/**
 * MMPose 1.x's UDPHeatmap codec, heatmap_type 'gaussian' (Huang et al. 2020's unbiased data processing):
 * pixel centres aligned, scale (inputSize − 1) / (heatmapSize − 1); decoded with DARK's refinement as mmpose's
 * refine_keypoints_dark_udp. ('combined' offset maps are not implemented.)
 *
 * Shapes: K keypoints; keypoints [K, 2] (x, y) input pixels; heatmaps [K, h, w]; weights, scores [K].
 */
import { generateUdpGaussianHeatmaps, getHeatmapMaximum, refineKeypointsDarkUdp, type Heatmaps } from './heatmap_utils';
import { checkSize } from './msra_heatmap';
import type { EncodedHeatmaps, HeatmapCodec } from './types';

export interface UDPHeatmapConfig {
  type: 'UDPHeatmap';
  /** (w, h) of the network input. */
  inputSize: [number, number];
  /** (w, h) of the heatmaps. */
  heatmapSize: [number, number];
  /** Only 'gaussian' (mmpose's default). */
  heatmapType?: 'gaussian';
  /** σ in heatmap pixels (2). */
  sigma?: number;
  /** Kernel of the blur before the refinement (11). */
  blurKernelSize?: number;
}

export class UDPHeatmap implements HeatmapCodec {
  readonly inputSize: [number, number];
  readonly heatmapSize: [number, number];
  readonly sigma: number;
  readonly blurKernelSize: number;
  /** (inputSize − 1) / (heatmapSize − 1), float32 as mmpose's. */
  readonly scaleFactor: [number, number];

  constructor(cfg: Omit<UDPHeatmapConfig, 'type'>, key = 'codec') {
    this.inputSize = checkSize(`${key}.inputSize`, cfg.inputSize);
    this.heatmapSize = checkSize(`${key}.heatmapSize`, cfg.heatmapSize);
    if ((cfg.heatmapType ?? 'gaussian') !== 'gaussian') throw new Error(`${key}.heatmapType: only 'gaussian' is implemented, got ${JSON.stringify(cfg.heatmapType)}`);
    this.sigma = cfg.sigma ?? 2;
    if (!(this.sigma > 0)) throw new Error(`${key}.sigma: expected a positive number, got ${this.sigma}`);
    this.blurKernelSize = cfg.blurKernelSize ?? 11;
    if (!(Number.isInteger(this.blurKernelSize) && this.blurKernelSize % 2 === 1)) throw new Error(`${key}.blurKernelSize: expected an odd integer, got ${this.blurKernelSize}`);
    this.scaleFactor = [
      Math.fround((this.inputSize[0] - 1) / (this.heatmapSize[0] - 1)),
      Math.fround((this.inputSize[1] - 1) / (this.heatmapSize[1] - 1)),
    ];
  }

  /** keypoints [K, 2] in input pixels, visibility [K] (default all 1) → heatmaps [K, h, w] and weights [K]. */
  encode(keypoints: Float32Array, visible?: Float32Array): EncodedHeatmaps {
    const K = keypoints.length / 2;
    const vis = visible ?? new Float32Array(K).fill(1);
    const kp = new Float32Array(keypoints.length);
    for (let i = 0; i < kp.length; i++) kp[i] = Math.fround(keypoints[i] / this.scaleFactor[i % 2]);
    return generateUdpGaussianHeatmaps(this.heatmapSize[0], this.heatmapSize[1], kp, vis, this.sigma);
  }

  /** heatmaps [K, h, w] → keypoints [K, 2] in input pixels (x / (w − 1) · inputW) and scores [K]. */
  decode(hm: Heatmaps): { keypoints: Float32Array; scores: Float32Array } {
    const { keypoints, scores } = getHeatmapMaximum(hm);
    refineKeypointsDarkUdp(keypoints, hm, this.blurKernelSize);
    const [w, h] = this.heatmapSize;
    for (let i = 0; i < keypoints.length; i += 2) {
      keypoints[i] = (keypoints[i] / (w - 1)) * this.inputSize[0];
      keypoints[i + 1] = (keypoints[i + 1] / (h - 1)) * this.inputSize[1];
    }
    return { keypoints, scores };
  }
}
