/** MMDetection's mask-rcnn_r101-caffe_fpn_1x_coco: caffe-style (MSRA) R-101. */
import { defineConfig } from '../../src/config';
import { detectionTask } from '../../src/tasks/detection/task';
import type { DetectionConfig } from '../../src/tasks/detection/task';
import { withDepth } from '../_base_/models/faster-rcnn_r50_fpn';
import { config as base } from './mask-rcnn_r50-caffe_fpn_1x_coco';

export const config: DetectionConfig = { ...base, model: withDepth(base.model, 101) };

export default defineConfig(detectionTask, config);
