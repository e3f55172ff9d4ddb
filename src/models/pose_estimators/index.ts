export * from './config';
export * from './types';
export { TopdownPoseEstimator, flipHeatmaps, type PoseBackbone, type TopdownPoseEstimatorOptions } from './topdown';
export { buildPoseEstimator, buildPoseBackbone } from './build';
export { HeatmapHead, posePckAccuracy, type HeatmapHeadOptions, type HeatmapTargets } from '../pose_heads/heatmap_head';
