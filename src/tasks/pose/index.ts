/** Top-down pose task glue: pipelines, predictions for the metric, MMPose's CocoMetric and OKS-NMS. */
export { topdownPrediction, topdownTestPipeline, topdownTrainPipeline, type TopdownPipelineOptions } from './data';
export { TopdownCocoMetric, type ScoreMode, type TopdownCocoMetricOptions, type TopdownCocoMetricResult, type TopdownPrediction } from './evaluator';
export { boxNms, oksIou, oksNms, type OksInstance } from './oks_nms';
