/** Evaluation: COCO (bbox, segm, keypoints, proposal recall) and semantic-segmentation metrics. */
export { CocoDataset, checkRleJson, type CocoAnnotation, type CocoCategory, type CocoImage, type CocoJson, type CocoSegmentation } from './coco/dataset';
export { CocoFormatError, readJsonFile } from './coco/errors';
export { evaluateCoco, resolveParams, type CocoEvalOptions, type CocoEvalResult } from './coco/eval';
export * from './coco/mask';
export { oksInto } from './coco/oks';
export { COCO_KEYPOINT_SIGMAS, defaultParams, linspace, pairwiseSum, type CocoParams } from './coco/params';
export { proposalRecall, type ProposalRecallOptions, type ProposalRecallResult } from './coco/proposal';
export { CocoResults, loadResults, type CocoResult, type IouType, type LoadResultsOptions } from './coco/results';
export { SegMetricAccumulator, type LabelMap, type SegMetricOptions, type SegMetrics } from './segmentation';
