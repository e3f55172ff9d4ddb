/**
 * FCN with a dilated ResNetV1c-50 (output stride 8): two 3x3 convs of 512 channels, input concatenated.
 * (MMSegmentation's configs/_base_/models/fcn_r50-d8.py: 19 classes, SyncBN — BN in one process, see
 * ../segmentation.ts —, ImageNet ResNetV1c weights through the backbone's initCfg).
 */
import type { SegmentorModelConfig } from '../../../src/models/segmentors/config';
import { ceLoss, fcnAuxHead, resnet50V1cD8, segDataPreprocessor, syncBn } from '../segmentation';

export const fcnR50D8: SegmentorModelConfig = {
  type: 'EncoderDecoder',
  dataPreprocessor: segDataPreprocessor,
  backbone: resnet50V1cD8,
  decodeHead: {
    type: 'FCNHead', inChannels: 2048, inIndex: 3, channels: 512, numConvs: 2, concatInput: true, dropoutRatio: 0.1,
    numClasses: 19, normCfg: syncBn, alignCorners: false, lossDecode: ceLoss,
  },
  auxiliaryHead: fcnAuxHead,
  testCfg: { mode: 'whole' },
};
