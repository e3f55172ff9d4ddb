/**
 * COCO 2017 detection data as MMDetection's configs/_base_/datasets/coco_detection.py:
 * 1333×800 keep-ratio resize, flip 0.5, 2 images per GPU. The images and annotations
 * are not shipped: put them in data/coco/ (annotations/instances_{train,val}2017.json,
 * train2017/, val2017/).
 */
import type { DetectionDataConfig } from '../../../src/tasks/detection/task';
import type { TransformSpec } from '../../../src/data/transforms';

const normalize = { mean: [123.675, 116.28, 103.53] as [number, number, number], std: [58.395, 57.12, 57.375] as [number, number, number], order: 'rgb' as const };
/** Caffe-style backbones: BGR, mean subtraction only. */
export const CAFFE_NORMALIZE = { mean: [103.53, 116.28, 123.675] as [number, number, number], std: [1, 1, 1] as [number, number, number], order: 'bgr' as const };

export function detPipelines(scale: [number, number], norm: typeof normalize | typeof CAFFE_NORMALIZE = normalize): { trainPipeline: TransformSpec[]; testPipeline: TransformSpec[] } {
  return {
    trainPipeline: [
      { type: 'Resize', scales: [scale], keepRatio: true },
      { type: 'RandomFlip', prob: 0.5 },
      { type: 'Normalize', ...norm },
      { type: 'Pad', sizeDivisor: 32 },
    ],
    testPipeline: [
      { type: 'Resize', scales: [scale], keepRatio: true },
      { type: 'Normalize', ...norm },
      { type: 'Pad', sizeDivisor: 32 },
    ],
  };
}

export const cocoDetection: DetectionDataConfig = {
  train: { annFile: 'data/coco/annotations/instances_train2017.json', imgDir: 'data/coco/train2017' },
  val: { annFile: 'data/coco/annotations/instances_val2017.json', imgDir: 'data/coco/val2017' },
  classes: null,
  ...detPipelines([1333, 800]),
  batchSize: 2,
  valBatchSize: 1,
  workers: 2,
  groupByAspectRatio: true,
  generate: null,
};

/** The same settings on the synthetic shapes dataset (generated on first use). */
export const shapesDetection: DetectionDataConfig = {
  train: { annFile: 'work_dirs/data/shapes/annotations/instances_train.json', imgDir: 'work_dirs/data/shapes/train' },
  val: { annFile: 'work_dirs/data/shapes/annotations/instances_val.json', imgDir: 'work_dirs/data/shapes/val' },
  classes: ['circle', 'rectangle', 'triangle', 'star'],
  ...detPipelines([320, 320]),
  batchSize: 4,
  valBatchSize: 1,
  workers: 1,
  groupByAspectRatio: false,
  generate: { kind: 'shapes', dir: 'work_dirs/data/shapes', images: 600, seed: 0, shapes: { minSize: 256, maxSize: 320, objectsPerImage: [1, 6], objectSize: [24, 160], crowdProb: 0.1 } },
};
