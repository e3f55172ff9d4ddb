/**
 * Shared parts of the top-down pose configs (MMPose 1.x's configs/body_2d_keypoint/topdown_heatmap/coco
 * td-hm_* and configs/_base_/default_runtime.py): the data preprocessor, MSRA heatmap codecs, the
 * heatmap head, ResNet/HRNet backbones with their ImageNet weights, the pipelines, COCO splits
 * with the person-detection file of human AP 56.4 for val, and the 210-epoch Adam schedule.
 */
import type { HRNetConfig } from '../../src/models/segmentors/config';
import type { MSRAHeatmapConfig, PoseResNetConfig } from '../../src/models/pose_estimators/config';
import type { RunConfig } from '../../src/config/types';
import type { PoseConfig, PoseDataConfig, PoseDataPreprocessorConfig, PoseModelConfig } from '../../src/tasks/pose/task';
import { topdownTestPipeline, topdownTrainPipeline } from '../../src/tasks/pose/data';

/** mmpose's PoseDataPreprocessor of the COCO configs (ImageNet mean/std, bgr_to_rgb=True). */
export const poseDataPreprocessor: PoseDataPreprocessorConfig = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], order: 'rgb' };

/** MSRAHeatmap for an input [w, h]: heatmaps a quarter of it, σ 2 (σ 3 at 288x384, as mmpose's 384x288 configs). */
export function msraCodec(inputSize: [number, number], sigma = inputSize[1] >= 384 ? 3 : 2): MSRAHeatmapConfig {
  return { type: 'MSRAHeatmap', inputSize, heatmapSize: [inputSize[0] / 4, inputSize[1] / 4], sigma };
}

/** mmpose's ResNet (SimpleBaseline) with torchvision's ImageNet weights. */
export function poseResNet(depth: 18 | 50 | 101 | 152, pretrained = true): PoseResNetConfig {
  return { type: 'ResNet', depth, initCfg: pretrained ? { type: 'Pretrained', checkpoint: `torchvision://resnet${depth}` } : null };
}

/** mmpose's HRNet-W32 / W48 (the highest-resolution branch out) with mmpose's ImageNet weights. */
export function poseHRNet(width: 32 | 48, pretrained = true): HRNetConfig {
  const w = [width, 2 * width, 4 * width, 8 * width];
  return {
    type: 'HRNet',
    flavor: 'mmpose',
    inChannels: 3,
    extra: {
      stage1: { numModules: 1, numBranches: 1, block: 'BOTTLENECK', numBlocks: [4], numChannels: [64] },
      stage2: { numModules: 1, numBranches: 2, block: 'BASIC', numBlocks: [4, 4], numChannels: w.slice(0, 2) },
      stage3: { numModules: 4, numBranches: 3, block: 'BASIC', numBlocks: [4, 4, 4], numChannels: w.slice(0, 3) },
      stage4: { numModules: 3, numBranches: 4, block: 'BASIC', numBlocks: [4, 4, 4, 4], numChannels: w },
    },
    initCfg: pretrained
      ? { type: 'Pretrained', checkpoint: width === 32 ? 'https://download.openmmlab.com/mmpose/pretrain_models/hrnet_w32-36af842e.pth' : 'https://download.openmmlab.com/mmpose/pretrain_models/hrnet_w48-8ef0771d.pth' }
      : null,
  };
}

/**
 * A TopdownPoseEstimator: the SimpleBaseline head (three 256-channel deconvs, 1x1) on a ResNet,
 * or a plain 1x1 on HRNet's highest-resolution branch; flip test with shifted heatmaps.
 */
/** `head`: head settings over the seed's (e.g. narrower deconvolutions for the synthetic config). */
export function topdownModel(backbone: PoseResNetConfig | HRNetConfig, codec: MSRAHeatmapConfig, head: Partial<PoseModelConfig['head']> = {}): PoseModelConfig {
  const inChannels = backbone.type === 'HRNet' ? backbone.extra.stage4.numChannels[0] : (backbone.depth >= 50 ? 2048 : 512);
  return {
    type: 'TopdownPoseEstimator',
    dataPreprocessor: poseDataPreprocessor,
    backbone,
    head: {
      type: 'HeatmapHead',
      inChannels,
      outChannels: 17,
      ...(backbone.type === 'HRNet' ? { deconvOutChannels: null } : {}),
      loss: { type: 'KeypointMSELoss', useTargetWeight: true },
      decoder: codec,
      ...head,
    },
    testCfg: { flipTest: true, flipMode: 'heatmap', shiftHeatmap: true },
  };
}

/** The train and test pipelines of a codec (mmpose's train_pipeline / val_pipeline, LoadImage and Pack omitted). */
export function posePipelines(codec: MSRAHeatmapConfig): Pick<PoseDataConfig, 'trainPipeline' | 'testPipeline'> {
  return {
    trainPipeline: topdownTrainPipeline({ inputSize: codec.inputSize, encoder: { ...codec } }),
    testPipeline: topdownTestPipeline({ inputSize: codec.inputSize }),
  };
}

/** COCO 2017 under data/coco as mmpose lays it out; val crops from the person detector of human AP 56.4. */
export function cocoPoseData(codec: MSRAHeatmapConfig, batchSize: number): PoseDataConfig {
  return {
    train: { annFile: 'data/coco/annotations/person_keypoints_train2017.json', imgDir: 'data/coco/train2017' },
    val: {
      annFile: 'data/coco/annotations/person_keypoints_val2017.json',
      imgDir: 'data/coco/val2017',
      bboxFile: 'data/coco/person_detection_results/COCO_val2017_detections_AP_H_56_person.json',
      bboxScoreThr: null,
    },
    ...posePipelines(codec),
    batchSize,
    valBatchSize: 32,
    workers: 2,
    generate: null,
  };
}

type Schedule = Pick<RunConfig, 'train' | 'optimWrapper' | 'paramScheduler' | 'hooks' | 'autoScaleLr'>;

/**
 * mmpose's td-hm schedule: Adam lr 5e-4, 210 epochs (val every 10), LinearLR warm-up over 500
 * iterations from 0.001, MultiStepLR x0.1 at 170 and 200; checkpoints every 10 epochs
 * (default_runtime) and the best by coco/AP (the td-hm configs' save_best='coco/AP', rule='greater'),
 * logs every 50 iterations; auto_scale_lr base 512 (disabled by default).
 */
export const td210e: Schedule = {
  train: { byEpoch: true, maxEpochs: 210, valInterval: 10 },
  optimWrapper: { optimizer: { type: 'Adam', lr: 5e-4 }, clipGrad: null, paramwise: null },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 500 },
    { type: 'MultiStepLR', byEpoch: true, begin: 0, end: 210, milestones: [170, 200], gamma: 0.1 },
  ],
  hooks: { logger: { interval: 50 }, checkpoint: { interval: 10, byEpoch: true, maxKeep: -1, saveLast: true, saveBest: 'coco/AP', rule: 'greater' } },
  autoScaleLr: { enable: false, baseBatchSize: 512 },
};

export function poseConfig(parts: { model: PoseModelConfig; data: PoseDataConfig; schedule: Schedule }): PoseConfig {
  return {
    seed: 0,
    workDir: null,
    loadFrom: null,
    ...parts.schedule,
    model: parts.model,
    data: parts.data,
    evaluation: { metrics: ['coco'] },
  };
}

/** One of the seed's COCO rows (mmpose's td-hm_{backbone}_8xb{batch}-210e_coco-{h}x{w}). */
export function tdHmCocoConfig(o: {
  backbone: PoseResNetConfig | HRNetConfig;
  /** [w, h] */
  inputSize: [number, number];
  batchSize: number;
  /** mmpose's val_dataloader batch_size (32; 64 in td-hm_res101_8xb32-210e_coco-384x288). */
  valBatchSize?: number;
  /** auto_scale_lr.base_batch_size (512; 256 in td-hm_res101_8xb32-210e_coco-384x288). */
  baseBatchSize?: number;
}): PoseConfig {
  const codec = msraCodec(o.inputSize);
  return poseConfig({
    model: topdownModel(o.backbone, codec),
    data: { ...cocoPoseData(codec, o.batchSize), valBatchSize: o.valBatchSize ?? 32 },
    schedule: { ...td210e, autoScaleLr: { enable: false, baseBatchSize: o.baseBatchSize ?? 512 } },
  });
}
