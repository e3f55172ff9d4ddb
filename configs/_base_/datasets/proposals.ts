/**
 * Fast R-CNN reads precomputed proposals: COCO results-format JSON files (as
 * `tsvision test <rpn config> CKPT --out` writes them), one per split.
 */
import type { DetectionDataConfig } from '../../../src/tasks/detection/task';

export function withProposals(data: DetectionDataConfig, dir = 'data/coco/proposals', name = 'rpn_r50_fpn_1x'): DetectionDataConfig {
  return {
    ...data,
    // MMDetection's LoadProposals: num_max_proposals 2000 in training, all at test
    train: { ...data.train, proposalFile: `${dir}/${name}_train2017.json`, numMaxProposals: 2000 },
    val: { ...data.val, proposalFile: `${dir}/${name}_val2017.json`, numMaxProposals: null },
  };
}
