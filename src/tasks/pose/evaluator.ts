/**
 * Top-down keypoint evaluation as MMPose 1.3's CocoMetric (evaluation/metrics/coco_metric.py):
 * predictions are collected per image, one per sample id (the first one given wins, as
 * _sort_and_unique_bboxes), rescored (score_mode, keypoint_score_thr), thinned by OKS-NMS
 * per image, written as COCO keypoint results and evaluated with our COCO evaluator (keypoints,
 * the dataset's sigmas, ground-truth areas), whose numbers are reported under MMPose's names.
 */
import { CocoDataset } from '../../evaluation/coco/dataset';
import { evaluateCoco, type CocoEvalResult } from '../../evaluation/coco/eval';
import { COCO_KEYPOINT_SIGMAS } from '../../evaluation/coco/params';
import type { CocoResult } from '../../evaluation/coco/results';
import { oksNms } from './oks_nms';

const f32 = Math.fround;

/** One person's prediction, as a top-down model gives it for one sample. */
export interface TopdownPrediction {
  /** The sample's id (DataInfo.instanceId): the annotation id, or the detection's index. */
  id: number;
  imageId: number;
  /** COCO category id; default 1 (person). */
  categoryId?: number;
  /** [K*2] x, y in original-image pixels. */
  keypoints: ArrayLike<number>;
  /** [K] keypoint scores. */
  keypointScores: ArrayLike<number>;
  /** The detector's score of the person box; 1 for ground-truth boxes. */
  bboxScore: number;
  /**
   * The box scale [w, h] the model saw (sample.pose.scale after TopdownAffine); its product is
   * the area OKS-NMS normalizes by. Without it, the keypoints' extent, as MMPose.
   */
  bboxScale?: readonly [number, number];
}

export type ScoreMode = 'bbox' | 'bbox_keypoint' | 'bbox_rle' | 'keypoint';

export interface TopdownCocoMetricOptions {
  /** How an instance's score is made; default 'bbox_keypoint': bbox score x mean of the keypoint scores above keypointScoreThr. */
  scoreMode?: ScoreMode;
  /** Keypoint scores counted in 'bbox_keypoint' (strictly above); default 0.2. */
  keypointScoreThr?: number;
  /** 'oks_nms' (default) or 'none'. MMPose's 'soft_oks_nms' is not implemented. */
  nmsMode?: 'oks_nms' | 'none';
  /** OKS above which a lower-scored instance is dropped; default 0.9. */
  nmsThr?: number;
  /** [K] per-keypoint sigmas of OKS (NMS and evaluation); default COCO's 17. */
  sigmas?: readonly number[];
}

/** The kept results (COCO keypoint results, per image in NMS order) and the metric. */
export interface TopdownCocoMetricResult {
  results: CocoResult[];
  /** MMPose's names: 'AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5', 'AR .75', 'AR (M)', 'AR (L)'. */
  metrics: Record<string, number>;
  eval: CocoEvalResult;
}

const STAT_NAMES = ['AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5', 'AR .75', 'AR (M)', 'AR (L)'];

interface Instance {
  id: number;
  imageId: number;
  categoryId: number;
  /** [K*3] x, y, score (float32 values). */
  keypoints: Float32Array;
  scores: Float32Array;
  bboxScore: number;
  area: number;
  score: number;
}

/** MMPose's CocoMetric for top-down keypoints: process() predictions as they come, compute() at the end. */
export class TopdownCocoMetric {
  private readonly byImage = new Map<number, Instance[]>();
  private readonly o: Required<TopdownCocoMetricOptions>;

  constructor(readonly gt: CocoDataset, opts: TopdownCocoMetricOptions = {}) {
    this.o = { scoreMode: 'bbox_keypoint', keypointScoreThr: 0.2, nmsMode: 'oks_nms', nmsThr: 0.9, sigmas: COCO_KEYPOINT_SIGMAS, ...defined(opts) };
    if (!['bbox', 'bbox_keypoint', 'bbox_rle', 'keypoint'].includes(this.o.scoreMode)) throw new Error(`TopdownCocoMetric.scoreMode: expected bbox, bbox_keypoint, bbox_rle or keypoint, got '${this.o.scoreMode}'`);
    if (!['oks_nms', 'none'].includes(this.o.nmsMode)) throw new Error(`TopdownCocoMetric.nmsMode: expected oks_nms or none, got '${this.o.nmsMode}'`);
  }

  /** Adds predictions (any batch size, any order). */
  process(preds: readonly TopdownPrediction[]): void {
    const k = this.o.sigmas.length;
    for (const p of preds) {
      const what = `TopdownCocoMetric: prediction for sample ${p.id} (image ${p.imageId})`;
      if (p.keypoints.length !== 2 * k || p.keypointScores.length !== k) {
        throw new Error(`${what}: expected ${2 * k} coordinates and ${k} scores (the sigmas' K), got ${p.keypoints.length} and ${p.keypointScores.length}`);
      }
      const keypoints = new Float32Array(3 * k);
      const scores = Float32Array.from(p.keypointScores);
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (let j = 0; j < k; j++) {
        const x = f32(p.keypoints[2 * j]), y = f32(p.keypoints[2 * j + 1]);
        keypoints[3 * j] = x; keypoints[3 * j + 1] = y; keypoints[3 * j + 2] = scores[j];
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
      const area = p.bboxScale ? f32(f32(p.bboxScale[0]) * f32(p.bboxScale[1])) : f32(f32(x1 - x0) * f32(y1 - y0));
      let list = this.byImage.get(p.imageId);
      if (!list) this.byImage.set(p.imageId, (list = []));
      list.push({ id: p.id, imageId: p.imageId, categoryId: p.categoryId ?? 1, keypoints, scores, bboxScore: f32(p.bboxScore), area, score: 0 });
    }
  }

  /** MMPose's instance score (score_mode), in its precision (float64 for bbox_keypoint, float32 otherwise). */
  instanceScore(bboxScore: number, scores: Float32Array): number {
    switch (this.o.scoreMode) {
      case 'bbox': return bboxScore;
      case 'keypoint': return f32(meanF32(scores));
      case 'bbox_rle': return f32(f32(bboxScore + f32(meanF32(scores))) + Math.max(...scores));
      case 'bbox_keypoint': return bboxKeypointScore(bboxScore, scores, this.o.keypointScoreThr);
    }
  }

  compute(): TopdownCocoMetricResult {
    const results: CocoResult[] = [];
    for (const [, all] of this.byImage) {
      // _sort_and_unique_bboxes: sort by id (stable), keep the first of equal ids.
      const sorted = [...all].sort((a, b) => a.id - b.id);
      const instances = sorted.filter((x, i) => i === 0 || x.id !== sorted[i - 1].id);
      for (const x of instances) x.score = this.instanceScore(x.bboxScore, x.scores);
      const keep = this.o.nmsMode === 'none' ? instances.map((_, i) => i) : oksNms(instances, this.o.nmsThr, this.o.sigmas);
      for (const i of keep) {
        const x = instances[i];
        results.push({ image_id: x.imageId, category_id: x.categoryId, keypoints: Array.from(x.keypoints), score: x.score });
      }
    }
    const ev = evaluateCoco(this.gt, results, { iouType: 'keypoints', kptOksSigmas: [...this.o.sigmas] });
    const metrics: Record<string, number> = {};
    STAT_NAMES.forEach((name, i) => { metrics[name] = ev.stats[i]; });
    return { results, metrics, eval: ev };
  }
}

/**
 * MMPose's 'bbox_keypoint' instance score: the box score times the mean of the keypoint scores
 * above `keypointScoreThr` (0 when none is), in float64 as CocoMetric computes it.
 */
export function bboxKeypointScore(bboxScore: number, keypointScores: ArrayLike<number>, keypointScoreThr: number): number {
  let sum = 0, n = 0;
  for (let i = 0; i < keypointScores.length; i++) {
    const s = keypointScores[i];
    if (s > keypointScoreThr) { sum += s; n++; }
  }
  return n ? bboxScore * (sum / n) : 0;
}

/** np.mean of a float32 array: float32 pairwise sum (short arrays), then the division in float32. */
function meanF32(a: Float32Array): number {
  let s = 0;
  if (a.length < 8) for (const v of a) s = f32(s + v);
  else {
    const r = Array.from(a.subarray(0, 8));
    let i = 8;
    for (; i < a.length - (a.length % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = f32(r[j] + a[i + j]);
    s = f32(f32(f32(r[0] + r[1]) + f32(r[2] + r[3])) + f32(f32(r[4] + r[5]) + f32(r[6] + r[7])));
    for (; i < a.length; i++) s = f32(s + a[i]);
  }
  return f32(s / a.length);
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
