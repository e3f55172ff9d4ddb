/**
 * OKS-NMS as MMPose's evaluation/functional/nms.py (oks_iou, oks_nms), with its float32
 * arithmetic: keypoints, scores, areas and sigmas are float32 arrays there, and the OKS of
 * each pair is summed and stored in float32 before the `<= thr` test.
 *
 * Shapes: K keypoints; an instance's keypoints are [K*3] (x, y, score).
 */

const f32 = Math.fround;

/** One instance for OKS-NMS. */
export interface OksInstance {
  /** [K*3] x, y, score (float32 values). */
  keypoints: ArrayLike<number>;
  /** Instance score that orders the suppression (float64 in MMPose's bbox_keypoint mode). */
  score: number;
  /** Area that normalizes the distances (MMPose: the box scale's w x h). */
  area: number;
}

/** numpy's float32 np.sum over a short array: sequential below 8, else 8 accumulators combined pairwise. */
function sumF32(a: Float32Array, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s = f32(s + a[i]);
    return s;
  }
  const r = Array.from(a.subarray(0, 8));
  let i = 8;
  for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = f32(r[j] + a[i + j]);
  let res = f32(f32(f32(r[0] + r[1]) + f32(r[2] + r[3])) + f32(f32(r[4] + r[5]) + f32(r[6] + r[7])));
  for (; i < n; i++) res = f32(res + a[i]);
  return res;
}

/**
 * MMPose oks_iou: the OKS of instance `g` with each of `others` (area `aG` and each one's
 * area), over all keypoints, or only those both score above `visThr` when given.
 */
export function oksIou(g: OksInstance, others: readonly OksInstance[], sigmas: readonly number[], visThr?: number): Float32Array {
  const k = sigmas.length;
  const vars = sigmas.map((s) => f32(f32(f32(s) * 2) ** 2));
  const out = new Float32Array(others.length);
  const e = new Float32Array(k);
  others.forEach((d, n) => {
    // ((a_g + a_d) / 2 + eps) is a float64 scalar; numpy divides the float32 array by it in float32.
    const denom = f32(f32(f32(g.area) + f32(d.area)) / 2) + Number.EPSILON;
    let m = 0;
    for (let j = 0; j < k; j++) {
      if (visThr !== undefined && !(g.keypoints[3 * j + 2] > visThr && d.keypoints[3 * j + 2] > visThr)) continue;
      const dx = f32(d.keypoints[3 * j] - g.keypoints[3 * j]);
      const dy = f32(d.keypoints[3 * j + 1] - g.keypoints[3 * j + 1]);
      const ej = f32(f32(f32(f32(f32(dx * dx) + f32(dy * dy)) / vars[j]) / f32(denom)) / 2);
      e[m++] = f32(Math.exp(-ej));
    }
    out[n] = m === 0 ? 0 : f32(sumF32(e, m) / m);
  });
  return out;
}

/**
 * MMPose oks_nms: indices of the instances kept, highest score first; an instance is dropped
 * when its OKS with a kept one exceeds `thr`. Order of equal scores: numpy's argsort()[::-1]
 * on up to 16 instances (insertion sort: stable), i.e. the later instance first.
 */
export function oksNms(instances: readonly OksInstance[], thr: number, sigmas: readonly number[], visThr?: number): number[] {
  for (const [i, inst] of instances.entries()) {
    if (inst.keypoints.length !== 3 * sigmas.length) throw new Error(`oksNms: instance ${i} has ${inst.keypoints.length / 3} keypoints, sigmas has ${sigmas.length}`);
  }
  const scores = instances.map((x) => x.score);
  let order = instances.map((_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b).reverse();
  const keep: number[] = [];
  while (order.length > 0) {
    const i = order[0];
    keep.push(i);
    const rest = order.slice(1);
    const ovr = oksIou(instances[i], rest.map((j) => instances[j]), sigmas, visThr);
    order = rest.filter((_, n) => ovr[n] <= thr);
  }
  return keep;
}

/**
 * MMPose's box nms (evaluation/functional/nms.py, which topdown_demo_with_mmdet runs on the
 * person detections): greedy, highest score first, areas and overlaps with its +1 pixel
 * convention; a box is dropped when its IoU with a kept one exceeds `thr`. `boxes` [N][4] xyxy
 * image pixels, `scores` [N]; indices kept, ties ordered as oksNms.
 */
export function boxNms(boxes: ReadonlyArray<readonly number[]>, scores: readonly number[], thr: number): number[] {
  if (boxes.length !== scores.length) throw new Error(`boxNms: ${boxes.length} boxes and ${scores.length} scores`);
  const area = boxes.map(([x1, y1, x2, y2]) => (x2 - x1 + 1) * (y2 - y1 + 1));
  let order = boxes.map((_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b).reverse();
  const keep: number[] = [];
  while (order.length > 0) {
    const i = order[0];
    keep.push(i);
    const [ax1, ay1, ax2, ay2] = boxes[i];
    order = order.slice(1).filter((j) => {
      const [bx1, by1, bx2, by2] = boxes[j];
      const w = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1) + 1);
      const h = Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1) + 1);
      const inter = w * h;
      return inter / (area[i] + area[j] - inter) <= thr;
    });
  }
  return keep;
}
