/**
 * ADE20K (SceneParsing, 150 classes) as MMSegmentation's configs/_base_/datasets/ade20k.py:
 * label 0 ignored (reduce_zero_label), random resize of (2048, 512) by 0.5-2.0, random 512x512
 * crops with cat_max_ratio 0.75, flip 0.5, photometric distortion; test at (2048, 512)
 * keep-ratio; 4 images per GPU. Put ADEChallengeData2016 in data/ade/.
 */
import { ADE20K_CLASSES } from '../../../src/data/datasets/seg-metainfo';
import type { SegmentationDataConfig } from '../../../src/tasks/segmentation/task';
import { segPipelines } from './cityscapes';

export const ade20kCropSize: [number, number] = [512, 512];

export const ade20k: SegmentationDataConfig = {
  train: { kind: 'ade20k', dataRoot: 'data/ade/ADEChallengeData2016', split: 'training' },
  val: { kind: 'ade20k', dataRoot: 'data/ade/ADEChallengeData2016', split: 'validation' },
  classes: [...ADE20K_CLASSES],
  ...segPipelines([2048, 512], ade20kCropSize),
  batchSize: 4,
  valBatchSize: 1,
  workers: 4,
  generate: null,
};
