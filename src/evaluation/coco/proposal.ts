/** Proposal recall as MMDetection reports it: class-agnostic COCO recall at 100/300/1000 proposals. */
import type { CocoDataset } from './dataset';
import { evaluateCoco, type CocoEvalResult } from './eval';
import type { CocoResult, CocoResults } from './results';

export interface ProposalRecallOptions {
  /** Proposal counts (maxDets), default [100, 300, 1000]. */
  proposalNums?: number[];
  /** Images to evaluate (default: all ground-truth images). */
  imgIds?: number[];
}

export interface ProposalRecallResult {
  /** The 12 summary stats of the class-agnostic bbox evaluation. */
  stats: number[];
  /** AR@n for each proposal count, and AR at the largest count for all/small/medium/large objects. */
  proposalAr: Record<string, number>;
  evaluation: CocoEvalResult;
}

/**
 * Average recall of proposals over IoU .50:.95, ignoring categories (useCats 0), with
 * maxDets = proposalNums; keys `AR@100`, `AR@300`, `AR@1000`, `AR_all@1000`,
 * `AR_small@1000`, `AR_medium@1000`, `AR_large@1000` (for the default counts).
 */
export function proposalRecall(gt: CocoDataset, dt: CocoResults | readonly CocoResult[] | string, options: ProposalRecallOptions = {}): ProposalRecallResult {
  const proposalNums = options.proposalNums ?? [100, 300, 1000];
  const evaluation = evaluateCoco(gt, dt, { iouType: 'bbox', useCats: false, maxDets: proposalNums, imgIds: options.imgIds });
  const { stats } = evaluation;
  const [n0, n1, n2] = evaluation.params.maxDets;
  const proposalAr: Record<string, number> = {
    [`AR@${n0}`]: stats[6],
    [`AR@${n1}`]: stats[7],
    [`AR@${n2}`]: stats[8],
    [`AR_all@${n2}`]: stats[8],
    [`AR_small@${n2}`]: stats[9],
    [`AR_medium@${n2}`]: stats[10],
    [`AR_large@${n2}`]: stats[11],
  };
  return { stats, proposalAr, evaluation };
}
