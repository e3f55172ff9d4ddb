/** Object keypoint similarity (OKS), as the reference's computeOks. */
import { pairwiseSum } from './params';

/** Ground-truth columns OKS reads; `g` indexes them. */
export interface OksGroundTruth {
  /** [N * 3K] x, y, visibility. */
  keypoints: Float64Array;
  /** [N * 4] x, y, w, h. */
  bbox: Float64Array;
  area: Float64Array;
}

/**
 * OKS of D detections against G ground truths, into `out` [D*G] (row d).
 * `vars` [K] is (2 sigma)^2; `dtKeypoints` [* 3K] holds x, y, score triples.
 * A ground truth without visible keypoints is compared through the distance to the box
 * around it (twice its size in each direction), as in the reference.
 */
export function oksInto(
  dtKeypoints: Float64Array, dtIndex: ArrayLike<number>, D: number,
  gt: OksGroundTruth, gtIndex: ArrayLike<number>, G: number,
  vars: Float64Array, out: Float64Array,
): void {
  const K = vars.length;
  const stride = 3 * K;
  const expNegE = new Float64Array(K);
  const eps = Number.EPSILON; // np.spacing(1)
  for (let j = 0; j < G; j++) {
    const g = gtIndex[j];
    const gk = g * stride;
    let k1 = 0;
    for (let k = 0; k < K; k++) if (gt.keypoints[gk + 3 * k + 2] > 0) k1++;
    const bx = gt.bbox[4 * g], by = gt.bbox[4 * g + 1], bw = gt.bbox[4 * g + 2], bh = gt.bbox[4 * g + 3];
    const x0 = bx - bw, x1 = bx + bw * 2;
    const y0 = by - bh, y1 = by + bh * 2;
    const areaEps = gt.area[g] + eps;
    for (let i = 0; i < D; i++) {
      const dk = dtIndex[i] * stride;
      let n = 0;
      for (let k = 0; k < K; k++) {
        const xd = dtKeypoints[dk + 3 * k], yd = dtKeypoints[dk + 3 * k + 1];
        let dx: number, dy: number;
        if (k1 > 0) {
          if (!(gt.keypoints[gk + 3 * k + 2] > 0)) continue;
          dx = xd - gt.keypoints[gk + 3 * k];
          dy = yd - gt.keypoints[gk + 3 * k + 1];
        } else {
          dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
          dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
        }
        const e = (dx * dx + dy * dy) / vars[k] / areaEps / 2;
        expNegE[n++] = Math.exp(-e);
      }
      out[i * G + j] = pairwiseSum(expNegE, 0, n) / n;
    }
  }
}
