/** MMDetection's mask-rcnn_r50-caffe_fpn_1x_coco: caffe-style (MSRA) R-50, BGR input, frozen BN. */
import { defineConfig } from '../../src/config';
import { detectionTask } from '../../src/tasks/detection/task';
import type { DetectionConfig } from '../../src/tasks/detection/task';
import { caffeStyle } from '../_base_/models/faster-rcnn_r50_fpn';
import { config as base } from './mask-rcnn_r50_fpn_1x_coco';

export const config: DetectionConfig = { ...base, model: caffeStyle(base.model) };

export default defineConfig(detectionTask, config);
