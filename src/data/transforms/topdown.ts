/**
 * Top-down pose (MMPose semantics): the person box becomes a centre and a scale (padding
 * 1.25, aspect ratio of the input size), the image is warped to the input size (e.g.
 * 192x256), and keypoints become Gaussian heatmaps at 1/4 resolution (MSRA, sigma 2).
 *
 * Shapes: input W x H (e.g. 192 x 256); heatmaps K x Hh x Wh (17 x 64 x 48).
 */
import { ensureDecoded } from '../image';
import type { Rng } from '../rng';
import type { Sample } from '../sample';
import type { Transform } from './transform';

/** MMPose bbox_xyxy2cs + _fix_aspect_ratio: centre [x, y] and scale [w, h] of a box. */
export function boxToCenterScale(box: ArrayLike<number>, aspect: number, padding = 1.25): { center: [number, number]; scale: [number, number] } {
  const center: [number, number] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2];
  let w = (box[2] - box[0]) * padding;
  let h = (box[3] - box[1]) * padding;
  if (w > h * aspect) h = w / aspect;
  else w = h * aspect;
  return { center, scale: [w, h] };
}

/** 2x3 affine [a, b, c, d, e, f] (x' = a x + b y + c, y' = d x + e y + f) taking the box to the output. */
export function warpMatrix(center: [number, number], scale: [number, number], rotDeg: number, out: [number, number]): number[] {
  const s = out[0] / scale[0];
  const t = (-rotDeg * Math.PI) / 180;
  const cos = Math.cos(t) * s, sin = Math.sin(t) * s;
  // p' = s R(-rot) (p - center) + out/2  (MMPose get_warp_matrix, continuous coordinates)
  return [cos, -sin, out[0] / 2 - cos * center[0] + sin * center[1], sin, cos, out[1] / 2 - sin * center[0] - cos * center[1]];
}

export interface TopdownAffineOptions {
  /** Network input [w, h], e.g. [192, 256] or [288, 384]. */
  inputSize: [number, number];
  /** Box padding factor. */
  padding?: number;
  /** Random scale factor range [lo, hi] applied to the box scale (RandomBBoxTransform); none by default. */
  scaleRange?: [number, number];
  /** Max random rotation in degrees, applied with probability rotateProb. */
  rotateFactor?: number;
  rotateProb?: number;
}

export class TopdownAffine implements Transform {
  readonly name = 'TopdownAffine';
  constructor(private readonly opts: TopdownAffineOptions) {}

  async apply(sample: Sample, rng: Rng): Promise<Sample> {
    const box = sample.targets.boxes;
    if (!box || box.length !== 4) throw new Error(`TopdownAffine: ${sample.meta.imgPath}: expected exactly one person box, got ${box ? box.length / 4 : 0}`);
    const [ow, oh] = this.opts.inputSize;
    const { center, scale } = boxToCenterScale(box, ow / oh, this.opts.padding ?? 1.25);
    const sr = this.opts.scaleRange;
    if (sr) {
      const f = rng.uniform(sr[0], sr[1]);
      scale[0] *= f; scale[1] *= f;
    }
    const rot = this.opts.rotateFactor && rng.chance(this.opts.rotateProb ?? 0.6) ? rng.uniform(-1, 1) * this.opts.rotateFactor : 0;
    const m = warpMatrix(center, scale, rot, [ow, oh]);
    const img = await ensureDecoded(sample);
    if (!(img.data instanceof Uint8Array) || img.layout !== 'hwc') throw new Error('TopdownAffine: expected a uint8 HWC image (before Normalize)');
    sample.img = { ...img, data: warpBilinear(img.data, img.width, img.height, m, ow, oh), width: ow, height: oh };
    const kps = sample.targets.keypoints;
    if (kps) {
      for (let i = 0; i < kps.length; i += 3) {
        if (kps[i + 2] <= 0) continue;
        const x = kps[i], y = kps[i + 1];
        kps[i] = m[0] * x + m[1] * y + m[2];
        kps[i + 1] = m[3] * x + m[4] * y + m[5];
      }
    }
    sample.targets.boxes = new Float32Array([0, 0, ow, oh]);
    sample.meta.imgShape = [oh, ow];
    sample.meta.padShape = [oh, ow];
    sample.pose = { heatmaps: new Float32Array(0), heatmapSize: [0, 0], targetWeights: new Float32Array(0), center, scale };
    return sample;
  }
}

/** Inverse-maps each output pixel centre through `m` and samples bilinearly (zeros outside). */
function warpBilinear(src: Uint8Array, w: number, h: number, m: number[], ow: number, oh: number): Uint8Array {
  const det = m[0] * m[4] - m[1] * m[3];
  const ia = m[4] / det, ib = -m[1] / det, id = -m[3] / det, ie = m[0] / det;
  const out = new Uint8Array(ow * oh * 3);
  for (let v = 0; v < oh; v++) {
    for (let u = 0; u < ow; u++) {
      const px = u + 0.5 - m[2], py = v + 0.5 - m[5];
      const x = ia * px + ib * py - 0.5, y = id * px + ie * py - 0.5; // source index coordinates
      const x0 = Math.floor(x), y0 = Math.floor(y);
      const fx = x - x0, fy = y - y0;
      const o = (v * ow + u) * 3;
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let dy = 0; dy < 2; dy++) {
          const yy = y0 + dy;
          if (yy < 0 || yy >= h) continue;
          for (let dx = 0; dx < 2; dx++) {
            const xx = x0 + dx;
            if (xx < 0 || xx >= w) continue;
            acc += src[(yy * w + xx) * 3 + c] * (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
          }
        }
        out[o + c] = Math.round(acc);
      }
    }
  }
  return out;
}

export interface HeatmapOptions {
  /** Heatmap [w, h], e.g. [48, 64] for a 192x256 input. */
  heatmapSize: [number, number];
  sigma?: number;
}

/** MSRA Gaussian heatmaps from the (warped) keypoints; weight 0 for unlabelled or off-map points. */
export class GenerateHeatmap implements Transform {
  readonly name = 'GenerateHeatmap';
  constructor(private readonly opts: HeatmapOptions) {}

  apply(sample: Sample): Sample {
    const kps = sample.targets.keypoints;
    if (!kps || !sample.pose) throw new Error('GenerateHeatmap: needs keypoints and TopdownAffine first');
    const [hw, hh] = this.opts.heatmapSize;
    const { heatmaps, weights } = gaussianHeatmaps(kps, [sample.img.width, sample.img.height], [hw, hh], this.opts.sigma ?? 2);
    sample.pose.heatmaps = heatmaps;
    sample.pose.heatmapSize = [hw, hh];
    sample.pose.targetWeights = weights;
    return sample;
  }
}

/** Heatmaps [K*Hh*Wh] and weights [K] for one instance's keypoints [K*3] given in an inputSize image. */
export function gaussianHeatmaps(kps: Float32Array, inputSize: [number, number], size: [number, number], sigma: number): { heatmaps: Float32Array; weights: Float32Array } {
  const k = kps.length / 3;
  const [W, H] = size;
  const heatmaps = new Float32Array(k * H * W);
  const weights = new Float32Array(k);
  const radius = sigma * 3;
  const sx = W / inputSize[0], sy = H / inputSize[1];
  for (let j = 0; j < k; j++) {
    if (kps[3 * j + 2] <= 0) continue;
    // Heatmap pixel whose cell holds the point (MMPose: int(index coordinate + 0.5)).
    const mx = Math.floor(kps[3 * j] * sx), my = Math.floor(kps[3 * j + 1] * sy);
    if (mx - radius >= W || my - radius >= H || mx + radius + 1 < 0 || my + radius + 1 < 0) continue;
    weights[j] = 1;
    const base = j * H * W;
    for (let y = Math.max(0, my - radius); y <= Math.min(H - 1, my + radius); y++) {
      for (let x = Math.max(0, mx - radius); x <= Math.min(W - 1, mx + radius); x++) {
        heatmaps[base + y * W + x] = Math.exp(-((x - mx) ** 2 + (y - my) ** 2) / (2 * sigma * sigma));
      }
    }
  }
  return { heatmaps, weights };
}
