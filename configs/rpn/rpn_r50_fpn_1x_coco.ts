/** MMDetection's rpn_r50_fpn_1x_coco (COCO, pytorch-style R-50-FPN, 1x schedule). */
import { defineConfig } from '../../src/config';
import { detectionTask } from '../../src/tasks/detection/task';
import type { DetectionConfig } from '../../src/tasks/detection/task';
import { cocoDetection } from '../_base_/datasets/coco_detection';
import { rpnR50Fpn } from '../_base_/models/faster-rcnn_r50_fpn';
import { detectionConfig } from '../_base_/detection';
import { schedule1x } from '../_base_/schedules/schedules';

export const config: DetectionConfig = detectionConfig({ model: rpnR50Fpn, data: cocoDetection, schedule: schedule1x() });

export default defineConfig(detectionTask, config);
