/**
 * The synthetic semantic-segmentation config: FCN on a dilated ResNetV1c-18 (mmseg's
 * fcn_r18-d8 head sizes: 128 channels, auxiliary 64) trained from scratch (no pretrained weights
 * can be downloaded; BN trains) on the shapes-seg dataset (5 classes: background and four
 * shapes, 255 on crowd regions), generated into work_dirs/data/shapes-seg on first use.
 * 256x256 crops of images resized by 0.75-1.5 around 320 px, 4 images per batch, 800 iterations
 * of SGD 0.01 with PolyLR, sized for a 2-core CPU (minutes, not hours). BN as configured in mmseg
 * (SyncBN there; one process here).
 *   ./bin/tsvision train fcn/fcn_r18-d8_shapes-seg
 *   ./bin/tsvision test fcn/fcn_r18-d8_shapes-seg work_dirs/fcn_r18-d8_shapes-seg/<run>/iter_800.safetensors
 */
import { defineConfig } from '../../src/config';
import { segmentationTask } from '../../src/tasks/segmentation/task';
import type { SegmentorModelConfig } from '../../src/models/segmentors/config';
import { SHAPES_SEG_CLASSES } from '../../src/data/synthetic/shapes-seg';
import { fcnR50D8 } from '../_base_/models/fcn_r50-d8';
import { fcnAuxHead, forDataset, segmentationConfig } from '../_base_/segmentation';
import { segPipelines } from '../_base_/datasets/cityscapes';

const crop: [number, number] = [256, 256];

export const model: SegmentorModelConfig = forDataset({
  ...fcnR50D8,
  backbone: { ...fcnR50D8.backbone, type: 'ResNetV1c', depth: 18, initCfg: null, zeroInitResidual: false } as SegmentorModelConfig['backbone'],
  decodeHead: { ...fcnR50D8.decodeHead, inChannels: 512, channels: 128 },
  auxiliaryHead: { ...fcnAuxHead, inChannels: 256, channels: 64 },
}, SHAPES_SEG_CLASSES.length, crop);

const pipelines = segPipelines([320, 320], crop);

export const config = segmentationConfig({
  model,
  data: {
    train: { kind: 'shapes-seg', dataRoot: 'work_dirs/data/shapes-seg', split: 'train' },
    val: { kind: 'shapes-seg', dataRoot: 'work_dirs/data/shapes-seg', split: 'val' },
    classes: [...SHAPES_SEG_CLASSES],
    trainPipeline: pipelines.trainPipeline.map((t) => (t.type === 'RandomResize' ? { ...t, ratioRange: [0.75, 1.5] as [number, number] } : t)),
    testPipeline: pipelines.testPipeline,
    batchSize: 4,
    valBatchSize: 1,
    workers: 1,
    generate: { kind: 'shapes-seg', dir: 'work_dirs/data/shapes-seg', images: 300, seed: 0, shapes: { minSize: 256, maxSize: 320, objectsPerImage: [1, 6], objectSize: [24, 160], crowdProb: 0.1 } },
  },
  schedule: {
    train: { byEpoch: false, maxIters: 800, valInterval: 400 },
    optimWrapper: { optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9, weightDecay: 0.0005 }, clipGrad: null, paramwise: null },
    paramScheduler: [{ type: 'PolyLR', etaMin: 1e-4, power: 0.9, begin: 0, end: 800, byEpoch: false }],
    hooks: { logger: { interval: 20 }, checkpoint: { interval: 400, byEpoch: false, maxKeep: 2, saveLast: true, saveBest: null, rule: null } },
  },
});

export default defineConfig(segmentationTask, config);
