/**
 * The training framework: Runner (epoch/iteration loops, validation, test), hooks
 * (logger, lr schedules, checkpoints), checkpoint files and resuming.
 */
export { Runner, buildRunner, defaultWorkDir, scaleLr, type RunnerOptions, type BuildRunnerOptions } from './runner';
export { type GradSync, AllreduceGradSync, createGradSync } from './grad_sync';
export { RunDist } from './dist';
export { type TrainableModel, type BatchSource, type Evaluator, iteratorOf } from './types';
export { ModelWrapper, type WrappedModel } from './model_wrapper';
export { type Hook, type IterInfo, ParamSchedulerHook, CheckpointHook } from './hooks';
export { LoggerHook, formatEta, memoryMb } from './logger';
export { buildOptimizer, trainStep, type StepLog } from './optim_wrapper';
export {
  saveCheckpoint, loadCheckpoint, loadWeights, loadModelWeights, StateDictMismatchError, listCheckpoints, findLatestCheckpoint, writeLastCheckpoint, removeStaleTempFiles,
  CHECKPOINT_EXT, LAST_CHECKPOINT, type CheckpointMeta, type CheckpointState, type LoadedCheckpoint, type Progress, type SafetensorsWriter,
  type LoadModelWeightsOptions, type LoadModelWeightsResult, type WeightsTarget,
} from './checkpoint';
