/**
 * Pascal VOC 2012 with the SBD augmented maps as MMSegmentation's
 * configs/_base_/datasets/pascal_voc12_aug.py: training on train.txt (SegmentationClass) and
 * aug.txt (SegmentationClassAug) concatenated, validation on val.txt; random resize of
 * (2048, 512) by 0.5-2.0, random 512x512 crops with cat_max_ratio 0.75, flip 0.5, photometric
 * distortion (mmseg's explicit Pad to the crop is the model's dataPreprocessor.size here); test
 * at (2048, 512) keep-ratio; 4 images per GPU. Put VOCdevkit/VOC2012 (with SegmentationClassAug
 * and ImageSets/Segmentation/aug.txt from mmseg's voc_aug converter) in data/.
 */
import { VOC_CLASSES } from '../../../src/data/datasets/seg-metainfo';
import type { SegmentationDataConfig } from '../../../src/tasks/segmentation/task';
import { segPipelines } from './cityscapes';

export const vocCropSize: [number, number] = [512, 512];

const root = 'data/VOCdevkit/VOC2012';

export const pascalVoc12Aug: SegmentationDataConfig = {
  train: [
    { kind: 'voc', dataRoot: root, list: 'train', annDir: 'SegmentationClass' },
    { kind: 'voc', dataRoot: root, list: 'aug', annDir: 'SegmentationClassAug' },
  ],
  val: { kind: 'voc', dataRoot: root, list: 'val', annDir: 'SegmentationClass' },
  classes: [...VOC_CLASSES],
  ...segPipelines([2048, 512], vocCropSize),
  batchSize: 4,
  valBatchSize: 1,
  workers: 4,
  generate: null,
};
