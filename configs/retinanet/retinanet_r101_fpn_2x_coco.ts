/** MMDetection's retinanet_r101_fpn_2x_coco: R-101 backbone (torchvision://resnet101). */
import { defineConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import { withDepth } from '../_base_/models/faster-rcnn_r50_fpn';
import { config as base } from './retinanet_r50_fpn_2x_coco';

export const config: DetectionConfig = { ...base, model: withDepth(base.model, 101) };

export default defineConfig(detectionTask, config);
