/**
 * RPN alone (ResNet-18-FPN from scratch) on the synthetic shapes dataset, evaluated by
 * proposal recall (AR@100/300/1000).
 *   ./bin/tsvision train rpn/rpn_r18_fpn_shapes
 */
import { defineConfig, mergeConfig } from '../../src/config';
import { rpnOnly } from '../_base_/models/faster-rcnn_r50_fpn';
import { detectionTask, type DetectionConfig } from '../../src/models/detectors/task';
import { config as faster } from '../faster_rcnn/faster-rcnn_r18_fpn_shapes';

export const config: DetectionConfig = {
  ...faster,
  model: mergeConfig(rpnOnly(faster.model), { testCfg: { rpn: { nmsPre: 2000, maxPerImg: 1000 } } }),
  evaluation: { metrics: ['proposal'] },
};

export default defineConfig(detectionTask, config);
