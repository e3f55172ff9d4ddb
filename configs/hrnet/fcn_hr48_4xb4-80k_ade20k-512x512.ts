/**
 * MMSegmentation's hrnet/fcn_hr48_4xb4-80k_ade20k-512x512.py: FCN, HRNetV2-W48, ADE20K, 512x512 crops, 4 GPUs x 4 images,
 * 80,000 iterations. SyncBN: BN in one process, synchronized across ranks (see configs/_base_/segmentation.ts).
 */
import { defineConfig } from '../../src/config';
import { segmentationTask } from '../../src/tasks/segmentation/task';
import { forDataset, segmentationConfig } from '../_base_/segmentation';
import { fcnHr18, hrnetW48 } from '../_base_/models/fcn_hr18';
import { ade20k, ade20kCropSize } from '../_base_/datasets/ade20k';
import { schedule80k } from '../_base_/schedules/seg_schedules';

export const config = segmentationConfig({
  model: forDataset(hrnetW48(fcnHr18), 150, ade20kCropSize),
  data: ade20k,
  schedule: schedule80k(),
});

export default defineConfig(segmentationTask, config);
