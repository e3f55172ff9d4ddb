/**
 * MMSegmentation's upernet/upernet_r50_4xb2-80k_cityscapes-512x1024.py: UPerNet, ResNetV1c-50, Cityscapes, 512x1024 crops, 4 GPUs x 2 images,
 * 80,000 iterations. SyncBN: BN in one process, synchronized across ranks (see configs/_base_/segmentation.ts).
 */
import { defineConfig } from '../../src/config';
import { segmentationTask } from '../../src/tasks/segmentation/task';
import { forDataset, segmentationConfig } from '../_base_/segmentation';
import { upernetR50 } from '../_base_/models/upernet_r50';
import { cityscapes, cityscapesCropSize } from '../_base_/datasets/cityscapes';
import { schedule80k } from '../_base_/schedules/seg_schedules';

export const config = segmentationConfig({
  model: forDataset(upernetR50, 19, cityscapesCropSize),
  data: cityscapes,
  schedule: schedule80k(),
});

export default defineConfig(segmentationTask, config);
