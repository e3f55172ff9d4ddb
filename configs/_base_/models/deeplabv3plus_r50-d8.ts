/**
 * DeepLabV3+ with a dilated ResNetV1c-50: depthwise-separable ASPP (1, 12, 24, 36) and a 48-channel decoder on stage 1.
 * (MMSegmentation's configs/_base_/models/deeplabv3plus_r50-d8.py: 19 classes, SyncBN — BN in one process, see
 * ../segmentation.ts —, ImageNet ResNetV1c weights through the backbone's initCfg).
 */
import type { SegmentorModelConfig } from '../../../src/models/segmentors/config';
import { ceLoss, fcnAuxHead, resnet50V1cD8, segDataPreprocessor, syncBn } from '../segmentation';

export const deeplabv3plusR50D8: SegmentorModelConfig = {
  type: 'EncoderDecoder',
  dataPreprocessor: segDataPreprocessor,
  backbone: resnet50V1cD8,
  decodeHead: {
    type: 'DepthwiseSeparableASPPHead', inChannels: 2048, inIndex: 3, channels: 512, dilations: [1, 12, 24, 36],
    c1InChannels: 256, c1Channels: 48, dropoutRatio: 0.1, numClasses: 19, normCfg: syncBn, alignCorners: false, lossDecode: ceLoss,
  },
  auxiliaryHead: fcnAuxHead,
  testCfg: { mode: 'whole' },
};
