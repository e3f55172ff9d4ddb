/** MMDetection's retinanet_r50_fpn_2x_coco: the 1x config with the 2x schedule (SGD lr 0.01). */
import { defineConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import { schedule2x } from '../_base_/schedules/schedules';
import { config as base } from './retinanet_r50_fpn_1x_coco';

export const config: DetectionConfig = { ...base, ...schedule2x(0.01) };

export default defineConfig(detectionTask, config);
