/**
 * Optimizers, parameter groups, gradient clipping and lr schedules.
 *   import { SGD, buildParamGroups, ParamSchedulerList, multiStepSchedule, SCHEDULE_1X } from 'tsvision/optim';
 */
export { Optimizer, type BaseOptions, type ParamGroup, type ParamGroupInput, type ParamState, type OptimizerStateDict } from './optimizer';
export { SGD, type SGDOptions } from './sgd';
export { Adam, AdamW, type AdamOptions } from './adam';
export { clipGradNorm_ } from './clip';
export {
  INF, ParamScheduler, LinearLR, ConstantLR, MultiStepLR, StepLR, ExponentialLR, PolyLR, CosineAnnealingLR,
  ParamSchedulerList, buildScheduler, lrAt, lrCurve,
  type SchedulerConfig, type SchedulerRange, type SchedulerState, type ParamGroupsHolder, type ScheduledParam,
} from './scheduler';
export {
  SCHEDULE_1X, SCHEDULE_2X, SCHEDULE_3X, SCHEDULE_CENTERNET_140E, SCHEDULE_CENTERNET_320E, multiStepSchedule,
  legacyLrAt, LegacyLrUpdater, type EpochSchedule, type LegacyLrConfig, type LegacyProgress,
} from './schedules';
export { buildParamGroups, type ParamwiseOptions, type CustomKeyOptions } from './param_groups';
