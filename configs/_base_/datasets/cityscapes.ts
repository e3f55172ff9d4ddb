/**
 * Cityscapes as MMSegmentation's configs/_base_/datasets/cityscapes.py: random resize of
 * (2048, 1024) by 0.5-2.0, random 512x1024 crops with cat_max_ratio 0.75, flip 0.5, photometric
 * distortion; test at (2048, 1024) keep-ratio; 2 images per GPU. Put the dataset in
 * data/cityscapes/ (leftImg8bit/, gtFine/ with *_gtFine_labelTrainIds.png, made by cityscapesscripts'
 * createTrainIdLabelImgs as mmseg's tools/dataset_converters/cityscapes.py does).
 */
import { CITYSCAPES_CLASSES } from '../../../src/data/datasets/segmentation';
import type { TransformSpec } from '../../../src/data/transforms';
import type { SegmentationDataConfig } from '../../../src/tasks/segmentation/task';

/**
 * mmseg's training and test pipelines after loading: `scale` [w, h] (mmseg's (w, h) scale
 * tuples), `crop` [h, w] (mmseg's crop_size; our RandomCrop takes [w, h]).
 */
export function segPipelines(scale: [number, number], crop: [number, number]): { trainPipeline: TransformSpec[]; testPipeline: TransformSpec[] } {
  return {
    trainPipeline: [
      { type: 'RandomResize', scale, ratioRange: [0.5, 2.0], keepRatio: true },
      { type: 'RandomCrop', cropSize: [crop[1], crop[0]], catMaxRatio: 0.75 },
      { type: 'RandomFlip', prob: 0.5 },
      // mmseg's: uint8 steps and OpenCV's 8-bit HSV (test/data/mmseg_photometric.test.ts); defaults brightness 32,
      // contrast and saturation 0.5-1.5, hue 18 on OpenCV's 0-180 scale (36 degrees)
      { type: 'PhotoMetricDistortion', flavor: 'mmseg' },
    ],
    testPipeline: [{ type: 'Resize', scales: [scale], keepRatio: true }],
  };
}

export const cityscapesCropSize: [number, number] = [512, 1024];

export const cityscapes: SegmentationDataConfig = {
  train: { kind: 'cityscapes', dataRoot: 'data/cityscapes', split: 'train' },
  val: { kind: 'cityscapes', dataRoot: 'data/cityscapes', split: 'val' },
  classes: [...CITYSCAPES_CLASSES],
  ...segPipelines([2048, 1024], cityscapesCropSize),
  batchSize: 2,
  valBatchSize: 1,
  workers: 2,
  generate: null,
};
