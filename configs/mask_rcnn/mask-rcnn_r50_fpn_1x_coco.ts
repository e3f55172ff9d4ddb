/** MMDetection's mask-rcnn_r50_fpn_1x_coco (COCO instances, pytorch-style R-50-FPN, 1x schedule; box and mask AP). */
import { defineConfig } from '../../src/config';
import { detectionTask } from '../../src/tasks/detection/task';
import type { DetectionConfig } from '../../src/tasks/detection/task';
import { cocoInstance } from '../_base_/datasets/coco_detection';
import { maskRcnnR50Fpn } from '../_base_/models/mask-rcnn_r50_fpn';
import { detectionConfig } from '../_base_/detection';
import { schedule1x } from '../_base_/schedules/schedules';

export const config: DetectionConfig = detectionConfig({ model: maskRcnnR50Fpn, data: cocoInstance, schedule: schedule1x() });

export default defineConfig(detectionTask, config);
