/**
 * Samplers choose which assigned priors train a head (MMDetection's RandomSampler
 * and PseudoSampler), optionally adding the ground-truth boxes as proposals.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { AssignResult } from './assigner';

export interface SamplingResult {
  /** [S] int64 indices into the (possibly gt-augmented) priors. */
  posInds: Tensor;
  negInds: Tensor;
  /** [S_pos, 4] and [S_neg, 4] priors. */
  posPriors: Tensor;
  negPriors: Tensor;
  /** [S_pos] int64 index of the gt each positive matches. */
  posAssignedGtInds: Tensor;
  /** [S_pos, 4] matched gt boxes. */
  posGtBoxes: Tensor;
  /** [S_pos] int64 labels of the matched gts. */
  posGtLabels: Tensor;
}

function buildResult(priors: Tensor, gtBoxes: Tensor, assign: AssignResult, posInds: Tensor, negInds: Tensor): SamplingResult {
  const posAssignedGtInds = assign.gtInds.index([posInds]).sub(1);
  const posGtBoxes = gtBoxes.size(0) > 0
    ? gtBoxes.index([posAssignedGtInds])
    : torch.zeros([0, 4], { device: priors.device });
  return {
    posInds, negInds,
    posPriors: priors.index([posInds]),
    negPriors: priors.index([negInds]),
    posAssignedGtInds,
    posGtBoxes,
    posGtLabels: assign.labels.index([posInds]),
  };
}

/** Uses every positive and negative (for heads that weight all priors, e.g. RetinaNet). */
export class PseudoSampler {
  sample(assign: AssignResult, priors: Tensor, gtBoxes: Tensor): SamplingResult {
    return torch.tidy(() => {
      const posInds = assign.gtInds.gt(0).nonzero().view(-1);
      const negInds = assign.gtInds.eq(0).nonzero().view(-1);
      return buildResult(priors, gtBoxes, assign, posInds, negInds);
    });
  }
}

export interface RandomSamplerOptions {
  /** Total samples per image. */
  num: number;
  /** Target fraction of positives. */
  posFraction: number;
  /** Max negatives per positive (-1: no bound). */
  negPosUb?: number;
  /** Prepend the gt boxes to the priors as positives. */
  addGtAsProposals?: boolean;
  /**
   * For tests only: a deterministic draw instead of a random one, so that a run can be compared
   * sample for sample with another implementation patched the same way. 'first': the first num
   * candidates in index order (gallery[:num]); 'strided': num candidates spread evenly,
   * gallery[floor(i · K / num)] for i < num (the patch of MMDetection's RandomSampler.random_choice
   * in scripts/reference/mmdet_fixtures.py). Biased: never train with it. Default: random.
   */
  deterministic?: 'first' | 'strided';
}

export class RandomSampler {
  constructor(readonly opts: RandomSamplerOptions) {}

  /** Samples priors [P, 4]; returns indices into cat([gtBoxes, priors]) if addGtAsProposals. */
  sample(assign: AssignResult, priors: Tensor, gtBoxes: Tensor, gtLabels: Tensor): SamplingResult {
    return torch.tidy(() => {
      let a = assign;
      let all = priors;
      const numGts = gtBoxes.size(0);
      if ((this.opts.addGtAsProposals ?? true) && numGts > 0) {
        all = torch.cat([gtBoxes, priors], 0);
        const device = priors.device;
        a = {
          numGts,
          gtInds: torch.cat([torch.arange(1, numGts + 1, 1, { device }), assign.gtInds]),
          maxOverlaps: torch.cat([torch.ones([numGts], { device }), assign.maxOverlaps]),
          labels: torch.cat([gtLabels, assign.labels]),
        };
      }
      const numExpectedPos = Math.trunc(this.opts.num * this.opts.posFraction);
      const choose = this.opts.deterministic === 'first' ? takeFirst
        : this.opts.deterministic === 'strided' ? stridedChoice : randomChoice;
      // sorted as MMDetection's sampler leaves them (pos_inds.unique()): the order of the samples
      const posInds = choose(a.gtInds.gt(0).nonzero().view(-1), numExpectedPos).sort().values;
      const numPos = posInds.size(0);
      let numExpectedNeg = this.opts.num - numPos;
      const ub = this.opts.negPosUb ?? -1;
      if (ub >= 0) numExpectedNeg = Math.min(numExpectedNeg, Math.trunc(ub * Math.max(1, numPos)));
      const negInds = choose(a.gtInds.eq(0).nonzero().view(-1), numExpectedNeg).sort().values;
      return buildResult(all, gtBoxes, a, posInds, negInds);
    });
  }
}

/** At most num elements of gallery [K], drawn without replacement (libtorch's RNG). */
function randomChoice(gallery: Tensor, num: number): Tensor {
  if (gallery.size(0) <= num) return gallery;
  const perm = torch.randperm(gallery.size(0), { device: gallery.device }).slice(0, 0, num);
  return gallery.index([perm]);
}

/** The first num elements of gallery [K]. */
function takeFirst(gallery: Tensor, num: number): Tensor {
  return gallery.slice(0, 0, Math.min(num, gallery.size(0)));
}

/** num elements of gallery [K] spread evenly: gallery[floor(i · K / num)], i < num (K > num). */
function stridedChoice(gallery: Tensor, num: number): Tensor {
  const k = gallery.size(0);
  if (k <= num) return gallery;
  const idx = Array.from({ length: num }, (_, i) => Math.floor((i * k) / num));
  return gallery.index([torch.tensor(idx, { dtype: 'int64', device: gallery.device })]);
}
