/**
 * Matching detections against a reference's (torchvision parity tests): same label,
 * box IoU ≥ 0.99, |Δscore| ≤ 1e-3.
 */
import type { DetInstances } from '../../src/models/detectors/types';

export function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

export interface MatchStats { total: number; matched: number; minIoU: number; maxDScore: number }

/**
 * How many reference detections have a counterpart among ours: same label, IoU ≥ 0.99,
 * |Δscore| ≤ 1e-3. minIoU / maxDScore: over the matched pairs (the best-IoU candidate).
 */
export function match(refBoxes: number[][], refScores: number[], refLabels: number[] | null, ours: DetInstances, acc: MatchStats): void {
  const boxes = ours.boxes.toTypedArray() as Float32Array;
  const scores = ours.scores.toTypedArray() as Float32Array;
  const labels = ours.labels.toArray() as number[];
  refBoxes.forEach((rb, i) => {
    acc.total++;
    let best: { iou: number; ds: number } | null = null;
    for (let k = 0; k < scores.length; k++) {
      if (refLabels && labels[k] !== refLabels[i]) continue;
      const ds = Math.abs(scores[k] - refScores[i]);
      if (ds > 1e-3) continue;
      const o = iou(rb, boxes.subarray(4 * k, 4 * k + 4));
      if (o >= 0.99 && (!best || o > best.iou)) best = { iou: o, ds };
    }
    if (best) {
      acc.matched++;
      acc.minIoU = Math.min(acc.minIoU, best.iou);
      acc.maxDScore = Math.max(acc.maxDScore, best.ds);
    }
  });
}

export const newStats = (): MatchStats => ({ total: 0, matched: 0, minIoU: 1, maxDScore: 0 });
export const describe = (s: MatchStats) =>
  `${s.matched}/${s.total} matched (${(100 * s.matched / Math.max(s.total, 1)).toFixed(2)}%), min IoU ${s.minIoU.toFixed(5)}, max |Δscore| ${s.maxDScore.toExponential(2)}`;
