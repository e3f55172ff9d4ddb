/**
 * The quickstart's model (`npm start`): a small Faster R-CNN, ResNet-18-FPN trained from
 * scratch (no pretrained weights can be downloaded) on the synthetic shapes dataset at
 * ~320 px, sized to train in minutes on 2 CPU cores. Iteration-based: 900 iterations of
 * 4 images, linear warmup, ×0.1 at 700 and 850; RoIAlign with 2×2 samples per bin.
 *   ./bin/tsvision train faster_rcnn/faster-rcnn_r18_fpn_shapes
 */
import { defineConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/models/detectors/task';
import type { TwoStageModelConfig } from '../../src/models/detectors/build';
import { shapesDetection } from '../_base_/datasets/coco_detection';
import { detectionConfig } from '../_base_/detection';

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
    roiExtractor: { outputSize: 7, samplingRatio: 2, aligned: true, featmapStrides: [4, 8, 16, 32] },
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

export const config: DetectionConfig = {
  ...detectionConfig({
    model,
    data: shapesDetection,
    schedule: {
      train: { byEpoch: false, maxIters: 900, valInterval: 0 },
      optimWrapper: { optimizer: { type: 'SGD', lr: 0.02, momentum: 0.9, weightDecay: 1e-4 }, clipGrad: { maxNorm: 10 }, paramwise: null },
      paramScheduler: [
        { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 100 },
        { type: 'MultiStepLR', byEpoch: false, begin: 0, end: 900, milestones: [700, 850], gamma: 0.1 },
      ],
    },
  }),
  hooks: { logger: { interval: 10 }, checkpoint: { interval: 0, byEpoch: false, maxKeep: 1, saveLast: true } },
};

export default defineConfig(detectionTask, config);
