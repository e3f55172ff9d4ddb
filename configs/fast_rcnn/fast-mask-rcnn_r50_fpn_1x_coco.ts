/**
 * Fast R-CNN with masks on precomputed proposals, R-50-FPN, 1x schedule. MMDetection 3.3 has no
 * config for it: composed from fast-rcnn_r50_fpn_1x_coco (proposals, RoI head, schedule) and
 * mask-rcnn_r50_fpn_1x_coco's mask branch (mask_roi_extractor + mask_head), on COCO instances.
 */
import { defineConfig } from '../../src/config';
import { detectionTask } from '../../src/tasks/detection/task';
import type { DetectionConfig } from '../../src/tasks/detection/task';
import { cocoInstance } from '../_base_/datasets/coco_detection';
import { withProposals } from '../_base_/datasets/proposals';
import { fastMaskRcnnR50Fpn } from '../_base_/models/mask-rcnn_r50_fpn';
import { detectionConfig } from '../_base_/detection';
import { schedule1x } from '../_base_/schedules/schedules';

export const config: DetectionConfig = detectionConfig({ model: fastMaskRcnnR50Fpn, data: withProposals(cocoInstance), schedule: schedule1x() });

export default defineConfig(detectionTask, config);
