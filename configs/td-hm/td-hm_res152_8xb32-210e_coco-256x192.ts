/**
 * MMPose 1.x's td-hm_res152_8xb32-210e_coco-256x192.py (SimpleBaseline, the seed's row): ResNet-152 from ImageNet weights,
 * 192x256 input (MSRA heatmaps 48x64, sigma 2), 32 crops per GPU on 8 GPUs, Adam 5e-4 for 210 epochs
 * (steps at 170 and 200, 500-iteration warm-up), flip test with shifted heatmaps, val crops from the
 * person detector of human AP 56.4 (data/coco/person_detection_results/).
 */
import { defineConfig } from '../../src/config';
import { poseTask } from '../../src/tasks/pose/task';
import { poseResNet, tdHmCocoConfig } from '../_base_/pose';

export const config = tdHmCocoConfig({ backbone: poseResNet(152), inputSize: [192, 256], batchSize: 32 });

export default defineConfig(poseTask, config);
