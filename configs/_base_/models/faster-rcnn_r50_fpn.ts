/**
 * Faster R-CNN R-50-FPN as MMDetection's configs/_base_/models/faster-rcnn_r50_fpn.py
 * (COCO: 80 classes). RPN-only and Fast R-CNN variants derive from it.
 */
import type { DetectorModelConfig, TwoStageModelConfig } from '../../../src/models/detectors/build';
import type { PretrainedInitCfg } from '../../../src/models/init_cfg';

export const PYTORCH_PREPROCESSOR: TwoStageModelConfig['dataPreprocessor'] = {
  mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], order: 'rgb', padSizeDivisor: 32,
};
/** Caffe-style (MSRA) backbones take BGR without std scaling. */
export const CAFFE_PREPROCESSOR: TwoStageModelConfig['dataPreprocessor'] = {
  mean: [103.53, 116.28, 123.675], std: [1, 1, 1], order: 'bgr', padSizeDivisor: 32,
};

export const fasterRcnnR50Fpn: TwoStageModelConfig = {
  type: 'FasterRCNN',
  dataPreprocessor: PYTORCH_PREPROCESSOR,
  backbone: { depth: 50, outIndices: [0, 1, 2, 3], frozenStages: 1, normEval: true, style: 'pytorch', initCfg: imagenetInit('pytorch', 50) },
  neck: { inChannels: [256, 512, 1024, 2048], outChannels: 256, numOuts: 5 },
  rpnHead: {
    inChannels: 256,
    featChannels: 256,
    anchor: { scales: [8], ratios: [0.5, 1.0, 2.0], strides: [4, 8, 16, 32, 64] },
    coder: { means: [0, 0, 0, 0], stds: [1, 1, 1, 1] },
  },
  roiHead: {
    roiExtractor: { outputSize: 7, samplingRatio: 0, aligned: true, featmapStrides: [4, 8, 16, 32] },
    bboxHead: { inChannels: 256, roiSize: 7, fcOutChannels: 1024, numClasses: 80, coder: { means: [0, 0, 0, 0], stds: [0.1, 0.1, 0.2, 0.2] } },
  },
  trainCfg: {
    rpn: {
      assigner: { posIouThr: 0.7, negIouThr: 0.3, minPosIou: 0.3, matchLowQuality: true, ignoreIofThr: -1 },
      sampler: { num: 256, posFraction: 0.5, negPosUb: -1, addGtAsProposals: false },
      allowedBorder: -1,
    },
    rpnProposal: { nmsPre: 2000, maxPerImg: 1000, iouThreshold: 0.7, minBboxSize: 0 },
    rcnn: {
      assigner: { posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0.5, matchLowQuality: false, ignoreIofThr: -1 },
      sampler: { num: 512, posFraction: 0.25, negPosUb: -1, addGtAsProposals: true },
    },
  },
  testCfg: {
    rpn: { nmsPre: 1000, maxPerImg: 1000, iouThreshold: 0.7, minBboxSize: 0 },
    rcnn: { scoreThr: 0.05, iouThreshold: 0.5, maxPerImg: 100 },
  },
};

/**
 * The ImageNet weights MMDetection's configs start a backbone from: torchvision's ResNets for
 * pytorch style, Detectron2's MSRA ResNets (open-mmlab://detectron2/resnet{50,101}_caffe) for caffe style.
 */
export function imagenetInit(style: 'pytorch' | 'caffe', depth: number): PretrainedInitCfg {
  return { type: 'Pretrained', checkpoint: style === 'caffe' ? `open-mmlab://detectron2/resnet${depth}_caffe` : `torchvision://resnet${depth}` };
}

/** The caffe-style variant: BN frozen (no grad, running stats), stride in the first 1×1 conv, MSRA weights. */
export function caffeStyle<M extends DetectorModelConfig>(m: M): M {
  const initCfg = m.backbone.initCfg ? imagenetInit('caffe', m.backbone.depth) : m.backbone.initCfg;
  return {
    ...m,
    dataPreprocessor: CAFFE_PREPROCESSOR,
    backbone: { ...m.backbone, style: 'caffe', normRequiresGrad: false, normEval: true, initCfg },
  };
}

/** Another ResNet depth (e.g. R-101), with that depth's ImageNet weights where the model had some. */
export function withDepth<M extends DetectorModelConfig>(m: M, depth: 18 | 34 | 50 | 101 | 152): M {
  const initCfg = m.backbone.initCfg ? imagenetInit(m.backbone.style ?? 'pytorch', depth) : m.backbone.initCfg;
  return { ...m, backbone: { ...m.backbone, depth, initCfg } };
}

/** The RPN of a two-stage model alone: proposals are the output. */
export function rpnOnly(m: TwoStageModelConfig): TwoStageModelConfig {
  return { ...m, type: 'RPN', roiHead: undefined, trainCfg: { rpn: m.trainCfg.rpn }, testCfg: { rpn: m.testCfg.rpn } };
}

/**
 * RPN alone (MMDetection's rpn_r50_fpn): its own test cfg keeps the 2000 best anchors per
 * level before NMS (Faster R-CNN's RPN keeps 1000).
 */
const rpnBase = rpnOnly(fasterRcnnR50Fpn);
export const rpnR50Fpn: TwoStageModelConfig = {
  ...rpnBase,
  testCfg: { rpn: { ...rpnBase.testCfg.rpn!, nmsPre: 2000, maxPerImg: 1000 } },
};

/** Fast R-CNN: the RoI head on precomputed proposals. */
export const fastRcnnR50Fpn: TwoStageModelConfig = {
  ...fasterRcnnR50Fpn,
  type: 'FastRCNN',
  rpnHead: undefined,
  trainCfg: { rcnn: fasterRcnnR50Fpn.trainCfg.rcnn },
  testCfg: { rcnn: fasterRcnnR50Fpn.testCfg.rcnn },
};
