/**
 * Between the data pipeline and detectors: collated batches → tensors, and
 * detections → COCO results records.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { Batch, BatchItem } from '../../data/collate';
import { batchToTensors } from '../../data/to-tensors';
import type { CocoResult } from '../../evaluation';
import { decodeMask, encodeMask, rleFromPolygons, rleToJson } from '../../evaluation/coco/mask';
import type { InstanceMasks } from '../../structures/masks';
import type { DetBatch, DetInstances, DetTargets } from '../../models/detectors/types';

/**
 * Instance masks (polygons or bitmaps of the loaded image) as a uint8 tensor [N, H, W] of the
 * padded batch image (zeros beyond the mask's own size, as MMDetection's pad_mask). Polygons
 * are rasterized as pycocotools does (MMDetection's poly2mask).
 */
export function masksToTensor(masks: InstanceMasks, height: number, width: number, device?: string): Tensor {
  const n = masks.kind === 'polygons' ? masks.polygons.length : masks.count;
  const { height: mh, width: mw } = masks;
  if (mh > height || mw > width) throw new Error(`masksToTensor: masks of ${mh}x${mw} exceed the batch image ${height}x${width}`);
  const data = new Uint8Array(n * height * width);
  for (let i = 0; i < n; i++) {
    const base = i * height * width;
    if (masks.kind === 'polygons') {
      const col = decodeMask(rleFromPolygons(masks.polygons[i], mh, mw)); // column-major
      for (let x = 0; x < mw; x++) for (let y = 0; y < mh; y++) data[base + y * width + x] = col[x * mh + y];
    } else {
      const src = masks.data.subarray(i * mh * mw, (i + 1) * mh * mw);
      for (let y = 0; y < mh; y++) data.set(src.subarray(y * mw, (y + 1) * mw), base + y * width);
    }
  }
  return torch.fromTypedArray(data, [n, height, width], device ? { device } : {});
}

/**
 * A collated batch as a DetBatch (the image buffer is copied once into a tensor); with
 * `withMasks` the targets carry each image's instance masks in the padded batch image.
 */
export function toDetBatch(batch: Batch, opts: { withTargets?: boolean; withMasks?: boolean; device?: string } = {}): DetBatch {
  const t = batchToTensors(batch, opts.device, { targets: opts.withTargets ?? false });
  const metas = t.metas.map((m) => ({ oriShape: m.oriShape, imgShape: m.imgShape, scaleFactor: m.scaleFactor, padShape: m.padShape }));
  if (!opts.withTargets) return { images: t.inputs, metas };
  const [h, w] = batch.shape.slice(2);
  const targets: DetTargets[] = t.targets.map(({ boxes, labels, ignoreBoxes, masks }, i) => {
    if (!opts.withMasks) return { boxes, labels, ignoreBoxes };
    if (!masks) throw new Error(`toDetBatch: image ${batch.items[i].meta.imgId} has no instance masks (the model has a mask branch; is the dataset loaded with masks?)`);
    return { boxes, labels, ignoreBoxes, masks: masksToTensor(masks, h, w, opts.device) };
  });
  return { images: t.inputs, metas, targets };
}

/** Bool masks [K, H, W] → COCO compressed RLE per instance ({size: [H, W], counts}). */
export function masksToRles(masks: Tensor): { size: [number, number]; counts: string }[] {
  const [k, h, w] = masks.shape;
  const out: { size: [number, number]; counts: string }[] = [];
  for (let i = 0; i < k; i++) {
    // column-major bytes, as RLE runs go down the columns
    const col = torch.tidy(() => masks.select(0, i).t().contiguous().to('uint8').toTypedArray() as Uint8Array);
    out.push(rleToJson(encodeMask(col, h, w)));
  }
  return out;
}

/**
 * COCO results records (bbox [x, y, w, h]; with masks also `segmentation` as compressed RLE)
 * for the detections of each batch item; labels index catIds (the dataset's category ids, in
 * class order).
 */
export function toCocoResults(dets: DetInstances[], items: Pick<BatchItem, 'meta'>[], catIds: readonly number[]): CocoResult[] {
  const out: CocoResult[] = [];
  dets.forEach((d, i) => {
    const boxes = d.boxes.toTypedArray() as Float32Array;
    const scores = d.scores.toTypedArray() as Float32Array;
    const labels = d.labels.toArray();
    const rles = d.masks ? masksToRles(d.masks) : undefined;
    for (let k = 0; k < scores.length; k++) {
      const [x1, y1, x2, y2] = boxes.subarray(4 * k, 4 * k + 4);
      const categoryId = catIds[labels[k]];
      if (categoryId === undefined) throw new Error(`toCocoResults: label ${labels[k]} has no category id (${catIds.length} classes)`);
      const rec: CocoResult = { image_id: items[i].meta.imgId, category_id: categoryId, bbox: [x1, y1, x2 - x1, y2 - y1], score: scores[k] };
      if (rles) rec.segmentation = rles[k];
      out.push(rec);
    }
  });
  return out;
}
