/**
 * COCO evaluation (bbox, segm, keypoints), the reference's COCOeval over typed columns.
 *
 * Shapes: T IoU thresholds, R recall points, K categories (1 when class-agnostic),
 * A area ranges, M maxDets; `precision` is [T, R, K, A, M] and `recall` [T, K, A, M],
 * both C-order, -1 where undefined (no ground truth).
 *
 * An evaluation unit is one (category, image) pair (one image when class-agnostic). Per
 * unit, detections are sorted by score (stable: ties keep file order, as numpy's mergesort)
 * and cut to max(maxDets); per area range and threshold they are matched greedily to the
 * ground truth. Each match outcome is stored as one byte per (area, threshold, detection),
 * so accumulation is a scan over each category's detections in global score order.
 */
import { CocoDataset } from './dataset';
import { CocoFormatError, isNumberArray, show } from './errors';
import { bboxIouInto, rleIou, type Rle } from './mask';
import { oksInto, type OksGroundTruth } from './oks';
import { type CocoParams, defaultParams, pairwiseSum } from './params';
import { CocoResults, loadResults, type CocoResult, type IouType } from './results';

/** Evaluation options: the iouType plus any parameter to override. */
export type CocoEvalOptions = { iouType: IouType } & Partial<Omit<CocoParams, 'iouType'>>;

export interface CocoEvalResult {
  params: CocoParams;
  /** [T, R, K, A, M] interpolated precision, -1 where a category has no ground truth. */
  precision: Float64Array;
  /** [T, K, A, M] recall, -1 where undefined. */
  recall: Float64Array;
  /** The reference's summary: 12 numbers (10 for keypoints), -1 where undefined. */
  stats: number[];
  /** The summary as the reference prints it, one line per stat. */
  summary: string[];
  /** AP@[.50:.95], area 'all', the largest maxDets, per category id (-1 without ground truth); empty when class-agnostic. */
  perCategoryAp: Map<number, number>;
}

const MATCH_FP = 0;
const MATCH_TP = 1;
const MATCH_IGNORED = 2;

/** Ground-truth annotations as typed columns (only those selected by imgIds and catIds). */
interface GtColumns extends OksGroundTruth {
  id: Float64Array;
  crowd: Uint8Array;
  /** iscrowd, or no visible keypoints for keypoints evaluation. */
  ignore: Uint8Array;
  rles: Rle[] | null;
}

/** Fills in the reference's defaults and normalizes as COCOeval.evaluate does. */
export function resolveParams(gt: CocoDataset, options: CocoEvalOptions): CocoParams {
  const p: CocoParams = { ...defaultParams(options.iouType), imgIds: [...gt.imageIds], catIds: [...gt.categoryIds] };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (p as unknown as Record<string, unknown>)[key] = value;
  }
  const sortedUnique = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);
  p.imgIds = sortedUnique(p.imgIds);
  p.catIds = sortedUnique(p.catIds);
  p.maxDets = [...p.maxDets].sort((a, b) => a - b);
  for (const key of ['iouThrs', 'recThrs', 'maxDets', 'kptOksSigmas'] as const) {
    if (!isNumberArray(p[key]) || p[key].length === 0) throw new Error(`evaluateCoco: ${key} must be a non-empty array of numbers, got ${show(p[key])}`);
  }
  if (p.areaRng.length !== p.areaRngLbl.length || !p.areaRng.every((r) => isNumberArray(r, 2))) {
    throw new Error(`evaluateCoco: areaRng must be [min, max] pairs, one per areaRngLbl, got ${show(p.areaRng)} / ${show(p.areaRngLbl)}`);
  }
  if (p.maxDets.some((m) => !Number.isInteger(m) || m < 0)) throw new Error(`evaluateCoco: maxDets must be non-negative integers, got ${show(p.maxDets)}`);
  return p;
}

/**
 * Evaluates detections against a ground truth as the reference COCOeval does
 * (evaluate + accumulate + summarize), returning precision/recall, the summary stats
 * and per-category AP. `dt` may be loaded results, in-memory records or a file name.
 */
export function evaluateCoco(gt: CocoDataset, dt: CocoResults | readonly CocoResult[] | string, options: CocoEvalOptions): CocoEvalResult {
  const p = resolveParams(gt, options);
  const results = dt instanceof CocoResults ? dt : loadResults(gt, dt, { iouType: p.iouType, numKeypoints: p.kptOksSigmas.length });
  const T = p.iouThrs.length, R = p.recThrs.length, A = p.areaRng.length, M = p.maxDets.length;
  const I = p.imgIds.length;
  const K = p.useCats ? p.catIds.length : 1;
  const imgIndex = new Map(p.imgIds.map((id, i) => [id, i]));
  const catIndex = new Map(p.catIds.map((id, i) => [id, i]));

  const gtc = gtColumns(gt, p, imgIndex, catIndex);
  const gtOrder = unitOrder(gtc.img, gtc.cat, I, p.catIds.length, p.useCats);
  const dtImg = new Int32Array(results.count);
  const dtCat = new Int32Array(results.count);
  for (let i = 0; i < results.count; i++) {
    dtImg[i] = imgIndex.get(results.imageId[i]) ?? -1;
    dtCat[i] = catIndex.get(results.categoryId[i]) ?? -1;
  }
  if (p.iouType === 'keypoints' && results.keypointStride !== 3 * p.kptOksSigmas.length) {
    throw new CocoFormatError(`${results.source}: keypoints have ${results.keypointStride / 3} points per instance, kptOksSigmas has ${p.kptOksSigmas.length}`);
  }
  const dtOrder = unitOrder(dtImg, dtCat, I, p.catIds.length, p.useCats);

  const matches = matchAll(p, gtc, results, gtOrder, dtOrder, I);
  const { precision, recall } = accumulate(p, matches, K);
  const result: CocoEvalResult = { params: p, precision, recall, stats: [], summary: [], perCategoryAp: new Map() };
  summarize(result);
  if (p.useCats) {
    const aAll = 0;
    const mLast = M - 1;
    const values: number[] = [];
    for (let k = 0; k < K; k++) {
      values.length = 0;
      for (let t = 0; t < T; t++) {
        for (let r = 0; r < R; r++) {
          const v = precision[idx5(t, r, k, aAll, mLast, R, K, A, M)];
          if (v > -1) values.push(v);
        }
      }
      result.perCategoryAp.set(p.catIds[k], values.length ? pairwiseSum(values) / values.length : -1);
    }
  }
  return result;
}

function idx5(t: number, r: number, k: number, a: number, m: number, R: number, K: number, A: number, M: number): number {
  return (((t * R + r) * K + k) * A + a) * M + m;
}

/** Typed columns of the selected ground truth, checked for what `p.iouType` needs. */
function gtColumns(gt: CocoDataset, p: CocoParams, imgIndex: Map<number, number>, catIndex: Map<number, number>): GtColumns & { img: Int32Array; cat: Int32Array } {
  const anns = gt.annotations;
  const n = anns.length;
  const K = p.kptOksSigmas.length;
  const c = {
    img: new Int32Array(n), cat: new Int32Array(n), id: new Float64Array(n), area: new Float64Array(n),
    crowd: new Uint8Array(n), ignore: new Uint8Array(n), bbox: new Float64Array(4 * n),
    rles: p.iouType === 'segm' ? new Array<Rle>(n) : null,
    keypoints: p.iouType === 'keypoints' ? new Float64Array(3 * K * n) : new Float64Array(0),
  };
  for (let i = 0; i < n; i++) {
    const ann = anns[i];
    c.img[i] = imgIndex.get(ann.image_id) ?? -1;
    c.cat[i] = catIndex.get(ann.category_id) ?? -1;
    if (c.img[i] < 0 || c.cat[i] < 0) continue;
    const fail = (msg: string): never => {
      throw new CocoFormatError(`${gt.describeAnnotation(i)}: ${msg}`);
    };
    if (ann.area === undefined) fail('no area (needed for area ranges)');
    c.id[i] = ann.id;
    c.area[i] = ann.area!;
    c.crowd[i] = ann.iscrowd ? 1 : 0;
    c.ignore[i] = c.crowd[i];
    if (p.iouType !== 'segm') {
      if (ann.bbox === undefined) fail(`no bbox (needed for ${p.iouType} evaluation)`);
      c.bbox.set(ann.bbox!, 4 * i);
    }
    if (c.rles) c.rles[i] = gt.annotationRle(i);
    if (p.iouType === 'keypoints') {
      const kp = ann.keypoints;
      if (!isNumberArray(kp, 3 * K)) fail(`keypoints must be ${3 * K} numbers (${K} x, y, v triples), got ${show(kp)}`);
      c.keypoints.set(kp!, 3 * K * i);
      let visible = 0;
      for (let k = 0; k < K; k++) if (kp![3 * k + 2] > 0) visible++;
      const numKeypoints = ann.num_keypoints ?? visible;
      if (numKeypoints === 0) c.ignore[i] = 1;
    }
  }
  return c;
}

/**
 * Indices of the records that take part (img and cat index >= 0), ordered by unit and,
 * within a unit, by file order; class-agnostic units list categories in catIds order,
 * as the reference concatenates them. Two stable counting sorts.
 */
function unitOrder(img: Int32Array, cat: Int32Array, I: number, C: number, useCats: boolean): { order: Int32Array; unit: Float64Array } {
  let n = 0;
  for (let i = 0; i < img.length; i++) if (img[i] >= 0 && cat[i] >= 0) n++;
  let order = new Int32Array(n);
  n = 0;
  for (let i = 0; i < img.length; i++) if (img[i] >= 0 && cat[i] >= 0) order[n++] = i;
  const bucketSort = (keys: Int32Array, buckets: number): void => {
    const start = new Int32Array(buckets + 1);
    for (const i of order) start[keys[i] + 1]++;
    for (let b = 0; b < buckets; b++) start[b + 1] += start[b];
    const out = new Int32Array(order.length);
    for (const i of order) out[start[keys[i]]++] = i;
    order = out;
  };
  if (useCats) {
    bucketSort(img, I);
    bucketSort(cat, C);
  } else {
    bucketSort(cat, C);
    bucketSort(img, I);
  }
  const unit = new Float64Array(order.length);
  for (let j = 0; j < order.length; j++) {
    const i = order[j];
    unit[j] = useCats ? cat[i] * I + img[i] : img[i];
  }
  return { order: order, unit };
}

/** Per-detection match outcomes, grouped by category in unit order. */
interface Matches {
  /** Kept detections in total (N). */
  count: number;
  /** [K+1] start of each category's detections. */
  catStart: Int32Array;
  /** [K] 1 when the category has any unit (ground truth or detections). */
  hasUnits: Uint8Array;
  /** [N] score and rank within its unit. */
  score: Float64Array;
  rank: Int32Array;
  /** [A * T * capacity] MATCH_* per (area, threshold, detection). */
  outcome: Uint8Array;
  capacity: number;
  /** [K * A] non-ignored ground truths. */
  npig: Float64Array;
}

/** Growable scratch buffers, reused across units so the hot loop allocates nothing. */
class Scratch {
  f64 = new Float64Array(64);
  i32a = new Int32Array(64);
  i32b = new Int32Array(64);
  i32c = new Int32Array(64);
  u8a = new Uint8Array(64);
  u8b = new Uint8Array(64);
  u8c = new Uint8Array(64);
  boxesD = new Float64Array(256);
  boxesG = new Float64Array(256);

  ensure(D: number, G: number, T: number): void {
    const n = Math.max(D, G);
    if (this.f64.length < D * G) this.f64 = new Float64Array(2 * D * G);
    if (this.i32a.length < n) {
      this.i32a = new Int32Array(2 * n);
      this.i32b = new Int32Array(2 * n);
      this.i32c = new Int32Array(2 * n);
      this.u8a = new Uint8Array(2 * n);
      this.u8b = new Uint8Array(2 * n);
      this.boxesD = new Float64Array(8 * n);
      this.boxesG = new Float64Array(8 * n);
    }
    if (this.u8c.length < T * G) this.u8c = new Uint8Array(2 * T * G);
  }
}

/** Runs the reference's evaluateImg over every unit, storing one outcome byte per detection. */
function matchAll(p: CocoParams, gt: GtColumns, dt: CocoResults, gtOrder: ReturnType<typeof unitOrder>, dtOrder: ReturnType<typeof unitOrder>, I: number): Matches {
  const T = p.iouThrs.length, A = p.areaRng.length;
  const K = p.useCats ? p.catIds.length : 1;
  const maxDet = p.maxDets[p.maxDets.length - 1];
  const capacity = dtOrder.order.length;
  const m: Matches = {
    count: 0, catStart: new Int32Array(K + 1), hasUnits: new Uint8Array(K),
    score: new Float64Array(capacity), rank: new Int32Array(capacity),
    outcome: new Uint8Array(A * T * capacity), capacity, npig: new Float64Array(K * A),
  };
  const thresholds = p.iouThrs.map((t) => Math.min(t, 1 - 1e-10));
  const vars = Float64Array.from(p.kptOksSigmas, (s) => (s * 2) ** 2);
  const s = new Scratch();
  const sc = dt.score;
  const dtIdx = dtOrder.order;
  let unitStart = 0;
  // Positions within the unit, by descending score; ties keep unit order (numpy's stable mergesort).
  const byScore = (a: number, b: number): number => sc[dtIdx[unitStart + b]] - sc[dtIdx[unitStart + a]] || a - b;
  let gi = 0, di = 0;
  let currentCat = 0;
  const nG = gtOrder.order.length, nD = dtOrder.order.length;
  while (gi < nG || di < nD) {
    const unit = Math.min(gi < nG ? gtOrder.unit[gi] : Infinity, di < nD ? dtOrder.unit[di] : Infinity);
    let g1 = gi, d1 = di;
    while (g1 < nG && gtOrder.unit[g1] === unit) g1++;
    while (d1 < nD && dtOrder.unit[d1] === unit) d1++;
    const k = p.useCats ? Math.floor(unit / I) : 0;
    while (currentCat < k) m.catStart[++currentCat] = m.count;
    m.hasUnits[k] = 1;

    const G = g1 - gi;
    const D0 = d1 - di;
    const D = Math.min(D0, maxDet);
    s.ensure(D0, G, T);
    // Detections by descending score, ties in unit order (sorted on positions, stable).
    const unitDt = s.i32a;
    for (let j = 0; j < D0; j++) unitDt[j] = j;
    unitStart = di;
    if (D0 > 1) unitDt.subarray(0, D0).sort(byScore);
    for (let j = 0; j < D; j++) unitDt[j] = dtIdx[di + unitDt[j]];
    const unitGt = s.i32b;
    for (let j = 0; j < G; j++) unitGt[j] = gtOrder.order[gi + j];

    const ious = s.f64;
    const haveIous = D > 0 && G > 0 && !(p.iouType === 'keypoints' && !p.useCats);
    if (haveIous) computeIous(p.iouType, dt, unitDt, D, gt, unitGt, G, vars, s);

    const base = m.count;
    for (let j = 0; j < D; j++) {
      m.score[base + j] = sc[unitDt[j]];
      m.rank[base + j] = j;
    }
    const gtSorted = s.i32c; // unit gt positions, non-ignored first (stable)
    const gtIg = s.u8a; // by sorted position
    const dtOutside = s.u8b;
    const gtMatched = s.u8c;
    for (let a = 0; a < A; a++) {
      const [lo, hi] = p.areaRng[a];
      let nKeep = 0;
      for (let j = 0; j < G; j++) {
        const g = unitGt[j];
        if (!(gt.ignore[g] || gt.area[g] < lo || gt.area[g] > hi)) gtSorted[nKeep++] = j;
      }
      let nSorted = nKeep;
      for (let j = 0; j < G; j++) {
        const g = unitGt[j];
        if (gt.ignore[g] || gt.area[g] < lo || gt.area[g] > hi) gtSorted[nSorted++] = j;
      }
      for (let j = 0; j < G; j++) gtIg[j] = j < nKeep ? 0 : 1;
      m.npig[k * A + a] += nKeep;
      for (let j = 0; j < D; j++) {
        const ar = dt.area[unitDt[j]];
        dtOutside[j] = ar < lo || ar > hi ? 1 : 0;
      }
      for (let t = 0; t < T; t++) {
        const out = m.outcome.subarray((a * T + t) * capacity + base, (a * T + t) * capacity + base + D);
        gtMatched.fill(0, 0, G);
        for (let d = 0; d < D; d++) {
          let best = -1;
          if (haveIous) {
            let iou = thresholds[t];
            for (let j = 0; j < G; j++) {
              const gpos = gtSorted[j];
              if (gtMatched[j] && !gt.crowd[unitGt[gpos]]) continue;
              // Matched to a regular gt already, and only ignored ones remain: stop.
              if (best > -1 && gtIg[best] === 0 && gtIg[j] === 1) break;
              const v = ious[d * G + gpos];
              if (v < iou) continue;
              iou = v;
              best = j;
            }
          }
          // The reference marks a match by the gt id, so a gt with id 0 reads as unmatched.
          let matched = false;
          let ignored = false;
          if (best > -1) {
            gtMatched[best] = 1;
            matched = gt.id[unitGt[gtSorted[best]]] !== 0;
            ignored = gtIg[best] === 1;
          }
          if (!matched && dtOutside[d]) ignored = true;
          out[d] = ignored ? MATCH_IGNORED : matched ? MATCH_TP : MATCH_FP;
        }
      }
    }
    m.count += D;
    gi = g1;
    di = d1;
  }
  while (currentCat < K) m.catStart[++currentCat] = m.count;
  return m;
}

/** IoU (or OKS) of the unit's D detections (score order) against its G ground truths, into s.f64 [D*G]. */
function computeIous(iouType: IouType, dt: CocoResults, unitDt: Int32Array, D: number, gt: GtColumns, unitGt: Int32Array, G: number, vars: Float64Array, s: Scratch): void {
  if (iouType === 'bbox') {
    for (let j = 0; j < D; j++) for (let c = 0; c < 4; c++) s.boxesD[4 * j + c] = dt.bbox[4 * unitDt[j] + c];
    for (let j = 0; j < G; j++) {
      for (let c = 0; c < 4; c++) s.boxesG[4 * j + c] = gt.bbox[4 * unitGt[j] + c];
      s.u8c[j] = gt.crowd[unitGt[j]];
    }
    // u8c doubles as the crowd flags here; matching resets it before use.
    bboxIouInto(s.boxesD, D, s.boxesG, G, s.u8c, s.f64);
  } else if (iouType === 'segm') {
    const d: Rle[] = [];
    const g: Rle[] = [];
    const crowd = new Uint8Array(G);
    for (let j = 0; j < D; j++) d.push(dt.rles![unitDt[j]]);
    for (let j = 0; j < G; j++) {
      g.push(gt.rles![unitGt[j]]);
      crowd[j] = gt.crowd[unitGt[j]];
    }
    rleIou(d, g, crowd, s.f64);
  } else {
    oksInto(dt.keypoints!, unitDt, D, gt, unitGt, G, vars, s.f64);
  }
}

/** The reference's accumulate: precision envelopes at the recall points, and final recall. */
function accumulate(p: CocoParams, m: Matches, K: number): { precision: Float64Array; recall: Float64Array } {
  const T = p.iouThrs.length, R = p.recThrs.length, A = p.areaRng.length, M = p.maxDets.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const eps = Number.EPSILON; // np.spacing(1)
  const maxDetLast = p.maxDets[M - 1];
  const byScore = (a: number, b: number): number => m.score[b] - m.score[a] || a - b;
  for (let k = 0; k < K; k++) {
    if (!m.hasUnits[k]) continue;
    const start = m.catStart[k], end = m.catStart[k + 1];
    // One stable sort per category serves every maxDets: a cut keeps the relative order.
    const sorted = new Int32Array(end - start);
    for (let j = 0; j < sorted.length; j++) sorted[j] = start + j;
    sorted.sort(byScore);
    const kept = new Int32Array(sorted.length);
    const rc = new Float64Array(sorted.length);
    const pr = new Float64Array(sorted.length);
    for (let mi = 0; mi < M; mi++) {
      const maxDet = p.maxDets[mi];
      let nd = 0;
      for (let j = 0; j < sorted.length; j++) if (maxDet >= maxDetLast || m.rank[sorted[j]] < maxDet) kept[nd++] = sorted[j];
      for (let a = 0; a < A; a++) {
        const npig = m.npig[k * A + a];
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          const plane = m.outcome.subarray((a * T + t) * m.capacity, (a * T + t + 1) * m.capacity);
          let tp = 0, fp = 0;
          for (let i = 0; i < nd; i++) {
            const o = plane[kept[i]];
            if (o === MATCH_TP) tp++;
            else if (o === MATCH_FP) fp++;
            rc[i] = tp / npig;
            pr[i] = tp / (fp + tp + eps);
          }
          recall[((t * K + k) * A + a) * M + mi] = nd ? rc[nd - 1] : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          for (let r = 0; r < R; r++) precision[idx5(t, r, k, a, mi, R, K, A, M)] = 0;
          for (let r = 0; r < R; r++) {
            const pi = searchsortedLeft(rc, nd, p.recThrs[r]);
            if (pi >= nd) break; // the reference's IndexError: later points stay 0
            precision[idx5(t, r, k, a, mi, R, K, A, M)] = pr[pi];
          }
        }
      }
    }
  }
  return { precision, recall };
}

/** numpy.searchsorted(a[:n], v, side='left'): the first index with a[i] >= v. */
function searchsortedLeft(a: Float64Array, n: number, v: number): number {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The reference's summarize: fills `stats` and `summary`. */
function summarize(res: CocoEvalResult): void {
  const p = res.params;
  const T = p.iouThrs.length, R = p.recThrs.length, A = p.areaRng.length, M = p.maxDets.length;
  const K = p.useCats ? p.catIds.length : 1;
  const one = (ap: boolean, iouThr?: number, areaRng = 'all', maxDets = 100): number => {
    const aind = p.areaRngLbl.flatMap((l, i) => (l === areaRng ? [i] : []));
    const mind = p.maxDets.flatMap((d, i) => (d === maxDets ? [i] : []));
    // numpy pairs the two index lists (broadcasting a single index).
    const pairs: [number, number][] = [];
    if (aind.length && mind.length) {
      if (aind.length !== mind.length && aind.length !== 1 && mind.length !== 1) throw new Error('summarize: area and maxDets labels do not broadcast');
      for (let i = 0; i < Math.max(aind.length, mind.length); i++) pairs.push([aind[aind.length === 1 ? 0 : i], mind[mind.length === 1 ? 0 : i]]);
    }
    const tind = iouThr === undefined ? p.iouThrs.map((_, t) => t) : p.iouThrs.flatMap((v, t) => (v === iouThr ? [t] : []));
    const values: number[] = [];
    for (const t of tind) {
      if (ap) {
        for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) for (const [a, mi] of pairs) values.push(res.precision[idx5(t, r, k, a, mi, R, K, A, M)]);
      } else {
        for (let k = 0; k < K; k++) for (const [a, mi] of pairs) values.push(res.recall[((t * K + k) * A + a) * M + mi]);
      }
    }
    const kept = values.filter((v) => v > -1);
    const mean = kept.length === 0 ? -1 : pairwiseSum(kept) / kept.length;
    const iouStr = iouThr === undefined ? `${p.iouThrs[0].toFixed(2)}:${p.iouThrs[T - 1].toFixed(2)}` : iouThr.toFixed(2);
    const title = ap ? 'Average Precision' : 'Average Recall';
    res.summary.push(` ${title.padEnd(18)} ${ap ? '(AP)' : '(AR)'} @[ IoU=${iouStr.padEnd(9)} | area=${areaRng.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${mean.toFixed(3)}`);
    return mean;
  };
  if (p.iouType === 'keypoints') {
    res.stats = [
      one(true, undefined, 'all', 20), one(true, 0.5, 'all', 20), one(true, 0.75, 'all', 20),
      one(true, undefined, 'medium', 20), one(true, undefined, 'large', 20),
      one(false, undefined, 'all', 20), one(false, 0.5, 'all', 20), one(false, 0.75, 'all', 20),
      one(false, undefined, 'medium', 20), one(false, undefined, 'large', 20),
    ];
    return;
  }
  if (M < 3) throw new Error(`evaluateCoco: the ${p.iouType} summary needs 3 maxDets, got ${show(p.maxDets)}`);
  const [m0, m1, m2] = p.maxDets;
  res.stats = [
    one(true), one(true, 0.5, 'all', m2), one(true, 0.75, 'all', m2),
    one(true, undefined, 'small', m2), one(true, undefined, 'medium', m2), one(true, undefined, 'large', m2),
    one(false, undefined, 'all', m0), one(false, undefined, 'all', m1), one(false, undefined, 'all', m2),
    one(false, undefined, 'small', m2), one(false, undefined, 'medium', m2), one(false, undefined, 'large', m2),
  ];
}
