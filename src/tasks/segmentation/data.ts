/**
 * Between the data pipeline and segmentors: collated batches → SegBatch (images, metas and
 * label maps padded with the ignore index to the batch size), and the pipeline's model
 * preprocessing read from `model.dataPreprocessor`.
 */
import * as torch from '../../torch';
import type { Batch } from '../../data/collate';
import type { TransformSpec } from '../../data/transforms';
import type { SegDataPreprocessorConfig } from '../../models/segmentors/config';
import type { SegBatch, SegImageMeta } from '../../models/segmentors/types';

/**
 * A pipeline followed by the model's preprocessing (mmseg's SegDataPreprocessor: mean, std,
 * channel order; pad value 0 for images and `segPadVal` for label maps). Training batches are
 * padded to `size` ([h, w], the crop size) as mmseg's stack_batch does; test batches only to the
 * largest image. A Normalize or Pad in the pipeline is an error: configured twice.
 */
export function withSegPreprocessing(pipeline: readonly TransformSpec[], dp: SegDataPreprocessorConfig, where: string, training: boolean): TransformSpec[] {
  pipeline.forEach((s, i) => {
    if (s.type === 'Normalize' || s.type === 'Pad') {
      throw new Error(`${where}[${i}]: ${s.type} belongs to model.dataPreprocessor (mean, std, order, size, padVal, segPadVal), which the loader applies; remove it from the pipeline`);
    }
  });
  const pad: TransformSpec = training && dp.size
    ? { type: 'Pad', size: [dp.size[1], dp.size[0]], padValue: dp.padVal, segPadValue: dp.segPadVal }
    : { type: 'Pad', sizeDivisor: 1, padValue: dp.padVal, segPadValue: dp.segPadVal };
  return [...pipeline, { type: 'Normalize', mean: dp.mean, std: dp.std, order: dp.order }, pad];
}

/** The segmentor's view of each batch image's geometry. */
export function segMetas(batch: Batch): SegImageMeta[] {
  return batch.items.map(({ meta }) => ({
    oriShape: meta.oriShape,
    imgShape: meta.imgShape,
    padShape: meta.padShape,
    flip: meta.flip ? meta.flipDirection ?? 'horizontal' : null,
  }));
}

/**
 * The label maps of a batch as one [N, H, W] uint8 buffer (H x W: the batch tensor's size), each
 * map at the top left and the rest `padValue` (the ignore index). A map must have its sample's
 * padded width; an image without one is an error naming it.
 */
export function stackSegMaps(batch: Batch, padValue = 255): Uint8Array {
  const [n, , H, W] = batch.shape;
  const out = new Uint8Array(n * H * W).fill(padValue);
  batch.items.forEach(({ meta, targets }, i) => {
    const map = targets.segMap;
    if (!map) throw new Error(`segmentation: ${meta.imgPath} has no label map (is the dataset a segmentation dataset with segMapPath?)`);
    const h = meta.padShape[0];
    const w = map.length / h;
    if (!Number.isInteger(w) || h > H || w > W) throw new Error(`segmentation: ${meta.imgPath}: a label map of ${map.length} values does not fit ${h} rows of at most ${W} (batch ${H}x${W})`);
    for (let y = 0; y < h; y++) out.set(map.subarray(y * w, (y + 1) * w), (i * H + y) * W);
  });
  return out;
}

/** A collated batch as a SegBatch; with `withTargets` it carries gtSegMaps [N, H, W] int64. */
export function toSegBatch(batch: Batch, opts: { withTargets?: boolean; device?: string; segPadVal?: number } = {}): SegBatch {
  const dev = opts.device ? { device: opts.device } : {};
  const images = torch.fromTypedArray(batch.inputs, batch.shape, dev);
  const metas = segMetas(batch);
  if (!opts.withTargets) return { images, metas };
  const [n, , H, W] = batch.shape;
  const gtSegMaps = torch.tidy(() => torch.fromTypedArray(stackSegMaps(batch, opts.segPadVal ?? 255), [n, H, W], dev).to('int64'));
  return { images, metas, gtSegMaps };
}
