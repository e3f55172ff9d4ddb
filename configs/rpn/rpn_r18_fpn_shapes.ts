/**
 * RPN alone (ResNet-18-FPN from scratch) on the synthetic shapes dataset, evaluated by
 * proposal recall (AR@100/300/1000). Differences from the quickstart's Faster R-CNN:
 * - anchors: 3 octave scales × 5 ratios per location (octave base scale 4: sizes 16–203 px
 *   over P2–P5, as RetinaNet's; ratios 0.5, 0.7, 1, 1.4, 2), so objects of 24–160 px get
 *   several anchors with IoU ≥ 0.7. One scale and 3 ratios per level (MMDetection's RPN)
 *   leaves many of them with a single low-quality match (AR@1000 55.1 → 68.1 with 3 scales
 *   after 900 iterations); 5 ratios instead of 3: AR@1000 77.9 → 82.3 after 2200;
 * - 2200 iterations of 4 images (×0.1 at 1750 and 2075): about 28 minutes on 2 CPU cores;
 * - test NMS 0.95 instead of MMDetection's 0.7: AR@1000 averages recall over IoU 0.5–0.95
 *   and the images hold about four objects each, so 1,000 proposals leave room for the
 *   near-duplicates that land closest to each box (AR@1000 72.1 at 0.7, 82.3 at 0.95);
 * - `tsvision test --tta`: 320 and 384 px, each also flipped, proposals pooled and merged by
 *   NMS 0.95: AR@1000 85.7 (bench/README.md, "convergence").
 *   ./bin/tsvision train rpn/rpn_r18_fpn_shapes
 *   ./bin/tsvision test rpn/rpn_r18_fpn_shapes work_dirs/rpn_r18_fpn_shapes/iter_2200.safetensors [--tta]
 */
import { defineConfig, mergeConfig } from '../../src/config';
import { rpnOnly } from '../_base_/models/faster-rcnn_r50_fpn';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import { config as faster, model as fasterModel } from '../faster_rcnn/faster-rcnn_r18_fpn_shapes';

const base = rpnOnly(fasterModel);
const iters = 2200;

export const config: DetectionConfig = {
  ...faster,
  model: {
    ...base,
    rpnHead: { ...base.rpnHead!, anchor: { octaveBaseScale: 4, scalesPerOctave: 3, ratios: [0.5, 0.7, 1.0, 1.4, 2.0], strides: [4, 8, 16, 32, 64] } },
    testCfg: { rpn: { ...base.testCfg.rpn!, nmsPre: 2000, maxPerImg: 1000, iouThreshold: 0.95 } },
  },
  train: { byEpoch: false, maxIters: iters, valInterval: 0 },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 100 },
    { type: 'MultiStepLR', byEpoch: false, begin: 0, end: iters, milestones: [1750, 2075], gamma: 0.1 },
  ],
  evaluation: { metrics: ['proposal'] },
  // `tsvision test --tta`: 320 and 384 px, each also flipped; the pooled proposals merged by NMS 0.95.
  tta: { scales: [[320, 320], [384, 384]], flip: true, nms: { iouThreshold: 0.95 }, maxPerImg: 1000 },
};

export default defineConfig(detectionTask, config);
