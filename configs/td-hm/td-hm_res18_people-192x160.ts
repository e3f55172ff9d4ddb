/**
 * The synthetic top-down pose config: SimpleBaseline on ResNet-18, trained from scratch (no
 * pretrained weights; BN trains) on the `people` dataset (stick figures with COCO's 17 keypoints),
 * generated into work_dirs/data/people on first use; ground-truth boxes at test time (no
 * detector). mmpose's augmentation, MSRA heatmaps σ 2, Adam 1e-3 with a 100-iteration warm-up and
 * a step at 2/3, 16 crops per batch. Sized for 30 minutes on a 2-core CPU, it departs from the
 * seed's rows in: input 192x160 (heatmaps 48x40; the width a multiple of the backbone's stride 32) instead of 256x192, and 128-channel deconvolutions
 * instead of 256 (at 256x192 with 256 channels an iteration took 2.6 s: 65 minutes for 1500; at 192x160 with 128, 1.26 s).
 *   ./bin/tsvision train td-hm/td-hm_res18_people-192x160
 *   ./bin/tsvision test td-hm/td-hm_res18_people-192x160 work_dirs/td-hm_res18_people-192x160/iter_1350.safetensors
 */
import { defineConfig } from '../../src/config';
import { poseTask } from '../../src/tasks/pose/task';
import { msraCodec, poseConfig, posePipelines, poseResNet, topdownModel } from '../_base_/pose';

const codec = msraCodec([160, 192]);
const iters = 1350;
const dir = 'work_dirs/data/people';

export const config = poseConfig({
  model: topdownModel(poseResNet(18, false), codec, { deconvOutChannels: [128, 128, 128], deconvKernelSizes: [4, 4, 4] }),
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
    train: { byEpoch: false, maxIters: iters, valInterval: 675 },
    optimWrapper: { optimizer: { type: 'Adam', lr: 1e-3 }, clipGrad: null, paramwise: null },
    paramScheduler: [
      { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 100 },
      { type: 'MultiStepLR', byEpoch: false, begin: 0, end: iters, milestones: [900], gamma: 0.1 },
    ],
    hooks: { logger: { interval: 20 }, checkpoint: { interval: 675, byEpoch: false, maxKeep: 2, saveLast: true, saveBest: 'coco/AP', rule: 'greater' } },
  },
});

export default defineConfig(poseTask, config);
