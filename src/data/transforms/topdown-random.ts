/**
 * The random steps of MMPose 1.x's top-down training pipeline (common_transforms.py):
 * RandomFlip (keypoints), RandomHalfBody, RandomBBoxTransform. Each splits into `draw(...)`,
 * which makes the random choices from the sample's Rng in MMPose's order and with its
 * distributions, and `applyDraws(sample, draws)`, which is deterministic and equals MMPose
 * for the same draws (tests inject the draws MMPose made). Our Rng is not numpy's, so a seed
 * gives other draws than MMPose's, from the same distributions.
 */
import { ensureDecoded } from '../image';
import type { Rng } from '../rng';
import type { Sample } from '../sample';
import { flipRowsInPlace } from './geometry';
import type { Transform } from './transform';

const f32 = Math.fround;

/** COCO's 17 keypoints: the index of each keypoint's mirror image (MMPose flip_indices). */
export const COCO_FLIP_INDICES: readonly number[] = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15];
/** COCO upper-body keypoints (nose .. wrists), MMPose's upper_body_ids. */
export const COCO_UPPER_BODY_IDS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
/** COCO lower-body keypoints (hips .. ankles), MMPose's lower_body_ids. */
export const COCO_LOWER_BODY_IDS: readonly number[] = [11, 12, 13, 14, 15, 16];

/** flip_indices [K] from left/right pairs (a dataset's keypointInfo.flipPairs). */
export function flipIndicesFromPairs(pairs: ReadonlyArray<readonly [number, number]>, numKeypoints: number): number[] {
  const out = Array.from({ length: numKeypoints }, (_, i) => i);
  for (const [a, b] of pairs) {
    out[a] = b;
    out[b] = a;
  }
  return out;
}

function checkProb(who: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new Error(`${who}: expected a probability in [0, 1], got ${p}`);
}

export interface TopdownRandomFlipOptions {
  /** Flip probability; default 0.5. Horizontal flips only (MMPose's direction 'horizontal'). */
  prob?: number;
  /** Index of each keypoint's mirror image (MMPose flip_indices); default COCO's. */
  flipIndices?: readonly number[];
}

/**
 * MMPose RandomFlip on a top-down sample: mirrors the image, the box (x -> w - 1 - x), the box
 * centre and every keypoint (x -> w - 1 - x, flip_keypoints), and swaps left/right keypoints
 * with their visibility.
 */
export class TopdownRandomFlip implements Transform {
  readonly name = 'TopdownRandomFlip';
  private readonly prob: number;
  private readonly flipIndices: readonly number[];
  constructor(opts: TopdownRandomFlipOptions = {}) {
    this.prob = opts.prob ?? 0.5;
    checkProb('TopdownRandomFlip.prob', this.prob);
    this.flipIndices = opts.flipIndices ?? COCO_FLIP_INDICES;
    const k = this.flipIndices.length;
    if (this.flipIndices.some((j, i) => !Number.isInteger(j) || j < 0 || j >= k || this.flipIndices[j] !== i)) {
      throw new Error(`TopdownRandomFlip.flipIndices: expected a symmetric permutation of [0, ${k}), got ${JSON.stringify(this.flipIndices)}`);
    }
  }

  draw(rng: Rng): { flip: boolean } {
    return { flip: rng.next() < this.prob };
  }

  async applyDraws(sample: Sample, draws: { flip: boolean }): Promise<Sample> {
    if (!draws.flip) return sample;
    const w = sample.img.width;
    if (sample.pending) sample.pending.flop = !sample.pending.flop;
    else {
      const img = await ensureDecoded(sample);
      if (img.layout !== 'hwc') throw new Error(`${this.name}: ${sample.meta.imgPath}: expected an HWC image (before Normalize)`);
      flipRowsInPlace(img.data, img.height, img.width, img.channels);
    }
    const t = sample.targets;
    if (t.boxes) {
      for (let i = 0; i < t.boxes.length; i += 4) {
        const x1 = t.boxes[i];
        t.boxes[i] = f32(f32(w - t.boxes[i + 2]) - 1);
        t.boxes[i + 2] = f32(f32(w - x1) - 1);
      }
    }
    if (sample.pose) sample.pose.center = [f32(f32(w - sample.pose.center[0]) - 1), sample.pose.center[1]];
    if (t.keypoints) {
      const k = this.flipIndices.length;
      if (t.keypoints.length % (3 * k) !== 0) throw new Error(`${this.name}: ${sample.meta.imgPath}: ${t.keypoints.length / 3} keypoints, flipIndices has ${k}`);
      for (let base = 0; base < t.keypoints.length; base += 3 * k) {
        const src = t.keypoints.slice(base, base + 3 * k);
        for (let j = 0; j < k; j++) {
          const s = 3 * this.flipIndices[j];
          t.keypoints[base + 3 * j] = f32(w - 1 - src[s]);
          t.keypoints[base + 3 * j + 1] = src[s + 1];
          t.keypoints[base + 3 * j + 2] = src[s + 2];
        }
      }
    }
    sample.meta.flip = !sample.meta.flip;
    sample.meta.flipDirection = sample.meta.flip ? 'horizontal' : null;
    return sample;
  }

  apply(sample: Sample, rng: Rng): Promise<Sample> {
    return this.applyDraws(sample, this.draw(rng));
  }
}

export interface RandomHalfBodyOptions {
  /** Labelled keypoints a person needs for a half-body box; default 9. */
  minTotalKeypoints?: number;
  /** Labelled upper-body keypoints needed to choose the upper body; default 2. */
  minUpperKeypoints?: number;
  /** Labelled lower-body keypoints needed to choose the lower body; default 3. */
  minLowerKeypoints?: number;
  /** Factor on the half body's keypoint extent; default 1.5. */
  padding?: number;
  /** Probability of the half-body box when the counts allow it; default 0.3. */
  prob?: number;
  /** Probability of preferring the upper body when both halves qualify; default 0.7. */
  upperPrioritizedProb?: number;
  /** Keypoint ids of each half (the dataset meta's); default COCO's. */
  upperBodyIds?: readonly number[];
  lowerBodyIds?: readonly number[];
}

/** MMPose RandomHalfBody: sometimes replaces the box by one around the upper or the lower body's labelled keypoints. */
export class RandomHalfBody implements Transform {
  readonly name = 'RandomHalfBody';
  private readonly o: Required<RandomHalfBodyOptions>;
  constructor(opts: RandomHalfBodyOptions = {}) {
    this.o = {
      minTotalKeypoints: 9, minUpperKeypoints: 2, minLowerKeypoints: 3, padding: 1.5, prob: 0.3, upperPrioritizedProb: 0.7,
      upperBodyIds: COCO_UPPER_BODY_IDS, lowerBodyIds: COCO_LOWER_BODY_IDS, ...stripUndefined(opts),
    };
    checkProb('RandomHalfBody.prob', this.o.prob);
    checkProb('RandomHalfBody.upperPrioritizedProb', this.o.upperPrioritizedProb);
  }

  /** MMPose _random_select_half_body for one person: the keypoint ids of the half body, or null. */
  draw(sample: Sample, rng: Rng): { halfBodyIds: number[] | null } {
    const kps = sample.targets.keypoints;
    if (!kps) throw new Error(`${this.name}: ${sample.meta.imgPath}: no keypoints`);
    const visible = (i: number) => Math.min(1, kps[3 * i + 2]);
    let total = 0;
    for (let i = 0; i < kps.length / 3; i++) total += visible(i);
    if (total < this.o.minTotalKeypoints) return { halfBodyIds: null };
    if (rng.next() > this.o.prob) return { halfBodyIds: null };
    const upper = this.o.upperBodyIds.filter((i) => visible(i) > 0);
    const lower = this.o.lowerBodyIds.filter((i) => visible(i) > 0);
    const preferUpper = rng.next() < this.o.upperPrioritizedProb;
    const upperOk = upper.length >= this.o.minUpperKeypoints, lowerOk = lower.length >= this.o.minLowerKeypoints;
    if (!upperOk && !lowerOk) return { halfBodyIds: null };
    if (!lowerOk) return { halfBodyIds: upper };
    if (!upperOk) return { halfBodyIds: lower };
    return { halfBodyIds: preferUpper ? upper : lower };
  }

  /** MMPose _get_half_body_bbox: centre = mean of the chosen keypoints, scale = their extent x padding (float32). */
  applyDraws(sample: Sample, draws: { halfBodyIds: readonly number[] | null }): Sample {
    const ids = draws.halfBodyIds;
    if (!ids) return sample;
    const kps = sample.targets.keypoints!;
    if (!sample.pose) throw new Error(`${this.name}: ${sample.meta.imgPath}: no box centre/scale (GetBBoxCenterScale must run first)`);
    let sx = 0, sy = 0;
    let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    for (const i of ids) {
      const x = kps[3 * i], y = kps[3 * i + 1];
      sx = f32(sx + x); sy = f32(sy + y);
      x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x); y2 = Math.max(y2, y);
    }
    sample.pose.center = [f32(sx / ids.length), f32(sy / ids.length)];
    sample.pose.scale = [f32(f32(x2 - x1) * this.o.padding), f32(f32(y2 - y1) * this.o.padding)];
    return sample;
  }

  apply(sample: Sample, rng: Rng): Sample {
    return this.applyDraws(sample, this.draw(sample, rng));
  }
}

export interface RandomBBoxTransformOptions {
  /** Shift of the centre, as a fraction of the scale, times a truncated normal in [-1, 1]; default 0.16. */
  shiftFactor?: number;
  /** Probability of the shift; default 0.3. */
  shiftProb?: number;
  /** Range [lo, hi] of the scale factor: mid + half-width x truncated normal; default [0.5, 1.5]. */
  scaleFactor?: [number, number];
  /** Probability of the rescale; default 1. */
  scaleProb?: number;
  /** Rotation in degrees: rotateFactor x truncated normal; default 80. */
  rotateFactor?: number;
  /** Probability of the rotation; default 0.6 (MMPose's default; its COCO configs keep it). */
  rotateProb?: number;
}

/** The values MMPose's _get_transform_params returns for one box (after the probability gates). */
export interface BBoxTransformDraws {
  /** Centre shift [dx, dy] as a fraction of the scale. */
  offset: [number, number];
  /** Factor on the scale. */
  scale: number;
  /** Rotation in degrees. */
  rotate: number;
}

/** A standard normal truncated to [lo, hi] (scipy truncnorm.rvs(-1, 1)), by rejection. */
export function truncatedNormal(rng: Rng, lo = -1, hi = 1): number {
  for (;;) {
    const z = rng.normal();
    if (z >= lo && z <= hi) return z;
  }
}

/** MMPose RandomBBoxTransform: random shift, rescale and rotation of the box. */
export class RandomBBoxTransform implements Transform {
  readonly name = 'RandomBBoxTransform';
  private readonly o: Required<RandomBBoxTransformOptions>;
  constructor(opts: RandomBBoxTransformOptions = {}) {
    this.o = { shiftFactor: 0.16, shiftProb: 0.3, scaleFactor: [0.5, 1.5], scaleProb: 1, rotateFactor: 80, rotateProb: 0.6, ...stripUndefined(opts) };
    for (const k of ['shiftProb', 'scaleProb', 'rotateProb'] as const) checkProb(`RandomBBoxTransform.${k}`, this.o[k]);
    const [lo, hi] = this.o.scaleFactor;
    if (!(lo > 0 && hi >= lo)) throw new Error(`RandomBBoxTransform.scaleFactor: expected 0 < lo <= hi, got ${JSON.stringify(this.o.scaleFactor)}`);
  }

  /** Draws in MMPose's order: four truncated normals, then the shift, scale and rotation gates. */
  draw(rng: Rng): BBoxTransformDraws {
    const v = [0, 1, 2, 3].map(() => f32(truncatedNormal(rng)));
    const [lo, hi] = this.o.scaleFactor;
    const mu = (hi + lo) * 0.5, sigma = (hi - lo) * 0.5;
    const shift = rng.next() < this.o.shiftProb;
    const rescale = rng.next() < this.o.scaleProb;
    const rotate = rng.next() < this.o.rotateProb;
    return {
      offset: shift ? [f32(v[0] * this.o.shiftFactor), f32(v[1] * this.o.shiftFactor)] : [0, 0],
      scale: rescale ? f32(f32(v[2] * sigma) + mu) : 1,
      rotate: rotate ? f32(v[3] * this.o.rotateFactor) : 0,
    };
  }

  applyDraws(sample: Sample, d: BBoxTransformDraws): Sample {
    const pose = sample.pose;
    if (!pose) throw new Error(`${this.name}: ${sample.meta.imgPath}: no box centre/scale (GetBBoxCenterScale must run first)`);
    const [c, s] = [pose.center, pose.scale];
    pose.center = [f32(c[0] + f32(d.offset[0] * s[0])), f32(c[1] + f32(d.offset[1] * s[1]))];
    pose.scale = [f32(s[0] * d.scale), f32(s[1] * d.scale)];
    pose.rotation = d.rotate;
    return sample;
  }

  apply(sample: Sample, rng: Rng): Sample {
    return this.applyDraws(sample, this.draw(rng));
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
