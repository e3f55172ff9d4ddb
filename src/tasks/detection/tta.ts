/**
 * Test-time augmentation for detectors (MMDetection's `tools/test.py --tta`: TestTimeAug
 * views + DetTTAModel). Every test image is seen at each scale, and horizontally flipped
 * too when asked; each view's detections are mapped back to the original image (predict
 * already undoes the resize, the merge undoes the flip), pooled, and reduced by NMS
 * (class-wise; the RPN's proposals all have label 0) to the best `maxPerImg`.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { Batch } from '../../data/collate';
import type { ImageMeta } from '../../data/sample';
import type { TransformSpec } from '../../data/transforms';
import type { TrainableModel } from '../../engine/types';
import { isAugBatch, testResize, ttaPipelines } from '../tta';
export { zipViewSources, type AugBatch } from '../tta';
import { ModelWrapper } from '../../engine/model_wrapper';
import type { DetInstances } from '../../models/detectors/types';

export interface DetectionTtaConfig {
  /** Test scales, each a Resize `scales` entry (default: the test pipeline's Resize scales, one view each). */
  scales?: [number, number][];
  /** Also run every scale horizontally flipped. */
  flip: boolean;
  /** NMS over the pooled detections of all views (boxes of different labels never suppress each other). */
  nms: { iouThreshold: number };
  /** Detections kept per image after the merge, best first. */
  maxPerImg: number;
}

/** One test-time view of a detection config: the scale it resizes to and whether it flips. */
export interface TtaView {
  scale: [number, number];
  flip: boolean;
  pipeline: TransformSpec[];
}

/**
 * The views of a test pipeline: for each scale (and flip), the pipeline with its Resize
 * set to that one scale, followed by a certain RandomFlip when flipped.
 */
export function ttaViews(testPipeline: TransformSpec[], tta: DetectionTtaConfig, where = 'tta'): TtaView[] {
  const scales = tta.scales ?? testResize(testPipeline)?.scales;
  if (scales !== undefined) {
    if (!Array.isArray(scales) || scales.length === 0) throw new Error(`${where}.scales: expected at least one [w, h] scale`);
    scales.forEach((s, i) => {
      if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => Number.isFinite(v) && v > 0)) throw new Error(`${where}.scales[${i}]: expected [w, h] with positive numbers, got ${JSON.stringify(s)}`);
    });
  }
  if (!(tta.nms?.iouThreshold > 0 && tta.nms.iouThreshold <= 1)) throw new Error(`${where}.nms.iouThreshold: expected a number in (0, 1], got ${tta.nms?.iouThreshold}`);
  if (!(Number.isInteger(tta.maxPerImg) && tta.maxPerImg > 0)) throw new Error(`${where}.maxPerImg: expected a positive integer, got ${tta.maxPerImg}`);
  const resizes = (scales ?? []).map((scale) => ({ key: scale, resize: (r: Extract<TransformSpec, { type: 'Resize' }>) => ({ ...r, scales: [scale] }) }));
  return ttaPipelines(testPipeline, resizes, tta.flip, where).map((v) => ({ scale: v.key, flip: v.flip, pipeline: v.pipeline }));
}

/** Boxes [K, 4] in original-image pixels of a horizontally flipped view → the unflipped image. */
export function unflipBoxes(boxes: Tensor, oriWidth: number): Tensor {
  return torch.tidy(() => {
    const [x1, y1, x2, y2] = boxes.unbind(1);
    return torch.stack([x2.rsub(oriWidth), y1, x1.rsub(oriWidth), y2], 1);
  });
}

/** One image's detections from every view (original pixels, flips undone here) → merged. */
export function mergeAugDetections(dets: DetInstances[], metas: Pick<ImageMeta, 'flip' | 'oriShape'>[], tta: Pick<DetectionTtaConfig, 'nms' | 'maxPerImg'>): DetInstances {
  return torch.tidy(() => {
    const boxes = torch.cat(dets.map((d, v) => (metas[v].flip ? unflipBoxes(d.boxes, metas[v].oriShape[1]) : d.boxes)), 0);
    const scores = torch.cat(dets.map((d) => d.scores), 0);
    const labels = torch.cat(dets.map((d) => d.labels), 0);
    const keep = torch.ops.batchedNms(boxes, scores, labels, tta.nms.iouThreshold).slice(0, 0, tta.maxPerImg);
    return { boxes: boxes.index([keep]), scores: scores.index([keep]), labels: labels.index([keep]) };
  });
}

/** Wraps a detection model: predicts every view of an AugBatch and merges per image. */
export class DetectionTtaModel extends ModelWrapper<Batch, DetInstances[], TrainableModel<Batch, DetInstances[]>> {
  constructor(model: TrainableModel<Batch, DetInstances[]>, readonly tta: DetectionTtaConfig) {
    super(model);
  }

  loss(): Record<string, Tensor> {
    throw new Error('DetectionTtaModel: test-time augmentation is for testing; train the model itself');
  }
  predict(batch: Batch): DetInstances[] {
    if (!isAugBatch(batch)) throw new Error('DetectionTtaModel.predict: expected a batch from the test-time augmentation loader (with its views)');
    return torch.tidy(() => {
      const perView = batch.views.map((v) => this.wrapped.predict(v));
      return batch.items.map((_, i) => mergeAugDetections(perView.map((p) => p[i]), batch.views.map((v) => v.items[i].meta), this.tta));
    });
  }
}
