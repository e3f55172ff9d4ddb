/**
 * Top-down pose between the data pipeline and the metric: MMPose 1.x's pipelines as specs
 * (td-hm_*_coco configs: train_pipeline and val_pipeline), and a sample's prediction in the
 * form TopdownCocoMetric takes.
 */
import type { Sample } from '../../data/sample';
import type { KeypointEncoderSpec, TransformSpec } from '../../data/transforms';
import type { TopdownPrediction } from './evaluator';

export interface TopdownPipelineOptions {
  /** Network input [w, h], e.g. [192, 256]. */
  inputSize: [number, number];
  /** UDP warps (TopdownAffine use_udp); default false. */
  useUdp?: boolean;
  /** flip_indices of the dataset; default COCO's. */
  flipIndices?: readonly number[];
}

/**
 * MMPose's top-down train_pipeline after LoadImage: GetBBoxCenterScale, RandomFlip (horizontal),
 * RandomHalfBody, RandomBBoxTransform, TopdownAffine, GenerateTarget(codec). MMPose's default
 * options, as its COCO configs leave them.
 */
export function topdownTrainPipeline(o: TopdownPipelineOptions & { encoder: KeypointEncoderSpec }): TransformSpec[] {
  return [
    { type: 'GetBBoxCenterScale' },
    { type: 'TopdownRandomFlip', prob: 0.5, flipIndices: o.flipIndices },
    { type: 'RandomHalfBody' },
    { type: 'RandomBBoxTransform' },
    { type: 'TopdownAffine', inputSize: o.inputSize, useUdp: o.useUdp },
    { type: 'GenerateTarget', encoder: o.encoder },
  ];
}

/** MMPose's top-down val_pipeline after LoadImage: GetBBoxCenterScale, TopdownAffine. */
export function topdownTestPipeline(o: TopdownPipelineOptions): TransformSpec[] {
  return [
    { type: 'GetBBoxCenterScale' },
    { type: 'TopdownAffine', inputSize: o.inputSize, useUdp: o.useUdp },
  ];
}

/**
 * One sample's prediction for TopdownCocoMetric: its id, image, the detector's box score (1 for
 * ground-truth boxes) and the box scale the model saw; `keypoints` [K*2] are in original-image
 * pixels (decoded through sample.pose's centre and scale), `keypointScores` [K].
 */
export function topdownPrediction(sample: Pick<Sample, 'meta' | 'targets' | 'pose'>, keypoints: ArrayLike<number>, keypointScores: ArrayLike<number>): TopdownPrediction {
  const { meta, targets, pose } = sample;
  if (meta.instanceId === undefined) throw new Error(`pose: ${meta.imgPath}: the sample has no instanceId (top-down records of CocoKeypoints carry one)`);
  if (!pose) throw new Error(`pose: ${meta.imgPath}: the sample has no box centre/scale (GetBBoxCenterScale, TopdownAffine)`);
  return {
    id: meta.instanceId,
    imageId: meta.imgId,
    keypoints,
    keypointScores,
    bboxScore: targets.boxScores?.[0] ?? 1,
    bboxScale: pose.scale,
  };
}
