/**
 * Builds two-stage detectors from their JSON-serializable model config (the `model`
 * section of a config). Each field maps to one part's typed options.
 */
import { ResNet, type ResNetOptions } from '../backbones/resnet';
import type { PretrainedInitCfg } from '../init_cfg';
import { FPN, type FPNOptions } from '../necks/fpn';
import { RPNHead, type RPNHeadOptions } from '../dense_heads/rpn_head';
import { Shared2FCBBoxHead, SingleRoIExtractor, StandardRoIHead, type BBoxHeadOptions, type RoIExtractorOptions } from '../roi_heads/standard_roi_head';
import { FCNMaskHead, type FCNMaskHeadOptions } from '../roi_heads/fcn_mask_head';
import { TwoStageDetector, type TwoStageTestConfig, type TwoStageTrainConfig } from './two_stage';
import { RetinaHead, type DenseTestConfig, type DenseTrainConfig, type RetinaHeadOptions } from '../dense_heads/retina_head';
import { SingleStageDetector } from './single_stage';
import type { Detector } from './types';

/** How images enter the model (see src/models/detectors/preprocess.ts). */
export interface DataPreprocessorConfig {
  /** Per-channel mean and std in the pixel range of the input (0..255). */
  mean: [number, number, number];
  std: [number, number, number];
  /** Channel order the model expects. */
  order: 'rgb' | 'bgr';
  /** Pad the batch to a multiple of this. */
  padSizeDivisor: number;
  /**
   * Resize inside the model as torchvision's GeneralizedRCNNTransform (bilinear on the
   * normalized tensor, min side minSize, max side maxSize); otherwise the data pipeline resizes.
   */
  torchvisionResize?: { minSize: number; maxSize: number };
}

/**
 * The RoI head (MMDetection's StandardRoIHead): box branch, and for Mask R-CNN (and Fast R-CNN
 * with masks) the mask branch: maskRoiExtractor (mmdet: 14×14, sampling 0) and maskHead
 * (FCNMaskHead), both or neither.
 */
export interface RoIHeadConfig {
  roiExtractor: RoIExtractorOptions;
  bboxHead: BBoxHeadOptions;
  maskRoiExtractor?: RoIExtractorOptions;
  maskHead?: FCNMaskHeadOptions;
}

export interface TwoStageModelConfig {
  /** MaskRCNN: FasterRCNN with a mask branch (roiHead.maskRoiExtractor + maskHead); FastRCNN may have one too. */
  type: 'FasterRCNN' | 'FastRCNN' | 'RPN' | 'MaskRCNN';
  dataPreprocessor: DataPreprocessorConfig;
  /** The backbone, and the pretrained weights it starts from (MMDetection's backbone.init_cfg; null: none). */
  backbone: ResNetOptions & { initCfg?: PretrainedInitCfg | null };
  neck: FPNOptions;
  rpnHead?: RPNHeadOptions;
  roiHead?: RoIHeadConfig;
  trainCfg: TwoStageTrainConfig;
  testCfg: TwoStageTestConfig;
  /**
   * Whose post-processing arithmetic to reproduce where the two differ (proposal top-k on
   * logits or sorted scores, rescale before or after NMS): 'mmdet' or 'torchvision'.
   * Default: 'torchvision' when dataPreprocessor.torchvisionResize is set, else 'mmdet'.
   * Explicit fields (testCfg.rpn.topkOnLogits, the coders' arithmetic) take precedence.
   */
  postprocess?: 'mmdet' | 'torchvision';
}

/** A proposal config with the convention's default for top-k on logits. */
function withTopk<T extends { topkOnLogits?: boolean } | undefined>(c: T, torchvision: boolean): T {
  return c && c.topkOnLogits === undefined ? { ...c, topkOnLogits: torchvision } : c;
}

function buildRoIHead(r: RoIHeadConfig, type: TwoStageModelConfig['type']): StandardRoIHead {
  const withMask = r.maskHead !== undefined || r.maskRoiExtractor !== undefined;
  if (withMask && !(r.maskHead && r.maskRoiExtractor)) {
    throw new Error(`model.roiHead.${r.maskHead ? 'maskRoiExtractor' : 'maskHead'}: required with ${r.maskHead ? 'maskHead' : 'maskRoiExtractor'} (a mask branch needs both)`);
  }
  if (type === 'MaskRCNN' && !withMask) throw new Error('model.roiHead.maskHead: required for MaskRCNN (with roiHead.maskRoiExtractor)');
  if (r.maskHead && r.maskHead.numClasses !== r.bboxHead.numClasses) {
    throw new Error(`model.roiHead.maskHead.numClasses: ${r.maskHead.numClasses} differs from roiHead.bboxHead.numClasses ${r.bboxHead.numClasses}`);
  }
  const mask = withMask ? { extractor: new SingleRoIExtractor(r.maskRoiExtractor!), head: new FCNMaskHead(r.maskHead!) } : undefined;
  return new StandardRoIHead(new SingleRoIExtractor(r.roiExtractor), new Shared2FCBBoxHead(r.bboxHead), mask);
}

/** Whether a detector config has a mask branch (its data must carry gt masks; it predicts masks). */
export function hasMaskBranch(cfg: DetectorModelConfig): boolean {
  return cfg.type !== 'RetinaNet' && cfg.roiHead?.maskHead !== undefined;
}

export function buildTwoStageDetector(cfg: TwoStageModelConfig): TwoStageDetector {
  const needRpn = cfg.type !== 'FastRCNN';
  const needRoi = cfg.type !== 'RPN';
  if (needRpn && !cfg.rpnHead) throw new Error(`model.rpnHead: required for ${cfg.type}`);
  if (needRoi && !cfg.roiHead) throw new Error(`model.roiHead: required for ${cfg.type}`);
  const backbone = new ResNet(cfg.backbone);
  const neck = new FPN(cfg.neck);
  const rpnHead = needRpn ? new RPNHead(cfg.rpnHead!) : undefined;
  const roiHead = needRoi ? buildRoIHead(cfg.roiHead!, cfg.type) : undefined;
  const tv = (cfg.postprocess ?? (cfg.dataPreprocessor.torchvisionResize ? 'torchvision' : 'mmdet')) === 'torchvision';
  const trainCfg = { ...cfg.trainCfg, rpnProposal: withTopk(cfg.trainCfg.rpnProposal, tv) };
  const testCfg = { ...cfg.testCfg, rpn: withTopk(cfg.testCfg.rpn, tv) };
  return new TwoStageDetector({
    backbone, neck, rpnHead, roiHead, trainCfg, testCfg,
    padSizeDivisor: cfg.dataPreprocessor.padSizeDivisor > 0 ? cfg.dataPreprocessor.padSizeDivisor : 1,
    rescale: tv ? 'after-nms' : 'before-nms',
  });
}

/** A single-stage detector (MMDetection's SingleStageDetector): backbone, neck, dense bbox head. */
export interface SingleStageModelConfig {
  type: 'RetinaNet';
  dataPreprocessor: DataPreprocessorConfig;
  /** The backbone, and the pretrained weights it starts from (MMDetection's backbone.init_cfg; null: none). */
  backbone: ResNetOptions & { initCfg?: PretrainedInitCfg | null };
  neck: FPNOptions;
  bboxHead: RetinaHeadOptions;
  trainCfg: DenseTrainConfig;
  testCfg: DenseTestConfig;
}

export function buildSingleStageDetector(cfg: SingleStageModelConfig): SingleStageDetector {
  if (!cfg.bboxHead) throw new Error(`model.bboxHead: required for ${cfg.type}`);
  const neckOuts = cfg.neck.numOuts;
  const levels = cfg.bboxHead.anchor?.strides?.length;
  if (levels !== neckOuts) throw new Error(`model.bboxHead.anchor.strides: ${levels} strides for the neck's ${neckOuts} outputs (model.neck.numOuts)`);
  return new SingleStageDetector({
    backbone: new ResNet(cfg.backbone),
    neck: new FPN(cfg.neck),
    bboxHead: new RetinaHead(cfg.bboxHead),
    trainCfg: cfg.trainCfg,
    testCfg: cfg.testCfg,
    padSizeDivisor: cfg.dataPreprocessor.padSizeDivisor > 0 ? cfg.dataPreprocessor.padSizeDivisor : 1,
  });
}

/** Every detector model config; `type` says which detector it builds. */
export type DetectorModelConfig = TwoStageModelConfig | SingleStageModelConfig;

/** The detector types `buildDetector` knows. */
export const DETECTOR_TYPES: readonly DetectorModelConfig['type'][] = ['FasterRCNN', 'FastRCNN', 'RPN', 'MaskRCNN', 'RetinaNet'];

/** Builds the detector a model config describes. */
export function buildDetector(cfg: DetectorModelConfig): Detector {
  switch (cfg.type) {
    case 'FasterRCNN':
    case 'FastRCNN':
    case 'RPN':
    case 'MaskRCNN':
      return buildTwoStageDetector(cfg);
    case 'RetinaNet':
      return buildSingleStageDetector(cfg);
    default:
      throw new Error(`model.type: unknown detector '${String((cfg as { type?: unknown }).type)}' (expected one of ${DETECTOR_TYPES.join(', ')})`);
  }
}

/** Number of object classes a detector config predicts (1 for the class-agnostic RPN). */
export function numClassesOf(cfg: DetectorModelConfig): number {
  if (cfg.type === 'RetinaNet') return cfg.bboxHead.numClasses;
  return cfg.roiHead?.bboxHead.numClasses ?? 1;
}
