/**
 * MMSegmentation's fcn/fcn_r50-d8_4xb4-160k_ade20k-512x512.py: FCN, ResNetV1c-50-D8, ADE20K, 512x512 crops, 4 GPUs x 4 images,
 * 160,000 iterations. SyncBN: BN in one process, synchronized across ranks (see configs/_base_/segmentation.ts).
 */
import { defineConfig } from '../../src/config';
import { segmentationTask } from '../../src/tasks/segmentation/task';
import { forDataset, segmentationConfig } from '../_base_/segmentation';
import { fcnR50D8 } from '../_base_/models/fcn_r50-d8';
import { ade20k, ade20kCropSize } from '../_base_/datasets/ade20k';
import { schedule160k } from '../_base_/schedules/seg_schedules';

export const config = segmentationConfig({
  model: forDataset(fcnR50D8, 150, ade20kCropSize),
  data: ade20k,
  schedule: schedule160k(),
});

export default defineConfig(segmentationTask, config);
