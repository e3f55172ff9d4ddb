/**
 * The quickstart: a small Faster R-CNN (ResNet-18-FPN, trained from scratch) on the
 * synthetic "shapes" dataset at ~320 px, sized to train in minutes on 2 CPU cores.
 */
import type { TwoStageModelConfig } from '../../src/models/detectors/build';
import type { TransformSpec } from '../../src/data/transforms';

export const model: TwoStageModelConfig = {
  type: 'FasterRCNN',
  dataPreprocessor: { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], order: 'rgb', padSizeDivisor: 32 },
  // No pretrained weights can be downloaded: BN trains (normEval false), nothing frozen.
  backbone: { depth: 18, frozenStages: -1, normEval: false },
  neck: { inChannels: [64, 128, 256, 512], outChannels: 64, numOuts: 5 },
  rpnHead: {
    inChannels: 64,
    anchor: { strides: [4, 8, 16, 32, 64], ratios: [0.5, 1, 2], scales: [8] },
    coder: { means: [0, 0, 0, 0], stds: [1, 1, 1, 1] },
  },
  roiHead: {
    roiExtractor: { outputSize: 7, samplingRatio: 0, aligned: true, featmapStrides: [4, 8, 16, 32] },
    bboxHead: { inChannels: 64, roiSize: 7, fcOutChannels: 256, numClasses: 4, coder: { stds: [0.1, 0.1, 0.2, 0.2] } },
  },
  trainCfg: {
    rpn: {
      assigner: { posIouThr: 0.7, negIouThr: 0.3, minPosIou: 0.3, matchLowQuality: true, ignoreIofThr: -1 },
      sampler: { num: 256, posFraction: 0.5, negPosUb: -1, addGtAsProposals: false },
      allowedBorder: -1,
    },
    rpnProposal: { nmsPre: 1000, maxPerImg: 500, iouThreshold: 0.7, minBboxSize: 0 },
    rcnn: {
      assigner: { posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0.5, matchLowQuality: false, ignoreIofThr: -1 },
      sampler: { num: 256, posFraction: 0.25, negPosUb: -1, addGtAsProposals: true },
    },
  },
  testCfg: {
    rpn: { nmsPre: 1000, maxPerImg: 500, iouThreshold: 0.7, minBboxSize: 0 },
    rcnn: { scoreThr: 0.05, iouThreshold: 0.5, maxPerImg: 100 },
  },
};

const normalize = { mean: [123.675, 116.28, 103.53] as [number, number, number], std: [58.395, 57.12, 57.375] as [number, number, number], order: 'rgb' as const };

export const data = {
  /** The generated dataset (tsvision make-dataset shapes). */
  images: 600,
  seed: 0,
  shapes: { minSize: 256, maxSize: 320, objectsPerImage: [1, 6] as [number, number], objectSize: [24, 160] as [number, number], crowdProb: 0.1 },
  trainPipeline: [
    { type: 'Resize', scales: [[320, 320]], keepRatio: true },
    { type: 'RandomFlip', prob: 0.5 },
    { type: 'Normalize', ...normalize },
    { type: 'Pad', sizeDivisor: 32 },
  ] as TransformSpec[],
  testPipeline: [
    { type: 'Resize', scales: [[320, 320]], keepRatio: true },
    { type: 'Normalize', ...normalize },
    { type: 'Pad', sizeDivisor: 32 },
  ] as TransformSpec[],
  batchSize: 4,
  workers: 1,
};

export const schedule = {
  iters: 700,
  lr: 0.02,
  momentum: 0.9,
  weightDecay: 1e-4,
  warmupIters: 100,
  warmupRatio: 0.001,
  /** lr × 0.1 at these iterations. */
  steps: [550, 650],
  gradClip: 10,
};
