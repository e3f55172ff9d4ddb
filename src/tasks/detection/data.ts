/**
 * Between the data pipeline and detectors: collated batches → tensors, and
 * detections → COCO results records.
 */
import type { Batch, BatchItem } from '../../data/collate';
import { batchToTensors } from '../../data/to-tensors';
import type { CocoResult } from '../../evaluation';
import type { DetBatch, DetInstances, DetTargets } from '../../models/detectors/types';

/** A collated batch as a DetBatch (the image buffer is copied once into a tensor). */
export function toDetBatch(batch: Batch, opts: { withTargets?: boolean; device?: string } = {}): DetBatch {
  const t = batchToTensors(batch, opts.device, { targets: opts.withTargets ?? false });
  const metas = t.metas.map((m) => ({ oriShape: m.oriShape, imgShape: m.imgShape, scaleFactor: m.scaleFactor, padShape: m.padShape }));
  if (!opts.withTargets) return { images: t.inputs, metas };
  const targets: DetTargets[] = t.targets.map(({ boxes, labels, ignoreBoxes }) => ({ boxes, labels, ignoreBoxes }));
  return { images: t.inputs, metas, targets };
}

/**
 * COCO results records (bbox [x, y, w, h]) for the detections of each batch item;
 * labels index catIds (the dataset's category ids, in class order).
 */
export function toCocoResults(dets: DetInstances[], items: Pick<BatchItem, 'meta'>[], catIds: readonly number[]): CocoResult[] {
  const out: CocoResult[] = [];
  dets.forEach((d, i) => {
    const boxes = d.boxes.toTypedArray() as Float32Array;
    const scores = d.scores.toTypedArray() as Float32Array;
    const labels = d.labels.toArray();
    for (let k = 0; k < scores.length; k++) {
      const [x1, y1, x2, y2] = boxes.subarray(4 * k, 4 * k + 4);
      const categoryId = catIds[labels[k]];
      if (categoryId === undefined) throw new Error(`toCocoResults: label ${labels[k]} has no category id (${catIds.length} classes)`);
      out.push({ image_id: items[i].meta.imgId, category_id: categoryId, bbox: [x1, y1, x2 - x1, y2 - y1], score: scores[k] });
    }
  });
  return out;
}
