/**
 * MMSegmentation's pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py: PSPNet, ResNetV1c-50-D8, Cityscapes, 512x1024 crops, 4 GPUs x 2 images,
 * 40,000 iterations. SyncBN: BN in one process, synchronized across ranks (see configs/_base_/segmentation.ts).
 */
import { defineConfig } from '../../src/config';
import { segmentationTask } from '../../src/tasks/segmentation/task';
import { forDataset, segmentationConfig } from '../_base_/segmentation';
import { pspnetR50D8 } from '../_base_/models/pspnet_r50-d8';
import { cityscapes, cityscapesCropSize } from '../_base_/datasets/cityscapes';
import { schedule40k } from '../_base_/schedules/seg_schedules';

export const config = segmentationConfig({
  model: forDataset(pspnetR50D8, 19, cityscapesCropSize),
  data: cityscapes,
  schedule: schedule40k(),
});

export default defineConfig(segmentationTask, config);
