/**
 * The quickstart's model (`npm start`): a small Faster R-CNN, ResNet-18-FPN trained from
 * scratch (no pretrained weights can be downloaded) on the synthetic shapes dataset at
 * ~320 px, sized to train in minutes on 2 CPU cores. Iteration-based: 800 iterations of
 * 4 images, linear warmup, ×0.1 at 620 and 760; RoIAlign with 2×2 samples per bin. (800, not
 * 900: the 900-iteration quickstart took 15.6 min on the 2-core VM, over its 15-minute budget;
 * 800 take 13.4 min, box AP 65.4.)
 *   ./bin/tsvision train faster_rcnn/faster-rcnn_r18_fpn_shapes
 */
import { defineConfig, mergeConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import type { TwoStageModelConfig } from '../../src/models/detectors/build';
import { shapesDetection } from '../_base_/datasets/coco_detection';
import { detectionConfig } from '../_base_/detection';
import { fasterRcnnR50Fpn } from '../_base_/models/faster-rcnn_r50_fpn';

/** MMDetection's Faster R-CNN with a ResNet-18-FPN of 64 channels and lighter heads and sampling. */
export const model: TwoStageModelConfig = mergeConfig(fasterRcnnR50Fpn, {
  // No pretrained weights can be downloaded: BN trains (normEval false), nothing frozen, and,
  // departing from MMDetection's ResNet default, residual blocks do not start as the identity
  // (zero_init_residual off): from scratch at 800 iterations that gave box AP 65.4 against 51.3.
  backbone: { depth: 18, frozenStages: -1, normEval: false, initCfg: null, zeroInitResidual: false },
  neck: { inChannels: [64, 128, 256, 512], outChannels: 64 },
  rpnHead: { inChannels: 64, featChannels: 64 },
  roiHead: { roiExtractor: { samplingRatio: 2 }, bboxHead: { inChannels: 64, fcOutChannels: 256, numClasses: 4 } },
  trainCfg: { rpnProposal: { nmsPre: 1000, maxPerImg: 500 }, rcnn: { sampler: { num: 256 } } },
  testCfg: { rpn: { maxPerImg: 500 } },
});

export const config: DetectionConfig = {
  ...detectionConfig({
    model,
    data: shapesDetection,
    schedule: {
      train: { byEpoch: false, maxIters: 800, valInterval: 0 },
      optimWrapper: { optimizer: { type: 'SGD', lr: 0.02, momentum: 0.9, weightDecay: 1e-4 }, clipGrad: { maxNorm: 10 }, paramwise: null },
      paramScheduler: [
        { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 100 },
        { type: 'MultiStepLR', byEpoch: false, begin: 0, end: 800, milestones: [620, 760], gamma: 0.1 },
      ],
    },
  }),
  hooks: { logger: { interval: 10 }, checkpoint: { interval: 0, byEpoch: false, maxKeep: 1, saveLast: true, saveBest: null, rule: null } },
};

export default defineConfig(detectionTask, config);
