/** Assembles a detection config from its model, data and schedule parts. */
import type { DetectionConfig, DetectionDataConfig, DetectionMetric } from '../../src/tasks/detection/task';
import type { DetectionTtaConfig } from '../../src/tasks/detection/tta';
import { hasMaskBranch, type DetectorModelConfig } from '../../src/models/detectors/build';
import { autoScaleLr16, defaultRuntime } from './schedules/schedules';
import type { RunConfig } from '../../src/config/types';

export function detectionConfig(parts: {
  model: DetectorModelConfig;
  data: DetectionDataConfig;
  schedule: Pick<RunConfig, 'train' | 'optimWrapper' | 'paramScheduler'>;
  metrics?: DetectionMetric[];
}): DetectionConfig {
  return {
    ...defaultRuntime,
    ...parts.schedule,
    autoScaleLr: autoScaleLr16,
    model: parts.model,
    data: parts.data,
    evaluation: { metrics: parts.metrics ?? (parts.model.type === 'RPN' ? ['proposal'] : hasMaskBranch(parts.model) ? ['bbox', 'segm'] : ['bbox']) },
    // the TTA merge handles boxes only: models with masks get none (MMDetection 3.3 ships none for Mask R-CNN)
    ...(hasMaskBranch(parts.model) ? {} : { tta: defaultTta(parts.model, parts.data) }),
  };
}

/**
 * `tsvision test --tta` settings. MMDetection 3.3 ships no TTA config for RPN / Fast / Faster
 * R-CNN; this default is adapted from its retinanet_tta.py (DetTTAModel: NMS 0.5, 100 per image;
 * TestTimeAug over three scales × flip): the test scale, half and 1.5 times it, rounded
 * ((1333, 800), (667, 400), (2000, 1200) on COCO, where retinanet_tta.py writes (666, 400)),
 * each also flipped. The RPN merges proposals with its own test NMS and count (MMDetection
 * 2.x's aug_test_rpn).
 */
export function defaultTta(model: DetectorModelConfig, data: DetectionDataConfig): DetectionTtaConfig | undefined {
  const resize = data.testPipeline.find((s) => s.type === 'Resize');
  if (!resize || resize.type !== 'Resize' || resize.scales.length !== 1) return undefined;
  const [w, h] = resize.scales[0];
  const scales = [1, 0.5, 1.5].map((f): [number, number] => [Math.round(w * f), Math.round(h * f)]);
  const rpn = model.type === 'RPN' ? model.testCfg.rpn : undefined;
  if (rpn) return { scales, flip: true, nms: { iouThreshold: rpn.iouThreshold }, maxPerImg: rpn.maxPerImg };
  return { scales, flip: true, nms: { iouThreshold: 0.5 }, maxPerImg: 100 };
}
