/**
 * The quickstart's Faster R-CNN (ResNet-18-FPN from scratch, ~320 px) on the synthetic
 * shapes dataset, trained by the runner: 12 epochs of the generated 480 training images.
 *   ./bin/tsvision train faster_rcnn/faster-rcnn_r18_fpn_shapes
 */
import { defineConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/models/detectors/task';
import { shapesDetection } from '../_base_/datasets/coco_detection';
import { detectionConfig } from '../_base_/detection';
import { model } from '../quickstart/faster-rcnn_r18_fpn_shapes';

export const config: DetectionConfig = {
  ...detectionConfig({
    model,
    data: shapesDetection,
    schedule: {
      train: { byEpoch: true, maxEpochs: 12, valInterval: 4 },
      optimWrapper: { optimizer: { type: 'SGD', lr: 0.02, momentum: 0.9, weightDecay: 1e-4 }, clipGrad: { maxNorm: 10 }, paramwise: null },
      paramScheduler: [
        { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 100 },
        { type: 'MultiStepLR', byEpoch: true, begin: 0, end: 12, milestones: [9, 11], gamma: 0.1 },
      ],
    },
  }),
  hooks: { logger: { interval: 20 }, checkpoint: { interval: 4, byEpoch: true, maxKeep: 2, saveLast: true } },
};

export default defineConfig(detectionTask, config);
