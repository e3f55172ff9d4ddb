/**
 * A small Mask R-CNN on the synthetic shapes dataset (its generator writes polygon masks):
 * faster_rcnn/faster-rcnn_r18_fpn_shapes (ResNet-18-FPN of 64 channels from scratch, 800
 * iterations of 4 images) with MMDetection's mask branch at the neck's width (4 convs of 64),
 * evaluated for box and mask AP.
 *   ./bin/tsvision train mask_rcnn/mask-rcnn_r18_fpn_shapes
 */
import { defineConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import type { TwoStageModelConfig } from '../../src/models/detectors/build';
import { withMaskBranch } from '../_base_/models/mask-rcnn_r50_fpn';
import { config as faster, model as fasterModel } from '../faster_rcnn/faster-rcnn_r18_fpn_shapes';

const masked = withMaskBranch(fasterModel);
export const model: TwoStageModelConfig = {
  ...masked,
  type: 'MaskRCNN',
  roiHead: { ...masked.roiHead!, maskHead: { ...masked.roiHead!.maskHead!, convOutChannels: 64 } },
};

const { tta: _tta, ...rest } = faster;
export const config: DetectionConfig = { ...rest, model, evaluation: { metrics: ['bbox', 'segm'] } };

export default defineConfig(detectionTask, config);
