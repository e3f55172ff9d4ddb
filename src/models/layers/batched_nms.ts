/**
 * Class-aware NMS as MMCV 2.1's `mmcv.ops.batched_nms` (the `nms` entry of MMDetection's
 * test cfgs: `nms=dict(type='nms', iou_threshold=0.7)`).
 *
 * Boxes [N, 4] (x1, y1, x2, y2, absolute pixels), scores [N], idxs [N] int64 (class or level
 * of each box: boxes of different idxs never suppress each other).
 *
 * Below `splitThr` boxes, every box is shifted by idx · (max coordinate + 1) and one NMS runs
 * over all of them (the float32 rounding of the shifted coordinates is part of the result: it
 * can decide which of two near-duplicates survives). From `splitThr` boxes on, one NMS per idx
 * over the same shifted boxes, the kept boxes then sorted by score. Either way the result is
 * ordered by decreasing score. The NMS itself is torchvision's (`torch.ops.nms`, IoU with
 * offset 0, a box dropped when its IoU with a kept box is > iouThreshold), which is what
 * MMCV's kernel computes with offset 0.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';

export interface BatchedNmsOptions {
  /** IoU above which the lower-scoring box is dropped (MMCV: iou_threshold). */
  iouThreshold: number;
  /** Box count from which NMS runs class by class (MMCV: split_thr, default 10000). */
  splitThr?: number;
  /** Ignore idxs: one NMS over all boxes (MMCV: class_agnostic, default false). */
  classAgnostic?: boolean;
}

/** Indices [K] int64 of the kept boxes, by decreasing score (MMCV's `keep`). */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, opts: BatchedNmsOptions): Tensor {
  const n = boxes.size(0);
  if (boxes.dim() !== 2 || boxes.size(1) !== 4) throw new Error(`batchedNms: boxes should be [N, 4], got [${boxes.shape.join(', ')}]`);
  if (scores.dim() !== 1 || scores.size(0) !== n || idxs.dim() !== 1 || idxs.size(0) !== n) {
    throw new Error(`batchedNms: scores and idxs should be [${n}], got [${scores.shape.join(', ')}] and [${idxs.shape.join(', ')}]`);
  }
  if (!(opts.iouThreshold >= 0 && opts.iouThreshold <= 1)) throw new Error(`batchedNms: iouThreshold should be in [0, 1], got ${opts.iouThreshold}`);
  return torch.tidy(() => {
    if (n === 0) return torch.zeros([0], { dtype: 'int64', device: boxes.device });
    let forNms = boxes;
    if (!opts.classAgnostic) {
      // idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes)), all in the boxes' dtype
      const offsets = idxs.to({ dtype: boxes.dtype }).mul(boxes.max().add(1));
      forNms = boxes.add(offsets.unsqueeze(1));
    }
    if (n < (opts.splitThr ?? 10000)) return torch.ops.nms(forNms, scores, opts.iouThreshold);
    const kept = torch.zeros([n], { dtype: 'bool', device: boxes.device });
    const ids = idxs.unique().values.toArray() as number[];
    for (const id of ids) {
      const mask = idxs.eq(id).nonzero().view(-1);
      const keep = torch.ops.nms(forNms.index([mask]), scores.index([mask]), opts.iouThreshold);
      kept.indexPut_([mask.index([keep])], torch.ones([keep.size(0)], { dtype: 'bool', device: boxes.device }));
    }
    const keep = kept.nonzero().view(-1);
    const order = scores.index([keep]).sort({ descending: true }).indices;
    return keep.index([order]);
  });
}
