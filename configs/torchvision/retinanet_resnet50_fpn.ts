/**
 * torchvision's `retinanet_resnet50_fpn` (torchvision 0.14), numerically: load its state dict
 * with loadTorchvisionWeights (src/models/detectors/torchvision.ts) and run inference with
 * predictTorchvision to reproduce torchvision's detections.
 *
 * Facts taken from torchvision.models.detection (retinanet.py, transform.py, anchor_utils.py,
 * _utils.py, backbone_utils.py, ops/feature_pyramid_network.py):
 * - GeneralizedRCNNTransform: ImageNet mean/std on [0, 1] RGB, resize min 800 / max 1333
 *   (bilinear, in the model), pad to a multiple of 32.
 * - ResNet-50, BN eps 1e-5, returned_layers [2, 3, 4] (C3..C5, 512/1024/2048 channels);
 *   FPN 256 channels plus LastLevelP6P7(256, 256): in == out so use_P5, P6 = conv(P5 output),
 *   P7 = conv(relu(P6)) (ours: addExtraConvs 'on_output', reluBeforeExtraConvs);
 *   keys backbone.fpn.extra_blocks.p6/p7.
 * - AnchorGenerator: sizes (x, int(x·2^(1/3)), int(x·2^(2/3))) for x in 32..512, ratios
 *   0.5/1/2 (ratio-major), base anchors rounded, strides = padded size // feature size.
 * - Head: 4 × (3×3 conv with bias + ReLU) per tower (head.{classification,regression}_head.conv.{i}.0),
 *   cls_logits (91 sigmoid classes, no background column: label = index), bbox_reg.
 * - BoxCoder weights (1, 1, 1, 1), dw/dh clamped above at log(1000/16) (bbox_xform_clip).
 * - Training: Matcher 0.5 / 0.4 with low-quality matches; sigmoid focal loss (α 0.25, γ 2)
 *   summed over non-ignored anchors / #foreground; L1 on deltas summed / #foreground.
 * - postprocess_detections: per level, scores > 0.05, top-k 1000 over the flattened
 *   (anchor, class) scores, decode, clip to the image; batched_nms 0.5 over all levels,
 *   300 detections; boxes rescaled to the original size after (transform.postprocess);
 *   no size filter.
 */
import type { SingleStageModelConfig } from '../../src/models/detectors/build';
import { defineConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import { cocoDetection } from '../_base_/datasets/coco_detection';
import { detectionConfig } from '../_base_/detection';
import { schedule1x } from '../_base_/schedules/schedules';
import { model as faster } from './fasterrcnn_resnet50_fpn';

const SIZES = [32, 64, 128, 256, 512];

export const model: SingleStageModelConfig = {
  type: 'RetinaNet',
  // torchvision's GeneralizedRCNNTransform, as for Faster R-CNN
  dataPreprocessor: faster.dataPreprocessor,
  backbone: { depth: 50, outIndices: [1, 2, 3], style: 'pytorch', bnEps: 1e-5, frozenStages: 1, normEval: true, normRequiresGrad: false },
  neck: { inChannels: [512, 1024, 2048], outChannels: 256, numOuts: 5, addExtraConvs: 'on_output', reluBeforeExtraConvs: true },
  bboxHead: {
    numClasses: 91,
    inChannels: 256,
    stackedConvs: 4,
    featChannels: 256,
    anchor: {
      strides: [8, 16, 32, 64, 128],
      baseSizes: SIZES,
      // sizes / base size: exact binary fractions (40/32, 101/64, ...)
      levelScales: SIZES.map((x) => [x, Math.trunc(x * 2 ** (1 / 3)), Math.trunc(x * 2 ** (2 / 3))].map((s) => s / x)),
      ratios: [0.5, 1, 2],
      roundBaseAnchors: true,
    },
    strideFromFeatureSize: true,
    coder: { means: [0, 0, 0, 0], stds: [1, 1, 1, 1], whRatioClip: 16 / 1000, clampUpperOnly: true },
    lossCls: { gamma: 2, alpha: 0.25, lossWeight: 1 },
    lossBbox: { type: 'L1Loss', lossWeight: 1 },
  },
  trainCfg: {
    assigner: { posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0, matchLowQuality: true, ignoreIofThr: -1 },
    allowedBorder: -1,
  },
  testCfg: { nmsPre: 1000, minBboxSize: -1, scoreThr: 0.05, iouThreshold: 0.5, maxPerImg: 300, rescaleAfterNms: true },
};

/** As a runnable config: COCO data and the 1x schedule (`tsvision infer` applies torchvision's own transform). */
export const config: DetectionConfig = detectionConfig({ model, data: cocoDetection, schedule: schedule1x() });

export default defineConfig(detectionTask, config);
