/**
 * Semantic-segmentation metrics as MMSegmentation's IoUMetric reports them, accumulated
 * image by image: only four [C] count vectors are kept, never the predictions.
 *
 * Per image, pixels whose label is `ignoreIndex` are dropped; values outside [0, C) are not
 * counted in any class (torch.histc's range). Over the dataset:
 *   IoU_c = I_c / U_c, Acc_c = I_c / L_c, Dice_c = 2 I_c / (P_c + L_c),
 *   Precision_c = I_c / P_c, Recall_c = Acc_c, Fscore_c = (1+b^2) Pr Re / (b^2 Pr + Re),
 *   aAcc = sum I / sum L; the m* means skip classes where the ratio is NaN (nanmean).
 * Values are fractions; MMSegmentation prints them x100, rounded to 2 decimals.
 */

export interface SegMetricOptions {
  numClasses: number;
  /** Label value that is not evaluated (default 255). */
  ignoreIndex?: number;
  /** MMSeg's reduce_zero_label: label 0 becomes 255 and every other label but 255 drops by 1. */
  reduceZeroLabel?: boolean;
  /** beta of the F-score (default 1). */
  beta?: number;
}

export interface SegMetrics {
  aAcc: number;
  mIoU: number;
  mAcc: number;
  mDice: number;
  mFscore: number;
  mPrecision: number;
  mRecall: number;
  /** Per class, [C]; NaN where the denominator is 0. */
  IoU: Float64Array;
  Acc: Float64Array;
  Dice: Float64Array;
  Fscore: Float64Array;
  Precision: Float64Array;
  Recall: Float64Array;
}

/** Label maps: any integer typed array or number array, one value per pixel. */
export type LabelMap = ArrayLike<number>;

/** Accumulates per-class intersection, union, prediction and label areas over images. */
export class SegMetricAccumulator {
  readonly numClasses: number;
  readonly ignoreIndex: number;
  readonly reduceZeroLabel: boolean;
  readonly beta: number;
  /** [C] pixel counts summed over the images added so far. */
  readonly areaIntersect: Float64Array;
  readonly areaUnion: Float64Array;
  readonly areaPred: Float64Array;
  readonly areaLabel: Float64Array;
  /** Images added. */
  count = 0;

  constructor(options: SegMetricOptions) {
    if (!Number.isInteger(options.numClasses) || options.numClasses < 1) {
      throw new Error(`SegMetricAccumulator: numClasses must be a positive integer, got ${options.numClasses}`);
    }
    this.numClasses = options.numClasses;
    this.ignoreIndex = options.ignoreIndex ?? 255;
    this.reduceZeroLabel = options.reduceZeroLabel ?? false;
    this.beta = options.beta ?? 1;
    const C = this.numClasses;
    this.areaIntersect = new Float64Array(C);
    this.areaUnion = new Float64Array(C);
    this.areaPred = new Float64Array(C);
    this.areaLabel = new Float64Array(C);
  }

  /** Adds one image: `pred` and `label` are label maps of the same size. */
  add(pred: LabelMap, label: LabelMap): void {
    if (pred.length !== label.length) {
      throw new Error(`SegMetricAccumulator.add: prediction has ${pred.length} pixels, label has ${label.length}`);
    }
    const C = this.numClasses;
    const ignore = this.ignoreIndex;
    const intersect = new Float64Array(C);
    const predArea = new Float64Array(C);
    const labelArea = new Float64Array(C);
    for (let i = 0; i < pred.length; i++) {
      let l = label[i];
      if (this.reduceZeroLabel) l = l === 0 || l === 255 ? 255 : l - 1; // MMSeg's literal 255
      if (l === ignore) continue;
      const p = pred[i];
      const pIn = p >= 0 && p < C && Number.isInteger(p);
      const lIn = l >= 0 && l < C && Number.isInteger(l);
      if (pIn) predArea[p]++;
      if (lIn) labelArea[l]++;
      if (pIn && p === l) intersect[p]++;
    }
    for (let c = 0; c < C; c++) {
      this.areaIntersect[c] += intersect[c];
      this.areaPred[c] += predArea[c];
      this.areaLabel[c] += labelArea[c];
      this.areaUnion[c] += predArea[c] + labelArea[c] - intersect[c];
    }
    this.count++;
  }

  /** The metrics over all images added so far. */
  compute(): SegMetrics {
    const C = this.numClasses;
    const b2 = this.beta * this.beta;
    const m: SegMetrics = {
      aAcc: sum(this.areaIntersect) / sum(this.areaLabel),
      mIoU: 0, mAcc: 0, mDice: 0, mFscore: 0, mPrecision: 0, mRecall: 0,
      IoU: new Float64Array(C), Acc: new Float64Array(C), Dice: new Float64Array(C),
      Fscore: new Float64Array(C), Precision: new Float64Array(C), Recall: new Float64Array(C),
    };
    for (let c = 0; c < C; c++) {
      const i = this.areaIntersect[c];
      m.IoU[c] = i / this.areaUnion[c];
      m.Acc[c] = i / this.areaLabel[c];
      m.Dice[c] = (2 * i) / (this.areaPred[c] + this.areaLabel[c]);
      m.Precision[c] = i / this.areaPred[c];
      m.Recall[c] = m.Acc[c];
      const pr = m.Precision[c], re = m.Recall[c];
      m.Fscore[c] = ((1 + b2) * (pr * re)) / (b2 * pr + re);
    }
    m.mIoU = nanmean(m.IoU);
    m.mAcc = nanmean(m.Acc);
    m.mDice = nanmean(m.Dice);
    m.mFscore = nanmean(m.Fscore);
    m.mPrecision = nanmean(m.Precision);
    m.mRecall = nanmean(m.Recall);
    return m;
  }

  /** Clears the counts, to start a new evaluation. */
  reset(): void {
    this.areaIntersect.fill(0);
    this.areaUnion.fill(0);
    this.areaPred.fill(0);
    this.areaLabel.fill(0);
    this.count = 0;
  }
}

function sum(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

/** Mean over the non-NaN entries (NaN when there are none), as numpy.nanmean. */
function nanmean(a: Float64Array): number {
  let s = 0;
  let n = 0;
  for (const v of a) {
    if (Number.isNaN(v)) continue;
    s += v;
    n++;
  }
  return n ? s / n : NaN;
}
