/**
 * COCO 2017 detection data as MMDetection's configs/_base_/datasets/coco_detection.py:
 * 1333×800 keep-ratio resize, flip 0.5, 2 images per GPU. The images and annotations
 * are not shipped: put them in data/coco/ (annotations/instances_{train,val}2017.json,
 * train2017/, val2017/).
 */
import type { DetectionDataConfig } from '../../../src/tasks/detection/task';
import type { TransformSpec } from '../../../src/data/transforms';
import { COCO_CATEGORY_IDS, COCO_CLASSES } from '../../../src/data/datasets/coco-metainfo';

/**
 * The loading-side pipelines (mean/std, channel order and padding are the model's
 * dataPreprocessor's, applied by the loader after these).
 */
export function detPipelines(scale: [number, number]): { trainPipeline: TransformSpec[]; testPipeline: TransformSpec[] } {
  return {
    trainPipeline: [
      { type: 'Resize', scales: [scale], keepRatio: true },
      { type: 'RandomFlip', prob: 0.5 },
    ],
    testPipeline: [
      { type: 'Resize', scales: [scale], keepRatio: true },
    ],
  };
}

export const cocoDetection: DetectionDataConfig = {
  // filter_cfg=dict(filter_empty_gt=True, min_size=32) on the training set, as MMDetection's
  train: { annFile: 'data/coco/annotations/instances_train2017.json', imgDir: 'data/coco/train2017', filterMinSize: 32 },
  val: { annFile: 'data/coco/annotations/instances_val2017.json', imgDir: 'data/coco/val2017' },
  // CocoDataset.METAINFO: labels are these 80 classes; results carry COCO's category ids
  classes: [...COCO_CLASSES],
  categoryIds: [...COCO_CATEGORY_IDS],
  ...detPipelines([1333, 800]),
  batchSize: 2,
  valBatchSize: 1,
  workers: 2,
  groupByAspectRatio: true,
  generate: null,
};

/**
 * COCO 2017 instances as MMDetection's coco_instance.py: the same files and pipelines (masks
 * are loaded for models with a mask branch).
 */
export const cocoInstance: DetectionDataConfig = cocoDetection;

/** The same settings on the synthetic shapes dataset (generated on first use). */
export const shapesDetection: DetectionDataConfig = {
  train: { annFile: 'work_dirs/data/shapes/annotations/instances_train.json', imgDir: 'work_dirs/data/shapes/train' },
  val: { annFile: 'work_dirs/data/shapes/annotations/instances_val.json', imgDir: 'work_dirs/data/shapes/val' },
  classes: ['circle', 'rectangle', 'triangle', 'star'],
  categoryIds: [1, 2, 3, 4],
  ...detPipelines([320, 320]),
  batchSize: 4,
  valBatchSize: 1,
  workers: 1,
  groupByAspectRatio: false,
  generate: { kind: 'shapes', dir: 'work_dirs/data/shapes', images: 600, seed: 0, shapes: { minSize: 256, maxSize: 320, objectsPerImage: [1, 6], objectSize: [24, 160], crowdProb: 0.1 } },
};
