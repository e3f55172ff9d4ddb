/**
 * Training targets of one image for a dense anchor head, shared by the RPN and RetinaNet heads
 * (MMDetection's AnchorHead._get_targets_single): the head's outputs flattened in anchor order,
 * the anchors valid for training (pad-shape valid flags, allowed border), MaxIoU assignment on
 * them and the sampler's positives and negatives, as indices into all the image's anchors.
 *
 * Shape shorthand: L levels, A anchors per location, C class channels per anchor, P = Σ Hl·Wl·A
 * anchors of an image (ordered level, y, x, a), V valid anchors.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { AnchorGenerator } from '../task_modules/anchor_generator';
import type { AssignResult, MaxIoUAssigner } from '../task_modules/assigner';
import type { SamplingResult } from '../task_modules/sampler';
import type { DetImageMeta, DetTargets } from '../detectors/types';

/** A sampler of assigned anchors (RandomSampler, PseudoSampler). */
export interface AnchorSampler {
  sample(assign: AssignResult, priors: Tensor, gtBoxes: Tensor, gtLabels: Tensor): SamplingResult;
}

export interface ImageAnchorTargets {
  /** This image's class logits [P, C] and deltas [P, 4], levels concatenated. */
  clsFlat: Tensor;
  regFlat: Tensor;
  /** [S_pos] and [S_neg] int64 indices into the image's P anchors. */
  pos: Tensor;
  neg: Tensor;
  /** The sampler's result over the valid anchors (posPriors, posGtBoxes, posGtLabels, ...). */
  sampling: SamplingResult;
}

/**
 * Targets of image i of the batch: outs' maps are [N, A·C, Hl, Wl] and [N, 4A, Hl, Wl]; anchors
 * [Hl·Wl·A, 4] per level and allAnchors [P, 4] their concatenation. Throws when no anchor is
 * valid, as MMDetection does.
 */
export function imageAnchorTargets(
  outs: { clsScores: Tensor[]; bboxPreds: Tensor[] }, i: number, clsChannels: number,
  generator: AnchorGenerator, anchors: Tensor[], allAnchors: Tensor,
  meta: DetImageMeta, target: DetTargets, assigner: MaxIoUAssigner, sampler: AnchorSampler, allowedBorder: number,
): ImageAnchorTargets {
  return torch.tidy(() => {
    const clsFlat = torch.cat(outs.clsScores.map((c) => c.select(0, i).permute(1, 2, 0).reshape(-1, clsChannels)));
    const regFlat = torch.cat(outs.bboxPreds.map((b) => b.select(0, i).permute(1, 2, 0).reshape(-1, 4)));
    const featSizes = outs.clsScores.map((c) => c.shape.slice(2) as [number, number]);
    const inside = generator.trainingAnchorIndices(anchors, featSizes, meta.padShape ?? meta.imgShape, meta.imgShape, allowedBorder);
    if (inside.size(0) === 0) {
      throw new Error('anchor targets: no valid anchor inside the image; check the image size and anchor sizes, or set trainCfg allowedBorder to -1');
    }
    const priors = allAnchors.index([inside]);
    const sampling = sampler.sample(assigner.assign(priors, target.boxes, target.labels, target.ignoreBoxes), priors, target.boxes, target.labels);
    return { clsFlat, regFlat, pos: inside.index([sampling.posInds]), neg: inside.index([sampling.negInds]), sampling };
  });
}
