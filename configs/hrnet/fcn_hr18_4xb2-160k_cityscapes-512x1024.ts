/**
 * MMSegmentation's hrnet/fcn_hr18_4xb2-160k_cityscapes-512x1024.py: FCN, HRNetV2-W18, Cityscapes, 512x1024 crops, 4 GPUs x 2 images,
 * 160,000 iterations. SyncBN: BN in one process, synchronized across ranks (see configs/_base_/segmentation.ts).
 */
import { defineConfig } from '../../src/config';
import { segmentationTask } from '../../src/tasks/segmentation/task';
import { forDataset, segmentationConfig } from '../_base_/segmentation';
import { fcnHr18 } from '../_base_/models/fcn_hr18';
import { cityscapes, cityscapesCropSize } from '../_base_/datasets/cityscapes';
import { schedule160k } from '../_base_/schedules/seg_schedules';

export const config = segmentationConfig({
  model: forDataset(fcnHr18, 19, cityscapesCropSize),
  data: cityscapes,
  schedule: schedule160k(),
});

export default defineConfig(segmentationTask, config);
