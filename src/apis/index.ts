/** One-call inference for people and scripts: a config and a checkpoint in, results out. */
export { asDetectionConfig, inferImage, loadDetector, prepareImage, readImageTensor, type LoadedDetector, type LoadDetectorOptions } from './detection';
export {
  asSegmentationConfig, inferSegmentation, loadSegmentor, prepareSegImage, writeLabelPng, type LoadedSegmentor, type SegmentationResult,
} from './segmentation';
export {
  asPoseConfig, disposePoseEstimator, inferTopdown, inferTopdownWithDetector, isPoseConfig, loadPoseEstimator, prepareTopdownCrops, readPersonBoxes,
  type LoadedPoseEstimator, type PersonBox, type PoseResult, type TopdownWithDetectorOptions, type TopdownWithDetectorResult,
} from './pose';
