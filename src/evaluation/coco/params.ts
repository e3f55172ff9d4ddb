/** COCOeval's parameters, with the reference's defaults, and the float helpers they need. */
import type { IouType } from './results';

/** The parameters of one evaluation; every field can be overridden. */
export interface CocoParams {
  iouType: IouType;
  /** Images evaluated (default: all ground-truth images), sorted and unique. */
  imgIds: number[];
  /** Categories evaluated (default: all), sorted and unique. */
  catIds: number[];
  /** false: class-agnostic (proposals), categories pooled per image. */
  useCats: boolean;
  /** IoU (or OKS) thresholds, default .50:.05:.95. */
  iouThrs: number[];
  /** Recall points of the precision curve, default 0:.01:1 (101). */
  recThrs: number[];
  /** Detections kept per image, sorted ascending; default [1, 10, 100] ([20] for keypoints). */
  maxDets: number[];
  /** Area ranges [min, max] in pixels^2, with labels (all, small, medium, large). */
  areaRng: [number, number][];
  areaRngLbl: string[];
  /** Per-keypoint OKS sigmas (default: COCO's 17 person keypoints). */
  kptOksSigmas: number[];
}

/** numpy.linspace(start, stop, num), with numpy's exact floating-point steps. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** COCO's person keypoint sigmas (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles). */
export const COCO_KEYPOINT_SIGMAS: readonly number[] = [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89].map((s) => s / 10.0);

/** The reference's default parameters for `iouType` (imgIds and catIds are filled in from the ground truth). */
export function defaultParams(iouType: IouType): Omit<CocoParams, 'imgIds' | 'catIds'> {
  const all: [number, number] = [0 ** 2, 1e5 ** 2];
  const common = {
    iouType,
    useCats: true,
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0.0, 1.0, Math.round((1.0 - 0.0) / 0.01) + 1),
    kptOksSigmas: [...COCO_KEYPOINT_SIGMAS],
  };
  if (iouType === 'keypoints') {
    return { ...common, maxDets: [20], areaRng: [all, [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]], areaRngLbl: ['all', 'medium', 'large'] };
  }
  return {
    ...common,
    maxDets: [1, 10, 100],
    areaRng: [all, [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]],
    areaRngLbl: ['all', 'small', 'medium', 'large'],
  };
}

/**
 * Sums as np.sum / np.mean do on a float64 array, so means match the reference bit for bit:
 * numpy reduces in chunks of 8192 elements (its buffer size), added in order, and sums each
 * chunk pairwise (blocks of up to 128 with 8 accumulators).
 */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  const chunk = 8192;
  let res = 0;
  for (let s = 0; s < n; s += chunk) res += pairwiseBlock(a, start + s, Math.min(chunk, n - s));
  return res;
}

/** numpy's pairwise_sum over a[start, start + n). */
function pairwiseBlock(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const p = start + i;
      r0 += a[p]; r1 += a[p + 1]; r2 += a[p + 2]; r3 += a[p + 3];
      r4 += a[p + 4]; r5 += a[p + 5]; r6 += a[p + 6]; r7 += a[p + 7];
    }
    let res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseBlock(a, start, n2) + pairwiseBlock(a, start + n2, n - n2);
}
