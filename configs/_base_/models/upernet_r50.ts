/**
 * UPerNet with a ResNetV1c-50 of output stride 32 (no dilation): PPM at scales 1, 2, 3, 6 on
 * stage 4 and an FPN over the four stages, 512 channels (MMSegmentation's
 * configs/_base_/models/upernet_r50.py: 19 classes, SyncBN — BN in one process, see
 * ../segmentation.ts).
 */
import type { SegmentorModelConfig } from '../../../src/models/segmentors/config';
import { ceLoss, fcnAuxHead, resnet50V1cD8, segDataPreprocessor, syncBn } from '../segmentation';

export const upernetR50: SegmentorModelConfig = {
  type: 'EncoderDecoder',
  dataPreprocessor: segDataPreprocessor,
  backbone: { ...resnet50V1cD8, dilations: [1, 1, 1, 1], strides: [1, 2, 2, 2] },
  decodeHead: {
    type: 'UPerHead', inChannels: [256, 512, 1024, 2048], inIndex: [0, 1, 2, 3], poolScales: [1, 2, 3, 6], channels: 512,
    dropoutRatio: 0.1, numClasses: 19, normCfg: syncBn, alignCorners: false, lossDecode: ceLoss,
  },
  auxiliaryHead: fcnAuxHead,
  testCfg: { mode: 'whole' },
};
