/**
 * The RPN of torchvision's `fasterrcnn_resnet50_fpn`: its proposals (top 1000 after NMS,
 * objectness as score, label 0) in original-image pixels. Loads the same torchvision state
 * dict (the RoI head's weights are dropped).
 */
import type { TwoStageModelConfig } from '../../src/models/detectors/build';
import { model as faster } from './fasterrcnn_resnet50_fpn';

export const model: TwoStageModelConfig = {
  ...faster,
  type: 'RPN',
  roiHead: undefined,
  trainCfg: { rpn: faster.trainCfg.rpn },
  testCfg: { rpn: faster.testCfg.rpn },
};
