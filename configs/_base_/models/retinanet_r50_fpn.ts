/**
 * RetinaNet R-50-FPN as MMDetection's configs/_base_/models/retinanet_r50_fpn.py (COCO: 80
 * classes): FPN on C3-C5 (start level 1) with two extra stride-2 convs on C5 (P6, P7), a
 * RetinaHead of 4 + 4 stacked convs and 9 anchors per location (3 octave scales from 4, ratios
 * 0.5 / 1 / 2, strides 8-128), sigmoid focal loss (γ 2, α 0.25) over every anchor
 * (PseudoSampler), L1 on deltas; test: 1000 best per level above 0.05, class-wise NMS 0.5, 100.
 */
import type { SingleStageModelConfig } from '../../../src/models/detectors/build';
import { imagenetInit, PYTORCH_PREPROCESSOR } from './faster-rcnn_r50_fpn';

export const retinanetR50Fpn: SingleStageModelConfig = {
  type: 'RetinaNet',
  dataPreprocessor: PYTORCH_PREPROCESSOR,
  backbone: { depth: 50, outIndices: [0, 1, 2, 3], frozenStages: 1, normEval: true, style: 'pytorch', initCfg: imagenetInit('pytorch', 50) },
  neck: { inChannels: [256, 512, 1024, 2048], outChannels: 256, startLevel: 1, addExtraConvs: 'on_input', numOuts: 5 },
  bboxHead: {
    numClasses: 80,
    inChannels: 256,
    stackedConvs: 4,
    featChannels: 256,
    anchor: { octaveBaseScale: 4, scalesPerOctave: 3, ratios: [0.5, 1.0, 2.0], strides: [8, 16, 32, 64, 128] },
    coder: { means: [0, 0, 0, 0], stds: [1, 1, 1, 1] },
    lossCls: { gamma: 2, alpha: 0.25, lossWeight: 1 },
    lossBbox: { type: 'L1Loss', lossWeight: 1 },
  },
  trainCfg: {
    // match_low_quality is MaxIoUAssigner's default (true): mmdet's config leaves it out
    assigner: { posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0, matchLowQuality: true, ignoreIofThr: -1 },
    allowedBorder: -1,
  },
  testCfg: { nmsPre: 1000, minBboxSize: 0, scoreThr: 0.05, iouThreshold: 0.5, maxPerImg: 100 },
};
