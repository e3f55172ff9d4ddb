/**
 * torchvision's `maskrcnn_resnet50_fpn` (torchvision 0.14), numerically: load its state dict
 * with loadTorchvisionWeights (src/models/detectors/torchvision.ts) and run inference with
 * predictTorchvision to reproduce torchvision's detections and mask probabilities.
 *
 * Everything of torchvision/fasterrcnn_resnet50_fpn (see its header), plus, from
 * torchvision.models.detection (mask_rcnn.py, roi_heads.py):
 * - mask_roi_pool: MultiScaleRoIAlign 14×14, sampling_ratio 2, aligned false, its LevelMapper.
 * - MaskRCNNHeads: 4 × Conv2dNormActivation (3×3 conv with bias + ReLU, 256 channels;
 *   keys roi_heads.mask_head.{i}.0), MaskRCNNPredictor: conv5_mask (ConvTranspose2d 2×2 s2)
 *   + ReLU + mask_fcn_logits (1×1, 91 outputs, the background first).
 * - Training targets (project_masks_on_boxes): roi_align(gt masks, proposals, 28×28, scale 1,
 *   sampling -1, aligned false), not clipped, not binarized; loss: BCE-with-logits mean on
 *   the label's channel of the positive proposals.
 * - Inference: sigmoid of the label's channel, boxes rescaled by transform.postprocess, masks
 *   pasted by paste_masks_in_image (pad 1, expand_boxes by 30/28, integer boxes, bilinear
 *   resize, paste) into the original image: float probabilities (threshold them at 0.5;
 *   `tsvision infer --json` writes RLE of the thresholded masks).
 */
import type { TwoStageModelConfig } from '../../src/models/detectors/build';
import { defineConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import { cocoDetection } from '../_base_/datasets/coco_detection';
import { detectionConfig } from '../_base_/detection';
import { schedule1x } from '../_base_/schedules/schedules';
import { model as faster } from './fasterrcnn_resnet50_fpn';

const roi = faster.roiHead!;

export const model: TwoStageModelConfig = {
  ...faster,
  type: 'MaskRCNN',
  roiHead: {
    ...roi,
    maskRoiExtractor: { ...roi.roiExtractor, outputSize: 14 },
    maskHead: {
      inChannels: 256, numConvs: 4, convOutChannels: 256, numClasses: roi.bboxHead.numClasses, backgroundFirst: true,
      maskTarget: { aligned: false, samplingRatio: 0, clip: false, binarize: false },
      paste: 'torchvision',
    },
  },
  trainCfg: { ...faster.trainCfg, rcnn: { ...faster.trainCfg.rcnn!, maskSize: 28 } },
  testCfg: { ...faster.testCfg, rcnn: { ...faster.testCfg.rcnn!, maskThrBinary: 0.5 } },
};

/** As a runnable config: COCO data (with masks) and the 1x schedule (`tsvision infer` applies torchvision's own transform). */
export const config: DetectionConfig = detectionConfig({ model, data: cocoDetection, schedule: schedule1x() });

export default defineConfig(detectionTask, config);
