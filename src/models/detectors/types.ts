/**
 * Typed containers that flow through detectors (Detectron2's Instances, typed).
 * Boxes are [N, 4] (x1, y1, x2, y2) in absolute pixels; which image space is said per field.
 */
import type { Tensor } from '../../torch';
import type { Module } from '../../nn';

/** Geometry of one image in a batch (the subset of the data pipeline's metainfo models use). */
export interface DetImageMeta {
  /** [h, w] of the original image. */
  oriShape: [number, number];
  /** [h, w] of the resized image: the valid region inside the padded batch tensor. */
  imgShape: [number, number];
  /** [w_scale, h_scale] = imgShape / oriShape, for mapping predictions back. */
  scaleFactor: [number, number];
  /**
   * [h, w] of this image padded to the size divisor (MMDetection's pad_shape, which its
   * data preprocessor sets per image): anchors on feature cells beyond it are invalid in
   * training. When absent, the detector derives it from imgShape and its padSizeDivisor.
   */
  padShape?: [number, number];
}

/** Ground truth of one image, in the resized image's pixels. */
export interface DetTargets {
  boxes: Tensor; // [G, 4] float32
  labels: Tensor; // [G] int64, 0-based class indices
  /** Crowd regions to ignore, [I, 4]. */
  ignoreBoxes?: Tensor;
  /** Instance masks [G, H, W] (uint8 or float, 1 inside) in the padded batch image, one per box (mask heads). */
  masks?: Tensor;
}

/** A batch as detectors consume it (after the data preprocessor). */
export interface DetBatch {
  images: Tensor; // [N, 3, H, W] float32, normalized and padded
  metas: DetImageMeta[];
  targets?: DetTargets[];
  /** Per-image precomputed proposals [P, 4] in resized pixels (Fast R-CNN). */
  proposals?: Tensor[];
}

/** Detections of one image. */
export interface DetInstances {
  boxes: Tensor; // [K, 4] float32
  scores: Tensor; // [K]
  labels: Tensor; // [K] int64
  /** Instance masks [K, H, W] bool in the same image space as the boxes (mask heads only). */
  masks?: Tensor;
}

/** A detector's loss terms; keys containing 'loss' are summed for the backward pass. */
export type LossDict = Record<string, Tensor>;

/**
 * What every detector offers the task, the apis and the runner (two-stage, single-stage, ...):
 * a Module with a backbone (for pretrained init), training losses and predictions.
 */
export interface Detector extends Module {
  readonly backbone: Module;
  loss(batch: DetBatch): LossDict;
  /** Detections per image, in original-image pixels. */
  predict(batch: DetBatch): DetInstances[];
}
