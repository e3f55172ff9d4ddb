/** MMDetection's mask-rcnn_r101_fpn_2x_coco: R-101 backbone, 2x schedule. */
import { defineConfig } from '../../src/config';
import { detectionTask } from '../../src/tasks/detection/task';
import type { DetectionConfig } from '../../src/tasks/detection/task';
import { schedule2x } from '../_base_/schedules/schedules';
import { config as base } from './mask-rcnn_r101_fpn_1x_coco';

export const config: DetectionConfig = { ...base, ...schedule2x() };

export default defineConfig(detectionTask, config);
