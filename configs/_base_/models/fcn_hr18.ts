/**
 * FCN on HRNetV2-W18: the four branches resized and concatenated (270 channels), one 1x1 conv,
 * no dropout, no auxiliary head (MMSegmentation's configs/_base_/models/fcn_hr18.py: 19
 * classes, SyncBN — BN in one process, see ../segmentation.ts —, ImageNet weights
 * open-mmlab://msra/hrnetv2_w18). `hrnetW48` gives the W48 variant of the fcn_hr48 rows.
 */
import type { HRNetConfig, SegmentorModelConfig } from '../../../src/models/segmentors/config';
import { ceLoss, segDataPreprocessor, syncBn } from '../segmentation';

export const hrnetW18: HRNetConfig = {
  type: 'HRNet',
  normEval: false,
  normType: 'SyncBN',
  extra: {
    stage1: { numModules: 1, numBranches: 1, block: 'BOTTLENECK', numBlocks: [4], numChannels: [64] },
    stage2: { numModules: 1, numBranches: 2, block: 'BASIC', numBlocks: [4, 4], numChannels: [18, 36] },
    stage3: { numModules: 4, numBranches: 3, block: 'BASIC', numBlocks: [4, 4, 4], numChannels: [18, 36, 72] },
    stage4: { numModules: 3, numBranches: 4, block: 'BASIC', numBlocks: [4, 4, 4, 4], numChannels: [18, 36, 72, 144] },
  },
  initCfg: { type: 'Pretrained', checkpoint: 'open-mmlab://msra/hrnetv2_w18' },
};

export const fcnHr18: SegmentorModelConfig = {
  type: 'EncoderDecoder',
  dataPreprocessor: segDataPreprocessor,
  backbone: hrnetW18,
  decodeHead: {
    type: 'FCNHead', inChannels: [18, 36, 72, 144], inIndex: [0, 1, 2, 3], channels: 18 + 36 + 72 + 144,
    inputTransform: 'resize_concat', kernelSize: 1, numConvs: 1, concatInput: false, dropoutRatio: -1,
    numClasses: 19, normCfg: syncBn, alignCorners: false, lossDecode: ceLoss,
  },
  auxiliaryHead: null,
  testCfg: { mode: 'whole' },
};

/** fcn_hr48: branch widths 48, 96, 192, 384 and the W48 ImageNet weights. */
export function hrnetW48(model: SegmentorModelConfig): SegmentorModelConfig {
  const b = model.backbone;
  if (b.type !== 'HRNet') throw new Error('hrnetW48: not an HRNet model');
  const widths = [48, 96, 192, 384];
  return {
    ...model,
    backbone: {
      ...b,
      extra: {
        stage1: b.extra.stage1,
        stage2: { ...b.extra.stage2, numChannels: widths.slice(0, 2) },
        stage3: { ...b.extra.stage3, numChannels: widths.slice(0, 3) },
        stage4: { ...b.extra.stage4, numChannels: widths },
      },
      initCfg: { type: 'Pretrained', checkpoint: 'open-mmlab://msra/hrnetv2_w48' },
    },
    decodeHead: { ...model.decodeHead, inChannels: widths, channels: widths.reduce((a, c) => a + c, 0) },
  };
}
