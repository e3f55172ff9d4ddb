/**
 * MaxIoUAssigner (MMDetection): assigns each prior (anchor or proposal) to a
 * ground-truth box or to background by IoU.
 *
 * Result per prior: gtInds [P] int64 — -1 ignore, 0 negative, i+1 matched to gt i;
 * maxOverlaps [P] float; labels [P] int64 (-1 where not positive).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { bboxOverlaps } from './iou';

export interface AssignResult {
  numGts: number;
  /** [P] int64: -1 ignore, 0 background, i + 1 for gt i. */
  gtInds: Tensor;
  /** [P] float32: best IoU of each prior with any gt. */
  maxOverlaps: Tensor;
  /** [P] int64: label of the assigned gt, -1 otherwise. */
  labels: Tensor;
}

export interface MaxIoUAssignerOptions {
  /** IoU at or above which a prior is positive. */
  posIouThr: number;
  /** IoU below which a prior is negative (a number, or [low, high) range). */
  negIouThr: number | [number, number];
  /** Minimum IoU for a gt's best prior to be made positive (low-quality matches). */
  minPosIou?: number;
  /** For low-quality matching, assign every prior that ties a gt's best IoU (else only the first). */
  gtMaxAssignAll?: boolean;
  /** Match each gt to its best priors even below posIouThr. */
  matchLowQuality?: boolean;
  /** Priors whose IoF with an ignore (crowd) box exceeds this become ignored (-1); ≤ 0 disables. */
  ignoreIofThr?: number;
}

export class MaxIoUAssigner {
  readonly posIouThr: number;
  readonly negIouThr: number | [number, number];
  readonly minPosIou: number;
  readonly gtMaxAssignAll: boolean;
  readonly matchLowQuality: boolean;
  readonly ignoreIofThr: number;

  constructor(opts: MaxIoUAssignerOptions) {
    this.posIouThr = opts.posIouThr;
    this.negIouThr = opts.negIouThr;
    this.minPosIou = opts.minPosIou ?? 0;
    this.gtMaxAssignAll = opts.gtMaxAssignAll ?? true;
    this.matchLowQuality = opts.matchLowQuality ?? true;
    this.ignoreIofThr = opts.ignoreIofThr ?? -1;
  }

  /**
   * priors [P, 4], gtBoxes [G, 4], gtLabels [G] int64, gtBoxesIgnore [I, 4] (crowd regions).
   */
  assign(priors: Tensor, gtBoxes: Tensor, gtLabels: Tensor, gtBoxesIgnore?: Tensor): AssignResult {
    return torch.tidy(() => {
      const numGts = gtBoxes.size(0);
      const numPriors = priors.size(0);
      const device = priors.device;
      if (numGts === 0 || numPriors === 0) {
        return {
          numGts,
          gtInds: torch.full([numPriors], numGts === 0 ? 0 : -1, { dtype: 'int64', device }),
          maxOverlaps: torch.zeros([numPriors], { device }),
          labels: torch.full([numPriors], -1, { dtype: 'int64', device }),
        };
      }
      let overlaps = bboxOverlaps(gtBoxes, priors); // [G, P]
      if (this.ignoreIofThr > 0 && gtBoxesIgnore && gtBoxesIgnore.size(0) > 0) {
        const ignoreMax = bboxOverlaps(priors, gtBoxesIgnore, { mode: 'iof' }).amax({ dim: 1 }); // [P]
        overlaps = overlaps.maskedFill(ignoreMax.gt(this.ignoreIofThr).unsqueeze(0), -1);
      }
      const { values: maxOverlaps, indices: argmaxOverlaps } = overlaps.max({ dim: 0 });
      const gtMaxOverlaps = overlaps.amax({ dim: 1 }); // [G]

      let gtInds = torch.full([numPriors], -1, { dtype: 'int64', device });
      const neg = typeof this.negIouThr === 'number'
        ? maxOverlaps.ge(0).logicalAnd(maxOverlaps.lt(this.negIouThr))
        : maxOverlaps.ge(this.negIouThr[0]).logicalAnd(maxOverlaps.lt(this.negIouThr[1]));
      gtInds = gtInds.maskedFill(neg, 0);
      const pos = maxOverlaps.ge(this.posIouThr);
      gtInds = torch.where(pos, argmaxOverlaps.add(1), gtInds);

      if (this.matchLowQuality) {
        // gt i claims the priors that reach its best IoU (if ≥ minPosIou); a later gt
        // overrides an earlier one, as the reference's per-gt loop does.
        const eligible = gtMaxOverlaps.ge(this.minPosIou).unsqueeze(1); // [G, 1]
        let claims = overlaps.eq(gtMaxOverlaps.unsqueeze(1)).logicalAnd(eligible); // [G, P]
        if (!this.gtMaxAssignAll) {
          const first = overlaps.argmax({ dim: 1 }); // first best prior per gt
          claims = torch.zeros([numGts, numPriors], { dtype: 'bool', device })
            .scatter(1, first.unsqueeze(1), 1).bool().logicalAnd(eligible);
        }
        const ids = torch.arange(1, numGts + 1, 1, { device }).unsqueeze(1); // [G, 1] int64
        const claimant = claims.long().mul(ids).amax({ dim: 0 }); // [P]: largest claiming gt + 1, or 0
        gtInds = torch.where(claimant.gt(0), claimant, gtInds);
      }
      const posMask = gtInds.gt(0);
      const labels = torch.where(posMask, gtLabels.index([gtInds.sub(1).clamp({ min: 0 })]), -1);
      return { numGts, gtInds, maxOverlaps, labels };
    });
  }
}
