/**
 * Detection ops with torchvision.ops semantics: nms, batchedNms, roiAlign, roiPool,
 * boxIou. Boxes are [N, 4] (x1, y1, x2, y2) in absolute coordinates.
 */
import { native } from './native';
import { Tensor, wrap } from './tensor';
import { cat, full } from './creation';
import { tidy } from './scope';
import { argError, boolArg, describe, optionsArg, tensorArg } from './args';

function check(cond: boolean, msg: string): void {
  if (!cond) throw new TypeError(msg);
}

/**
 * Non-maximum suppression: indices (int64) of the boxes to keep, by decreasing score.
 * A box is dropped when its IoU with a kept, higher-scoring box exceeds iouThreshold.
 */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor {
  return wrap(native.nms(tensorArg('ops.nms', 'boxes', boxes), tensorArg('ops.nms', 'scores', scores), iouThreshold));
}

/**
 * NMS done independently per category (idxs [N] int64): boxes of different
 * categories never suppress each other. Uses torchvision's coordinate offset trick.
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  const fn = 'ops.batchedNms';
  tensorArg(fn, 'boxes', boxes);
  tensorArg(fn, 'scores', scores);
  tensorArg(fn, 'idxs', idxs);
  if (boxes.numel() === 0) return wrap(native.nms(boxes._h, scores._h, iouThreshold));
  return tidy(() => {
    // offset each category's boxes by (max coordinate + 1) × category so they never overlap
    const maxCoordinate = boxes.max();
    const offsets = idxs.to({ dtype: boxes.dtype }).mul(maxCoordinate.add(1));
    const shifted = boxes.add(offsets.unsqueeze(1));
    return nms(shifted, scores, iouThreshold);
  });
}

/** RoIs as [K, 5] (batch index, x1, y1, x2, y2), or one [Ki, 4] box tensor per image. */
export type Rois = Tensor | Tensor[];

function toRoiFormat(op: string, rois: Rois): { rois: Tensor; owned: boolean } {
  if (!(rois instanceof Tensor || Array.isArray(rois))) argError(op, 'rois', 'a [K, 5] Tensor or an array of [Ki, 4] Tensors (one per image)', rois);
  if (Array.isArray(rois)) rois.forEach((b, i) => tensorArg(op, `rois[${i}]`, b));
  if (rois instanceof Tensor) {
    check(rois.dim() === 2 && rois.size(1) === 5, `${op}: rois should be [K, 5], got [${rois.shape.join(', ')}]`);
    return { rois, owned: false };
  }
  const withIdx = tidy(() => cat(rois.map((b, i) => {
    check(b.dim() === 2 && b.size(1) === 4, `${op}: rois[${i}] (boxes of image ${i}) should be [K, 4], got [${b.shape.join(', ')}]`);
    return cat([full([b.size(0), 1], i, { dtype: b.dtype, device: b.device }), b], 1);
  }), 0));
  return { rois: withIdx, owned: true };
}

function sizeArg(op: string, s: number | [number, number]): [number, number] {
  const [h, w] = typeof s === 'number' ? [s, s] : Array.isArray(s) && s.length === 2 ? s : [NaN, NaN];
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) {
    throw new TypeError(`${op}: outputSize should be positive integers (a number or [height, width]), got ${typeof s === 'number' ? s : describe(s)}`);
  }
  return [h, w];
}

// The RoI ops' scalar options, checked as the binding checks them (native/src/detection_ops.cpp):
// a TypeError for the wrong kind, a RangeError for a value out of range, naming the option.
function scaleArg(op: string, scale: number | undefined): number {
  if (scale === undefined) return 1;
  if (typeof scale !== 'number') throw new TypeError(`${op}: spatialScale should be a number, got ${typeof scale}`);
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`${op}: spatialScale should be a finite number > 0, got ${scale}`);
  return scale;
}

/** samplingRatio: -1 or 0 adaptive, else 1 .. 1024 points per bin side. */
const maxSamplingRatio = 1024;
function samplingArg(ratio: number | undefined): number {
  if (ratio === undefined) return -1;
  if (typeof ratio !== 'number' || !Number.isInteger(ratio)) {
    throw new TypeError(`roiAlign: samplingRatio should be an integer in [-1, ${maxSamplingRatio}], got ${String(ratio)}`);
  }
  if (ratio < -1 || ratio > maxSamplingRatio) {
    throw new RangeError(`roiAlign: samplingRatio should be an integer in [-1, ${maxSamplingRatio}], got ${ratio}`);
  }
  return ratio;
}

/**
 * RoIAlign (Mask R-CNN): bilinear pooling of each RoI into outputSize bins.
 * samplingRatio ≤ 0 samples ceil(roi size / output size) points per bin;
 * aligned shifts boxes by -0.5 pixel (pixel model of Detectron2). Differentiable w.r.t. input.
 */
export function roiAlign(input: Tensor, rois: Rois, opts: { outputSize: number | [number, number]; spatialScale?: number; samplingRatio?: number; aligned?: boolean }): Tensor {
  opts = optionsArg('ops.roiAlign', opts);
  const x = tensorArg('ops.roiAlign', 'input', input);
  const [ph, pw] = sizeArg('roiAlign', opts.outputSize);
  const scale = scaleArg('roiAlign', opts.spatialScale);
  const sampling = samplingArg(opts.samplingRatio);
  const aligned = boolArg('ops.roiAlign', 'options.aligned', opts.aligned, false);
  const r = toRoiFormat('ops.roiAlign', rois);
  try {
    return wrap(native.roiAlign(x, r.rois._h, scale, ph, pw, sampling, aligned));
  } finally {
    if (r.owned) r.rois.dispose();
  }
}

/** RoIPool (Fast R-CNN): max pooling over quantized bins. Differentiable w.r.t. input. */
export function roiPool(input: Tensor, rois: Rois, opts: { outputSize: number | [number, number]; spatialScale?: number }): Tensor {
  opts = optionsArg('ops.roiPool', opts);
  const x = tensorArg('ops.roiPool', 'input', input);
  const [ph, pw] = sizeArg('roiPool', opts.outputSize);
  const scale = scaleArg('roiPool', opts.spatialScale);
  const r = toRoiFormat('ops.roiPool', rois);
  try {
    return wrap(native.roiPool(x, r.rois._h, scale, ph, pw));
  } finally {
    if (r.owned) r.rois.dispose();
  }
}

/** Box areas, [N]. */
export function boxArea(boxes: Tensor): Tensor {
  tensorArg('ops.boxArea', 'boxes', boxes);
  return tidy(() => boxes.select(1, 2).sub(boxes.select(1, 0)).mul(boxes.select(1, 3).sub(boxes.select(1, 1))));
}

/** Pairwise IoU of two box sets: [N, M]. */
export function boxIou(a: Tensor, b: Tensor): Tensor {
  tensorArg('ops.boxIou', 'a', a);
  tensorArg('ops.boxIou', 'b', b);
  return tidy(() => {
    const areaA = boxArea(a);
    const areaB = boxArea(b);
    const lt = a.slice(1, 0, 2).unsqueeze(1).maximum(b.slice(1, 0, 2).unsqueeze(0));
    const rb = a.slice(1, 2, 4).unsqueeze(1).minimum(b.slice(1, 2, 4).unsqueeze(0));
    const wh = rb.sub(lt).clamp({ min: 0 });
    const inter = wh.select(2, 0).mul(wh.select(2, 1));
    return inter.div(areaA.unsqueeze(1).add(areaB.unsqueeze(0)).sub(inter));
  });
}
