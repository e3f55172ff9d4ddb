/**
 * Top-down pose (MMPose 1.x's pipeline, mmpose/datasets/transforms): GetBBoxCenterScale turns
 * the person box into a centre and a padded scale, the random box transforms
 * (topdown-random.ts) move them, TopdownAffine fixes the aspect ratio and warps the image to
 * the input size exactly as cv2.warpAffine does, and GenerateTarget runs a keypoint codec's
 * encoder on the warped keypoints.
 *
 * A top-down sample holds one person: `targets.boxes` [4] xyxy, `targets.keypoints` [K*3]
 * (x, y, v), the pose state in `sample.pose` (see PoseTargets). Arithmetic is float32 where
 * MMPose's arrays are float32, so centres, scales and warp matrices equal MMPose's to the bit.
 *
 * Shapes: input W x H (e.g. 192 x 256); heatmaps K x Hh x Wh (17 x 64 x 48).
 */
import { ensureDecoded } from '../image';
import type { Sample } from '../sample';
import type { Transform } from './transform';
import { getUdpWarpMatrix, getWarpMatrix, transformPoints, warpAffineLinear } from './warp-affine';

const f32 = Math.fround;

/** The single person box of a top-down sample, or an error naming the sample. */
export function personBox(sample: Sample, who: string): Float32Array {
  const box = sample.targets.boxes;
  if (!box || box.length !== 4) throw new Error(`${who}: ${sample.meta.imgPath}: expected exactly one person box, got ${box ? box.length / 4 : 0}`);
  return box;
}

export interface GetBBoxCenterScaleOptions {
  /** Factor on the box size (MMPose's padding); default 1.25. */
  padding?: number;
}

/** MMPose GetBBoxCenterScale: centre = box middle, scale = box size x padding (bbox_xyxy2cs). */
export class GetBBoxCenterScale implements Transform {
  readonly name = 'GetBBoxCenterScale';
  private readonly padding: number;
  constructor(opts: GetBBoxCenterScaleOptions = {}) {
    this.padding = opts.padding ?? 1.25;
    if (!(this.padding > 0)) throw new Error(`GetBBoxCenterScale.padding: expected a positive number, got ${opts.padding}`);
  }

  apply(sample: Sample): Sample {
    if (sample.pose) {
      // MMPose: an existing centre/scale is kept and only padded.
      sample.pose.scale = [f32(sample.pose.scale[0] * this.padding), f32(sample.pose.scale[1] * this.padding)];
      return sample;
    }
    const b = personBox(sample, this.name);
    sample.pose = {
      center: [f32(f32(b[2] + b[0]) * 0.5), f32(f32(b[3] + b[1]) * 0.5)],
      scale: [f32(f32(b[2] - b[0]) * this.padding), f32(f32(b[3] - b[1]) * this.padding)],
      rotation: 0,
      heatmaps: new Float32Array(0),
      heatmapSize: [0, 0],
      targetWeights: new Float32Array(0),
    };
    return sample;
  }
}

/** MMPose TopdownAffine._fix_aspect_ratio: grows the short side of `scale` [w, h] to the aspect ratio w/h. */
export function fixAspectRatio(scale: readonly [number, number], aspectRatio: number): [number, number] {
  const [w, h] = scale;
  return w > f32(h * aspectRatio) ? [w, f32(w / aspectRatio)] : [f32(h * aspectRatio), h];
}

export interface TopdownAffineOptions {
  /** Network input [w, h], e.g. [192, 256] or [288, 384]. */
  inputSize: [number, number];
  /** Unbiased data processing (UDP, CVPR 2020): get_udp_warp_matrix instead of get_warp_matrix; default false. */
  useUdp?: boolean;
}

/**
 * MMPose TopdownAffine: fixes the box to the input's aspect ratio, warps the image (bilinear,
 * zeros outside) and every keypoint, including unlabelled ones, as MMPose does. The keypoints
 * are replaced by their input-image coordinates (MMPose's transformed_keypoints); the box
 * becomes the whole input.
 */
export class TopdownAffine implements Transform {
  readonly name = 'TopdownAffine';
  constructor(private readonly opts: TopdownAffineOptions) {
    const s = opts.inputSize;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => Number.isInteger(v) && v > 0)) {
      throw new Error(`TopdownAffine.inputSize: expected [w, h] positive integers, got ${JSON.stringify(s)}`);
    }
  }

  /** The 2x3 matrix from original-image pixels to input pixels for the sample's (fixed) box. */
  warpMatrix(center: readonly [number, number], scale: readonly [number, number], rotation: number): number[] {
    const size = this.opts.inputSize;
    return this.opts.useUdp ? getUdpWarpMatrix(center, scale, rotation, size) : getWarpMatrix(center, scale, rotation, size);
  }

  async apply(sample: Sample): Promise<Sample> {
    const pose = sample.pose;
    if (!pose) throw new Error(`TopdownAffine: ${sample.meta.imgPath}: no box centre/scale (GetBBoxCenterScale must run first)`);
    const [w, h] = this.opts.inputSize;
    pose.scale = fixAspectRatio(pose.scale, w / h);
    const m = this.warpMatrix(pose.center, pose.scale, pose.rotation);
    const img = await ensureDecoded(sample);
    if (!(img.data instanceof Uint8Array) || img.layout !== 'hwc') throw new Error(`TopdownAffine: ${sample.meta.imgPath}: expected a uint8 HWC image (before Normalize)`);
    sample.img = { ...img, data: warpAffineLinear(img.data, img.width, img.height, img.channels, m, w, h), width: w, height: h };
    if (sample.targets.keypoints) transformPoints(sample.targets.keypoints, m, 3);
    sample.targets.boxes = new Float32Array([0, 0, w, h]);
    sample.meta.imgShape = [h, w];
    sample.meta.padShape = [h, w];
    pose.inputSize = [w, h];
    return sample;
  }
}

/** What a keypoint codec's encoder returns for one sample (MMPose's encoded dict, heatmap codecs). */
export interface EncodedKeypoints {
  /** [K*Hh*Wh] target heatmaps. */
  heatmaps: Float32Array;
  /** [w, h] of each heatmap. */
  heatmapSize: [number, number];
  /** [N*K] loss weight of each keypoint (N = 1 top-down). */
  keypointWeights: Float32Array;
}

/**
 * A keypoint codec's encode (MMPose's `codec.encode(keypoints, keypoints_visible)`), written in
 * src/models/codecs and handed to GenerateTarget. Keypoints are in input-image pixels.
 */
export interface KeypointEncoder {
  /**
   * @param keypoints [N*K*2] x, y (input pixels, MMPose's transformed_keypoints)
   * @param keypointsVisible [N*K] MMPose's keypoints_visible: min(1, v), 0 for unlabelled
   * @param numKeypoints K
   */
  encode(keypoints: Float32Array, keypointsVisible: Float32Array, numKeypoints: number): EncodedKeypoints;
}

/** A codec described as data (the form a pipeline spec carries), e.g. { type: 'MSRAHeatmap', inputSize, heatmapSize, sigma }. */
export interface KeypointEncoderSpec {
  type: string;
  [option: string]: unknown;
}

export interface GenerateTargetOptions {
  /** The codec whose encoder makes the targets. */
  encoder: KeypointEncoder;
  /** Multiply the weights by the dataset's per-keypoint weights (MMPose use_dataset_keypoint_weights); default false. */
  useDatasetKeypointWeights?: boolean;
  /** [K] the dataset's keypoint weights, needed with useDatasetKeypointWeights. */
  datasetKeypointWeights?: readonly number[];
}

/** MMPose GenerateTarget (single encoder): encodes the warped keypoints into sample.pose's heatmaps and weights. */
export class GenerateTarget implements Transform {
  readonly name = 'GenerateTarget';
  constructor(private readonly opts: GenerateTargetOptions) {
    if (opts.useDatasetKeypointWeights && !opts.datasetKeypointWeights) throw new Error('GenerateTarget: useDatasetKeypointWeights needs datasetKeypointWeights');
  }

  apply(sample: Sample): Sample {
    const kps = sample.targets.keypoints;
    if (!kps || !sample.pose?.inputSize) throw new Error(`GenerateTarget: ${sample.meta.imgPath}: needs keypoints and TopdownAffine first`);
    const k = sample.targets.numKeypoints ?? kps.length / 3;
    const n = kps.length / 3;
    const xy = new Float32Array(2 * n);
    const visible = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      xy[2 * i] = kps[3 * i];
      xy[2 * i + 1] = kps[3 * i + 1];
      visible[i] = Math.min(1, kps[3 * i + 2]);
    }
    const enc = this.opts.encoder.encode(xy, visible, k);
    let weights = enc.keypointWeights;
    if (this.opts.useDatasetKeypointWeights) {
      const dw = this.opts.datasetKeypointWeights!;
      if (dw.length !== k) throw new Error(`GenerateTarget.datasetKeypointWeights: expected ${k} weights, got ${dw.length}`);
      weights = weights.map((v, i) => f32(v * dw[i % k]));
    }
    sample.pose.heatmaps = enc.heatmaps;
    sample.pose.heatmapSize = enc.heatmapSize;
    sample.pose.targetWeights = weights;
    return sample;
  }
}

// ----------------------------------------------------------------------------------------------
// The MSRA Gaussian helpers of the first top-down pipeline, kept for the dataset browser's
// heatmap view until the codecs of src/models/codecs are wired in.

/** MMPose bbox_xyxy2cs + _fix_aspect_ratio in double precision: centre [x, y] and scale [w, h] of a box. */
export function boxToCenterScale(box: ArrayLike<number>, aspect: number, padding = 1.25): { center: [number, number]; scale: [number, number] } {
  const center: [number, number] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2];
  let w = (box[2] - box[0]) * padding;
  let h = (box[3] - box[1]) * padding;
  if (w > h * aspect) h = w / aspect;
  else w = h * aspect;
  return { center, scale: [w, h] };
}

/** Unrotated 2x3 affine [a, b, c, d, e, f] taking the box to the output: p' = s R(-rot) (p - center) + out/2. */
export function warpMatrix(center: [number, number], scale: [number, number], rotDeg: number, out: [number, number]): number[] {
  const s = out[0] / scale[0];
  const t = (-rotDeg * Math.PI) / 180;
  const cos = Math.cos(t) * s, sin = Math.sin(t) * s;
  return [cos, -sin, out[0] / 2 - cos * center[0] + sin * center[1], sin, cos, out[1] / 2 - sin * center[0] - cos * center[1]];
}

export interface HeatmapOptions {
  /** Heatmap [w, h], e.g. [48, 64] for a 192x256 input. */
  heatmapSize: [number, number];
  sigma?: number;
}

/** Gaussian heatmaps from the (warped) keypoints; weight 0 for unlabelled or off-map points. */
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
