/**
 * The synthetic top-down pose config: SimpleBaseline on ResNet-18 (three 256-channel deconvs),
 * trained from scratch (no pretrained weights; BN trains) on the `people` dataset (stick figures
 * with COCO's 17 keypoints), generated into work_dirs/data/people on first use; ground-truth
 * boxes at test time (no detector). MSRA heatmaps σ 2 at 256x192, mmpose's augmentation,
 * Adam 1e-3 with a 100-iteration warm-up and a step at 2/3, 16 crops per batch: sized for a
 * 2-core CPU (minutes, not hours).
 *   ./bin/tsvision train td-hm/td-hm_res18_people-256x192
 *   ./bin/tsvision test td-hm/td-hm_res18_people-256x192 work_dirs/td-hm_res18_people-256x192/iter_1500.safetensors
 */
import { defineConfig } from '../../src/config';
import { poseTask } from '../../src/tasks/pose/task';
import { msraCodec, poseConfig, posePipelines, poseResNet, topdownModel } from '../_base_/pose';

const codec = msraCodec([192, 256]);
const iters = 1500;
const dir = 'work_dirs/data/people';

export const config = poseConfig({
  model: topdownModel(poseResNet(18, false), codec),
  data: {
    train: { annFile: `${dir}/annotations/person_keypoints_train.json`, imgDir: `${dir}/train` },
    val: { annFile: `${dir}/annotations/person_keypoints_val.json`, imgDir: `${dir}/val`, bboxFile: null, bboxScoreThr: null },
    ...posePipelines(codec),
    batchSize: 16,
    valBatchSize: 16,
    workers: 1,
    generate: { kind: 'people', dir, images: 400, seed: 0, minSize: 320, maxSize: 640 },
  },
  schedule: {
    train: { byEpoch: false, maxIters: iters, valInterval: 500 },
    optimWrapper: { optimizer: { type: 'Adam', lr: 1e-3 }, clipGrad: null, paramwise: null },
    paramScheduler: [
      { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 100 },
      { type: 'MultiStepLR', byEpoch: false, begin: 0, end: iters, milestones: [1000], gamma: 0.1 },
    ],
    hooks: { logger: { interval: 20 }, checkpoint: { interval: 500, byEpoch: false, maxKeep: 2, saveLast: true } },
  },
});

export default defineConfig(poseTask, config);
