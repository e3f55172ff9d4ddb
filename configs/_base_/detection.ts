/** Assembles a detection config from its model, data and schedule parts. */
import type { DetectionConfig, DetectionDataConfig, DetectionMetric } from '../../src/models/detectors/task';
import type { TwoStageModelConfig } from '../../src/models/detectors/build';
import { defaultRuntime } from './schedules/schedules';
import type { RunConfig } from '../../src/config/types';

export function detectionConfig(parts: {
  model: TwoStageModelConfig;
  data: DetectionDataConfig;
  schedule: Pick<RunConfig, 'train' | 'optimWrapper' | 'paramScheduler'>;
  metrics?: DetectionMetric[];
}): DetectionConfig {
  return {
    ...defaultRuntime,
    ...parts.schedule,
    model: parts.model,
    data: parts.data,
    evaluation: { metrics: parts.metrics ?? (parts.model.type === 'RPN' ? ['proposal'] : ['bbox']) },
  };
}
