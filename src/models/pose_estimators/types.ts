/**
 * Typed containers that flow through top-down pose estimators (MMPose's PoseDataSample, typed). One sample
 * is one person crop: the image warped from a box (centre, scale) to the input size.
 */
import type { Tensor } from '../../torch';
import type { Module } from '../../nn';
import type { HeatmapTargets } from '../pose_heads/heatmap_head';

/** Geometry of one crop (the subset of mmpose's metainfo the model uses). */
export interface PoseSampleMeta {
  /** [x, y] centre of the crop in image pixels (mmpose's input_center). */
  inputCenter: [number, number];
  /** [w, h] size of the crop in image pixels (mmpose's input_scale, the padded box). */
  inputScale: [number, number];
  /** Left/right swap of the keypoints (COCO's flip pairs); required by the flip test. */
  flipIndices?: number[];
}

/** A batch as pose estimators consume it (after the data preprocessor). */
export interface PoseBatch {
  /** [N, 3, h, w] float32 normalized crops at the codec's inputSize. */
  images: Tensor;
  metas: PoseSampleMeta[];
  /** Training only: the codec's targets, batched. */
  targets?: HeatmapTargets;
}

/** The prediction for one crop, in image pixels. */
export interface PosePrediction {
  /** [K, 2] (x, y) image pixels. */
  keypoints: Float32Array;
  /** [K] heatmap maxima. */
  scores: Float32Array;
  /** [K, h, w] the (flip-averaged) heatmaps, with testCfg.outputHeatmaps. */
  heatmaps?: Tensor;
}

export type PoseLossDict = Record<string, Tensor>;

export interface PoseEstimator extends Module {
  readonly backbone: Module;
  loss(batch: PoseBatch): PoseLossDict;
  predict(batch: PoseBatch): PosePrediction[];
}
