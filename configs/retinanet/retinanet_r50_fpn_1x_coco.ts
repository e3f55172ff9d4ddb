/** MMDetection's retinanet_r50_fpn_1x_coco (COCO, pytorch-style R-50-FPN, 1x schedule at SGD lr 0.01). */
import { defineConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import { cocoDetection } from '../_base_/datasets/coco_detection';
import { retinanetR50Fpn } from '../_base_/models/retinanet_r50_fpn';
import { detectionConfig } from '../_base_/detection';
import { schedule1x } from '../_base_/schedules/schedules';

export const config: DetectionConfig = detectionConfig({ model: retinanetR50Fpn, data: cocoDetection, schedule: schedule1x(0.01) });

export default defineConfig(detectionTask, config);
