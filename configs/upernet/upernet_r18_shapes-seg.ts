/**
 * The synthetic semantic-segmentation config that converges within the 30-minute CPU budget:
 * UPerNet (PPM + FPN fused at stride 4) on a ResNetV1c-18 of output stride 32 (no dilation, as
 * mmseg's upernet_r18 rows) trained from scratch on shapes-seg (5 classes: background and four
 * shapes, 255 on crowd regions), generated into work_dirs/data/shapes-seg on first use.
 *
 * Departures from mmseg's UPerNet rows, because no pretrained weights can be downloaded and the
 * run must fit a 2-core CPU: random init (BN trains, as mmseg's SyncBN rows but over one
 * process's batch), 64 decode channels (auxiliary 64), 256x256 crops of images resized by
 * 0.75-1.5 around 320 px, 8 images per batch, SGD lr 0.05 with a 100-iteration linear warm-up
 * and gradient clipping at norm 10, PolyLR to 1e-4.
 * The dilated fcn/fcn_r18-d8_shapes-seg costs about 3x more per iteration and reached only
 * mIoU 31.4 in its 800 iterations (bench/results/convergence-fcn_r18-d8_shapes-seg.json).
 *   ./bin/tsvision train upernet/upernet_r18_shapes-seg
 *   node dist/bench/convergence.js upernet/upernet_r18_shapes-seg
 */
import { defineConfig } from '../../src/config';
import { segmentationTask } from '../../src/tasks/segmentation/task';
import type { SegmentorModelConfig } from '../../src/models/segmentors/config';
import { upernetR50 } from '../_base_/models/upernet_r50';
import { fcnAuxHead, forDataset, segmentationConfig } from '../_base_/segmentation';
import { config as fcnShapes } from '../fcn/fcn_r18-d8_shapes-seg';
import { segPipelines } from '../_base_/datasets/cityscapes';
import { SHAPES_SEG_CLASSES } from '../../src/data/synthetic/shapes-seg';

const crop: [number, number] = [160, 160];
const iters = 2600;

export const model: SegmentorModelConfig = forDataset({
  ...upernetR50,
  backbone: { ...upernetR50.backbone, type: 'ResNetV1c', depth: 18, initCfg: null, zeroInitResidual: false } as SegmentorModelConfig['backbone'],
  decodeHead: { ...upernetR50.decodeHead, inChannels: [64, 128, 256, 512], channels: 64 },
  auxiliaryHead: { ...fcnAuxHead, inChannels: 256, channels: 64 },
}, SHAPES_SEG_CLASSES.length, crop);

const pipelines = segPipelines([192, 192], crop);

export const config = segmentationConfig({
  model,
  data: {
    ...fcnShapes.data,
    ...pipelines,
    trainPipeline: pipelines.trainPipeline.map((t) => (t.type === 'RandomResize' ? { ...t, ratioRange: [0.75, 1.5] as [number, number] } : t)),
    batchSize: 8,
  },
  schedule: {
    train: { byEpoch: false, maxIters: iters, valInterval: 0 },
    optimWrapper: { optimizer: { type: 'SGD', lr: 0.05, momentum: 0.9, weightDecay: 0.0005 }, clipGrad: { maxNorm: 10 }, paramwise: null },
    paramScheduler: [
      { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 100 },
      { type: 'PolyLR', etaMin: 1e-4, power: 0.9, begin: 0, end: iters, byEpoch: false },
    ],
    hooks: { logger: { interval: 20 }, checkpoint: { interval: 1300, byEpoch: false, maxKeep: 2, saveLast: true, saveBest: null, rule: null } },
  },
});

export default defineConfig(segmentationTask, config);
