/**
 * A small RetinaNet on the synthetic shapes dataset at ~320 px, the counterpart of
 * faster_rcnn/faster-rcnn_r18_fpn_shapes: ResNet-18-FPN of 64 channels trained from scratch (no
 * pretrained weights can be downloaded), a RetinaHead of 64 channels, 4 classes. Iteration-based:
 * 800 iterations of 4 images, linear warmup, ×0.1 at 620 and 760, SGD lr 0.01 (MMDetection's
 * RetinaNet lr, half of Faster R-CNN's), gradients clipped at norm 10 as the Faster R-CNN
 * quickstart (a departure from mmdet's RetinaNet configs, which clip nothing: from scratch the
 * first focal-loss steps are large). Not tuned yet (issue 15): one run of this schedule on the 2-core VM
 * reached box AP 12.9 (AP50 26.3) with loss_cls still falling (1.13 → 0.34), far below the Faster
 * R-CNN quickstart's 65.4; it trains, but wants a longer schedule before it is a useful quickstart.
 *   ./bin/tsvision train retinanet/retinanet_r18_fpn_shapes
 */
import { defineConfig, mergeConfig } from '../../src/config';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import type { SingleStageModelConfig } from '../../src/models/detectors/build';
import { retinanetR50Fpn } from '../_base_/models/retinanet_r50_fpn';
import { config as faster } from '../faster_rcnn/faster-rcnn_r18_fpn_shapes';

/** MMDetection's RetinaNet with a ResNet-18-FPN of 64 channels and a 64-channel head. */
export const model: SingleStageModelConfig = mergeConfig(retinanetR50Fpn, {
  // as the Faster R-CNN quickstart: BN trains, nothing frozen, no zero-init residuals, no pretrained weights
  backbone: { depth: 18, frozenStages: -1, normEval: false, initCfg: null, zeroInitResidual: false },
  neck: { inChannels: [64, 128, 256, 512], outChannels: 64 },
  bboxHead: { inChannels: 64, featChannels: 64, numClasses: 4 },
});

/** The Faster R-CNN quickstart's data, schedule and hooks, at RetinaNet's lr. */
export const config: DetectionConfig = {
  ...faster,
  model,
  optimWrapper: { ...faster.optimWrapper, optimizer: { ...faster.optimWrapper.optimizer, lr: 0.01 } },
};

export default defineConfig(detectionTask, config);
