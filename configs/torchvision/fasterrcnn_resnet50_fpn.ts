/**
 * torchvision's `fasterrcnn_resnet50_fpn` (torchvision 0.14), numerically: load its state
 * dict with loadTorchvisionWeights (src/models/detectors/torchvision.ts) and run inference
 * with runTorchvisionInference to reproduce torchvision's detections.
 *
 * Facts taken from torchvision.models.detection (faster_rcnn.py, rpn.py, roi_heads.py,
 * transform.py, anchor_utils.py, backbone_utils.py, ops/poolers.py):
 * - GeneralizedRCNNTransform: normalize ImageNet mean/std on [0, 1] RGB, resize
 *   min 800 / max 1333 (bilinear, in the model), pad to a multiple of 32.
 * - ResNet-50 (stride in the 3×3 conv), BN eps 1e-5 (in eval BatchNorm2d = FrozenBatchNorm2d);
 *   FPN 256 channels on C2..C5 plus LastLevelMaxPool (max_pool2d k1 s2 on P5).
 * - AnchorGenerator: sizes 32..512 (one per level), ratios 0.5/1/2, base anchors rounded,
 *   strides = padded image size // feature size.
 * - RPN: BoxCoder weights (1, 1, 1, 1), dw/dh clamped above at log(1000/16); test: 1000
 *   pre-NMS per level (top-k on logits), NMS 0.7 per level, 1000 post-NMS, min size 1e-3
 *   (>=), score threshold 0.
 * - RoI heads: MultiScaleRoIAlign 7×7, sampling_ratio 2, aligned false, LevelMapper
 *   (224 at level 4, levels 2..5, eps 1e-6); TwoMLPHead fc6/fc7 1024; 91 classes with the
 *   background first; BoxCoder weights (10, 10, 5, 5); test: score > 0.05, boxes ≥ 1e-2,
 *   class-wise NMS 0.5, 100 detections.
 * - Losses: objectness BCE over the sampled anchors, softmax CE over the sampled RoIs, box
 *   regression smooth L1 with beta 1/9 summed and divided by the number of samples (both).
 *
 * Labels: ours are 0-based over the 90 foreground classes; torchvision's label = ours + 1
 * (runTorchvisionInference returns torchvision's).
 */
import type { TwoStageModelConfig } from '../../src/models/detectors/build';
import { defineConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import { cocoDetection } from '../_base_/datasets/coco_detection';
import { detectionConfig } from '../_base_/detection';
import { schedule1x } from '../_base_/schedules/schedules';

export const model: TwoStageModelConfig = {
  type: 'FasterRCNN',
  // torchvision's post-processing: top-k on logits, its coder arithmetic, NMS after rescaling
  postprocess: 'torchvision',
  dataPreprocessor: {
    // ImageNet mean/std (torchvision: [0.485, 0.456, 0.406] / [0.229, 0.224, 0.225] on [0, 1])
    mean: [123.675, 116.28, 103.53],
    std: [58.395, 57.12, 57.375],
    order: 'rgb',
    padSizeDivisor: 32,
    torchvisionResize: { minSize: 800, maxSize: 1333 },
  },
  // trainable_backbone_layers=3 as torchvision's default with pretrained weights
  backbone: { depth: 50, outIndices: [0, 1, 2, 3], style: 'pytorch', bnEps: 1e-5, frozenStages: 1, normEval: true, normRequiresGrad: false },
  neck: { inChannels: [256, 512, 1024, 2048], outChannels: 256, numOuts: 5, addExtraConvs: false },
  rpnHead: {
    inChannels: 256,
    featChannels: 256,
    anchor: {
      strides: [4, 8, 16, 32, 64],
      baseSizes: [32, 64, 128, 256, 512],
      scales: [1],
      ratios: [0.5, 1, 2],
      roundBaseAnchors: true,
    },
    strideFromFeatureSize: true,
    coder: { means: [0, 0, 0, 0], stds: [1, 1, 1, 1], whRatioClip: 16 / 1000, clampUpperOnly: true },
    lossBbox: { type: 'SmoothL1Loss', beta: 1 / 9 },
  },
  roiHead: {
    roiExtractor: {
      outputSize: 7, samplingRatio: 2, aligned: false, featmapStrides: [4, 8, 16, 32],
      canonical: { scale: 224, level: 4, kMin: 2 },
    },
    bboxHead: {
      inChannels: 256, roiSize: 7, fcOutChannels: 1024, numClasses: 90, backgroundFirst: true,
      coder: { means: [0, 0, 0, 0], stds: [0.1, 0.1, 0.2, 0.2], whRatioClip: 16 / 1000, clampUpperOnly: true },
      lossBbox: { type: 'SmoothL1Loss', beta: 1 / 9 },
    },
  },
  trainCfg: {
    // torchvision's training defaults (fg/bg 0.7/0.3 with low-quality matches, 256 at 0.5; 512 at 0.25)
    rpn: {
      assigner: { posIouThr: 0.7, negIouThr: 0.3, minPosIou: 0.3, matchLowQuality: true, ignoreIofThr: -1 },
      sampler: { num: 256, posFraction: 0.5, negPosUb: -1, addGtAsProposals: false },
      allowedBorder: -1,
    },
    rpnProposal: { nmsPre: 2000, maxPerImg: 2000, iouThreshold: 0.7, minBboxSize: 1e-3, minBboxSizeInclusive: true },
    rcnn: {
      assigner: { posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0.5, matchLowQuality: false, ignoreIofThr: -1 },
      sampler: { num: 512, posFraction: 0.25, negPosUb: -1, addGtAsProposals: true },
    },
  },
  testCfg: {
    rpn: { nmsPre: 1000, maxPerImg: 1000, iouThreshold: 0.7, minBboxSize: 1e-3, minBboxSizeInclusive: true },
    rcnn: { scoreThr: 0.05, iouThreshold: 0.5, maxPerImg: 100, minBboxSize: 1e-2 },
  },
};

/**
 * As a runnable config: COCO data (1333×800 resize in the data pipeline; `tsvision infer`
 * applies torchvision's own transform instead) and the 1x schedule.
 */
export const config: DetectionConfig = detectionConfig({ model, data: cocoDetection, schedule: schedule1x() });

export default defineConfig(detectionTask, config);
