/**
 * Mask R-CNN R-50-FPN as MMDetection's configs/_base_/models/mask-rcnn_r50_fpn.py (COCO: 80
 * classes): Faster R-CNN R-50-FPN plus the mask branch (mask_roi_extractor: RoIAlign 14×14,
 * sampling 0; mask_head: FCNMaskHead, 4 convs of 256, class-specific 28×28 masks), mask targets of
 * 28 px, binary threshold 0.5; its RoI assigner matches low-quality gts (Faster R-CNN's does not).
 */
import type { TwoStageModelConfig } from '../../../src/models/detectors/build';
import { fastRcnnR50Fpn, fasterRcnnR50Fpn } from './faster-rcnn_r50_fpn';

/** A two-stage model with mmdet's mask branch on its RoI head (widths and classes from the box branch). */
export function withMaskBranch(m: TwoStageModelConfig): TwoStageModelConfig {
  const roi = m.roiHead;
  if (!roi) throw new Error('withMaskBranch: the model has no roiHead');
  const { rcnn: train } = m.trainCfg;
  const { rcnn: test } = m.testCfg;
  return {
    ...m,
    roiHead: {
      ...roi,
      maskRoiExtractor: { ...roi.roiExtractor, outputSize: 14, samplingRatio: 0 },
      maskHead: { numConvs: 4, inChannels: roi.bboxHead.inChannels, convOutChannels: 256, numClasses: roi.bboxHead.numClasses, lossMaskWeight: 1 },
    },
    trainCfg: { ...m.trainCfg, rcnn: train && { ...train, maskSize: 28 } },
    testCfg: { ...m.testCfg, rcnn: test && { ...test, maskThrBinary: 0.5 } },
  };
}

const masked = withMaskBranch(fasterRcnnR50Fpn);
export const maskRcnnR50Fpn: TwoStageModelConfig = {
  ...masked,
  type: 'MaskRCNN',
  trainCfg: {
    ...masked.trainCfg,
    rcnn: { ...masked.trainCfg.rcnn!, assigner: { ...masked.trainCfg.rcnn!.assigner, matchLowQuality: true } },
  },
};

/**
 * Fast R-CNN with masks. MMDetection 3.3 ships no config for it: this is composed from
 * fast-rcnn_r50_fpn (Fast R-CNN on precomputed proposals, its RoI assigner and test settings)
 * plus mask-rcnn_r50_fpn's mask branch (mask_roi_extractor, mask_head, mask_size 28,
 * mask_thr_binary 0.5), as scripts/reference/mmdet_fixtures.py composes its reference.
 */
export const fastMaskRcnnR50Fpn: TwoStageModelConfig = withMaskBranch(fastRcnnR50Fpn);
