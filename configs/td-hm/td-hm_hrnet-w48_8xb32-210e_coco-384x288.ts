/**
 * MMPose 1.x's td-hm_hrnet-w48_8xb32-210e_coco-384x288.py (HRNet, the seed's row): HRNet-W48 from ImageNet weights,
 * 288x384 input (MSRA heatmaps 72x96, sigma 3), 32 crops per GPU on 8 GPUs, Adam 5e-4 for 210 epochs
 * (steps at 170 and 200, 500-iteration warm-up), flip test with shifted heatmaps, val crops from the
 * person detector of human AP 56.4 (data/coco/person_detection_results/).
 */
import { defineConfig } from '../../src/config';
import { poseTask } from '../../src/tasks/pose/task';
import { poseHRNet, tdHmCocoConfig } from '../_base_/pose';

export const config = tdHmCocoConfig({ backbone: poseHRNet(48), inputSize: [288, 384], batchSize: 32 });

export default defineConfig(poseTask, config);
