/**
 * The RPN of torchvision's `fasterrcnn_resnet50_fpn`: its proposals (top 1000 after NMS,
 * objectness as score, label 0) in original-image pixels. Loads the same torchvision state
 * dict (the RoI head's weights are dropped).
 */
import type { TwoStageModelConfig } from '../../src/models/detectors/build';
import { defineConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import { cocoDetection } from '../_base_/datasets/coco_detection';
import { detectionConfig } from '../_base_/detection';
import { schedule1x } from '../_base_/schedules/schedules';
import { model as faster } from './fasterrcnn_resnet50_fpn';
import { rpnOnly } from '../_base_/models/faster-rcnn_r50_fpn';

export const model: TwoStageModelConfig = rpnOnly(faster);

/**
 * As a runnable config: COCO data (1333×800 resize in the data pipeline; `tsvision infer`
 * applies torchvision's own transform instead) and the 1x schedule.
 */
export const config: DetectionConfig = detectionConfig({ model, data: cocoDetection, schedule: schedule1x() });

export default defineConfig(detectionTask, config);
