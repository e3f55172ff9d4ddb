/**
 * Assembles a semantic-segmentation config from its model, data and schedule parts, and the
 * pieces MMSegmentation's model bases share (data preprocessor, ResNetV1c-D8 backbone, FCN
 * auxiliary head).
 *
 * SyncBN: mmseg's configs normalize with SyncBN across 4 GPUs. Norm layers built from 'SyncBN'
 * are SyncBatchNorm (src/nn/sync_batchnorm.ts): in one process it is BatchNorm over the process's
 * batch, so a run on one device normalizes over 2 (Cityscapes) or 4 (ADE20K) images instead of 8
 * or 16; in a distributed run (a process group of several ranks) the heads' statistics are those
 * of all ranks' batches, and so are the backbones' (ResNetV1c and HRNet: normType 'SyncBN').
 */
import type { RunConfig } from '../../src/config/types';
import type { FCNHeadConfig, SegDataPreprocessorConfig, SegResNetConfig } from '../../src/models/segmentors/config';
import type { SegmentationConfig, SegmentationDataConfig } from '../../src/tasks/segmentation/task';
import type { SegmentorModelConfig } from '../../src/models/segmentors/config';

/** mmseg's SegDataPreProcessor of every model base; rows set `size` to their crop size. */
export const segDataPreprocessor: SegDataPreprocessorConfig = {
  mean: [123.675, 116.28, 103.53],
  std: [58.395, 57.12, 57.375],
  order: 'rgb',
  size: null,
  padVal: 0,
  segPadVal: 255,
};

/** mmseg's norm_cfg of the model bases (SyncBN is BN in one process, synchronized in a distributed run: see the file comment). */
export const syncBn = { type: 'SyncBN' as const, requiresGrad: true };

/** ResNetV1c-50 with dilations (1, 1, 2, 4) and strides (1, 2, 1, 1): output stride 8 (the "-D8" bases). */
export const resnet50V1cD8: SegResNetConfig = {
  type: 'ResNetV1c',
  depth: 50,
  outIndices: [0, 1, 2, 3],
  dilations: [1, 1, 2, 4],
  strides: [1, 2, 1, 1],
  normEval: false,
  normType: 'SyncBN',
  normRequiresGrad: true,
  style: 'pytorch',
  contractDilation: true,
  initCfg: { type: 'Pretrained', checkpoint: 'open-mmlab://resnet50_v1c' },
};

/** The FCN auxiliary head on stage 3 (1024 channels) of the ResNet bases, loss weight 0.4. */
export const fcnAuxHead: FCNHeadConfig = {
  type: 'FCNHead',
  inChannels: 1024,
  inIndex: 2,
  channels: 256,
  numConvs: 1,
  concatInput: false,
  dropoutRatio: 0.1,
  numClasses: 19,
  normCfg: syncBn,
  alignCorners: false,
  lossDecode: { type: 'CrossEntropyLoss', useSigmoid: false, lossWeight: 0.4 },
};

/** The decode head's loss of every base: softmax cross-entropy, weight 1. */
export const ceLoss = { type: 'CrossEntropyLoss' as const, useSigmoid: false, lossWeight: 1.0 };

type Schedule = Pick<RunConfig, 'train' | 'optimWrapper' | 'paramScheduler' | 'hooks'>;

/** A model for `numClasses` classes (decode and auxiliary heads) trained on crops of [h, w]. */
export function forDataset(model: SegmentorModelConfig, numClasses: number, cropSize: [number, number]): SegmentorModelConfig {
  const aux = model.auxiliaryHead;
  return {
    ...model,
    dataPreprocessor: { ...model.dataPreprocessor, size: cropSize },
    decodeHead: { ...model.decodeHead, numClasses },
    auxiliaryHead: aux == null ? aux : Array.isArray(aux) ? aux.map((h) => ({ ...h, numClasses })) : { ...aux, numClasses },
  };
}

/** The ResNet-101 variant of a ResNet model (mmseg's r101 rows: depth 101, resnet101_v1c weights). */
export function withResNet101(model: SegmentorModelConfig): SegmentorModelConfig {
  if (model.backbone.type === 'HRNet') throw new Error('withResNet101: an HRNet model');
  return { ...model, backbone: { ...model.backbone, depth: 101, initCfg: { type: 'Pretrained', checkpoint: 'open-mmlab://resnet101_v1c' } } };
}

export function segmentationConfig(parts: { model: SegmentorModelConfig; data: SegmentationDataConfig; schedule: Schedule }): SegmentationConfig {
  return {
    seed: 0,
    workDir: null,
    loadFrom: null,
    ...parts.schedule,
    model: parts.model,
    data: parts.data,
    evaluation: { metrics: ['mIoU'] },
  };
}
