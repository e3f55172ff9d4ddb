/**
 * MMSegmentation's upernet/upernet_r50_4xb4-160k_ade20k-512x512.py: UPerNet, ResNetV1c-50, ADE20K, 512x512 crops, 4 GPUs x 4 images,
 * 160,000 iterations. SyncBN: BN in one process, synchronized across ranks (see configs/_base_/segmentation.ts).
 */
import { defineConfig } from '../../src/config';
import { segmentationTask } from '../../src/tasks/segmentation/task';
import { forDataset, segmentationConfig } from '../_base_/segmentation';
import { upernetR50 } from '../_base_/models/upernet_r50';
import { ade20k, ade20kCropSize } from '../_base_/datasets/ade20k';
import { schedule160k } from '../_base_/schedules/seg_schedules';

export const config = segmentationConfig({
  model: forDataset(upernetR50, 150, ade20kCropSize),
  data: ade20k,
  schedule: schedule160k(),
});

export default defineConfig(segmentationTask, config);
