/**
 * A small RetinaNet on the synthetic shapes dataset at ~320 px, the counterpart of
 * faster_rcnn/faster-rcnn_r18_fpn_shapes: ResNet-18-FPN of 64 channels trained from scratch (no
 * pretrained weights can be downloaded), a RetinaHead of 64 channels, 4 classes. Iteration-based:
 * 800 iterations of 4 images, linear warmup, ×0.1 at 620 and 760, SGD lr 0.01 (MMDetection's
 * RetinaNet lr, half of Faster R-CNN's), gradients clipped at norm 10 as the Faster R-CNN
 * quickstart (a departure from mmdet's RetinaNet configs, which clip nothing: from scratch the
 * first focal-loss steps are large). Not yet tuned by a training run (issue 15).
 *   ./bin/tsvision train retinanet/retinanet_r18_fpn_shapes
 */
import { defineConfig, mergeConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import type { SingleStageModelConfig } from '../../src/models/detectors/build';
import { shapesDetection } from '../_base_/datasets/coco_detection';
import { detectionConfig } from '../_base_/detection';
import { retinanetR50Fpn } from '../_base_/models/retinanet_r50_fpn';

/** MMDetection's RetinaNet with a ResNet-18-FPN of 64 channels and a 64-channel head. */
export const model: SingleStageModelConfig = mergeConfig(retinanetR50Fpn, {
  // as the Faster R-CNN quickstart: BN trains, nothing frozen, no zero-init residuals, no pretrained weights
  backbone: { depth: 18, frozenStages: -1, normEval: false, initCfg: null, zeroInitResidual: false },
  neck: { inChannels: [64, 128, 256, 512], outChannels: 64 },
  bboxHead: { inChannels: 64, featChannels: 64, numClasses: 4 },
});

export const config: DetectionConfig = {
  ...detectionConfig({
    model,
    data: shapesDetection,
    schedule: {
      train: { byEpoch: false, maxIters: 800, valInterval: 0 },
      optimWrapper: { optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9, weightDecay: 1e-4 }, clipGrad: { maxNorm: 10 }, paramwise: null },
      paramScheduler: [
        { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 100 },
        { type: 'MultiStepLR', byEpoch: false, begin: 0, end: 800, milestones: [620, 760], gamma: 0.1 },
      ],
    },
  }),
  hooks: { logger: { interval: 10 }, checkpoint: { interval: 0, byEpoch: false, maxKeep: 1, saveLast: true } },
};

export default defineConfig(detectionTask, config);
