/**
 * The one place where a collated batch becomes tensors (one copy of each buffer into
 * libtorch). Everything before this is plain typed arrays, so the pipeline runs in
 * worker threads without the tensor engine.
 */
import { fromTypedArray, type Tensor } from '../torch';
import type { InstanceMasks } from '../structures/masks';
import type { Batch } from './collate';
import type { ImageMeta } from './sample';

/** One image's targets as tensors. Shapes: N instances, K keypoints. */
export interface InstanceTargets {
  /** [N, 4] float32, xyxy absolute pixels of the padded input. */
  boxes: Tensor;
  /** [N] int64 class indices. */
  labels: Tensor;
  /** [M, 4] float32 crowd regions to ignore. */
  ignoreBoxes?: Tensor;
  /** Instance masks, still as polygons or bitmaps (mask heads crop them per RoI). */
  masks?: InstanceMasks;
  /** [N, K, 3] float32 (x, y, visibility). */
  keypoints?: Tensor;
  /** [H, W] uint8 class map, 255 = ignore. */
  segMap?: Tensor;
  /** [K, Hh, Wh] float32 heatmaps and [K] weights (top-down pose). */
  heatmaps?: Tensor;
  targetWeights?: Tensor;
}

export interface TensorBatch {
  /** [B, 3, H, W] float32. */
  inputs: Tensor;
  targets: InstanceTargets[];
  metas: ImageMeta[];
}

/**
 * Converts a collated batch; `device` moves the tensors (e.g. 'cuda'); `targets: false`
 * skips the targets (inference), leaving `targets` empty.
 */
export function batchToTensors(batch: Batch, device?: string, conv: { targets?: boolean } = {}): TensorBatch {
  const opts = device ? { device } : {};
  const targets = conv.targets === false ? [] : batch.items.map(({ targets: t, pose, meta }) => {
    const n = t.labels?.length ?? 0;
    const out: InstanceTargets = {
      boxes: fromTypedArray(t.boxes ?? new Float32Array(0), [n, 4], opts),
      labels: fromTypedArray(t.labels ?? new Int32Array(0), [n], { ...opts, dtype: 'int64' }),
    };
    if (t.ignoreBoxes) out.ignoreBoxes = fromTypedArray(t.ignoreBoxes, [t.ignoreBoxes.length / 4, 4], opts);
    if (t.masks) out.masks = t.masks;
    if (t.keypoints) {
      const k = t.numKeypoints ?? 17;
      out.keypoints = fromTypedArray(t.keypoints, [t.keypoints.length / (3 * k), k, 3], opts);
    }
    if (t.segMap) out.segMap = fromTypedArray(t.segMap, [meta.padShape[0], t.segMap.length / meta.padShape[0]], opts);
    if (pose) {
      const [w, h] = pose.heatmapSize;
      out.heatmaps = fromTypedArray(pose.heatmaps, [pose.heatmaps.length / (w * h), h, w], opts);
      out.targetWeights = fromTypedArray(pose.targetWeights, [pose.targetWeights.length], opts);
    }
    return out;
  });
  return { inputs: fromTypedArray(batch.inputs, batch.shape, opts), targets, metas: batch.items.map((i) => i.meta) };
}
