/**
 * Typed containers that flow through semantic segmentors (MMSegmentation's SegDataSample, typed).
 * Shapes are [h, w]; which image space is said per field.
 */
import type { Tensor } from '../../torch';
import type { Module } from '../../nn';

/** Geometry of one image in a batch (the subset of mmseg's metainfo the model uses). */
export interface SegImageMeta {
  /** [h, w] of the original image: predictions are resized back to it. */
  oriShape: [number, number];
  /** [h, w] of the image after resize / crop, before padding: the valid region of the batch tensor. */
  imgShape: [number, number];
  /** [h, w] of the padded image (mmseg's pad_shape); absent: the batch tensor's size. */
  padShape?: [number, number];
  /** The image was flipped by the pipeline (test-time flip views): predictions are flipped back. */
  flip?: 'horizontal' | 'vertical' | null;
}

/** A batch as segmentors consume it (after the data preprocessor). */
export interface SegBatch {
  /** [N, 3, H, W] float32, normalized and padded (pad value 0). */
  images: Tensor;
  metas: SegImageMeta[];
  /** [N, H, W] int64 class indices, padded with the ignore index (255): training only. */
  gtSegMaps?: Tensor;
}

/** The prediction for one image, in original-image pixels. */
export interface SegPrediction {
  /**
   * [C, h, w] float32 logits resized to oriShape (mmseg's seg_logits), before softmax; a one-channel head's
   * are sigmoid probabilities (as mmseg's postprocess_result).
   */
  logits: Tensor;
  /** [h, w] int64 class indices (argmax of logits; for one-channel sigmoid heads, probability > 0.3). */
  labels: Tensor;
}

/** A segmentor's loss terms (mmseg names: decode.loss_ce, aux.loss_ce, ...); keys containing 'loss' are summed. */
export type SegLossDict = Record<string, Tensor>;

/**
 * What every segmentor offers the task, the apis and the runner (EncoderDecoder, and later cascades):
 * a Module with a backbone (for pretrained init), training losses and predictions.
 */
export interface Segmentor extends Module {
  readonly backbone: Module;
  readonly numClasses: number;
  loss(batch: SegBatch): SegLossDict;
  /** Per image: logits and labels at the original size (whole or slide mode, from the test config). */
  predict(batch: SegBatch): SegPrediction[];
}
