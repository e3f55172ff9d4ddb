/**
 * Online hard example mining over pixels, as MMSegmentation 1.2's OHEMPixelSampler: a 0/1 weight per
 * pixel that keeps the hard ones in the decode head's loss.
 *
 * Shapes: logits [N, C, H, W] (already at the label size), labels [N, H, W] int64 (ignore index on
 * unlabelled pixels), weight [N, H, W] float32. K = minKept · N (the batch's quota).
 *
 *  - thresh given: p_y = softmax(logits)_y at each non-ignored pixel; with p_(K) the K-th smallest
 *    (0-based; the largest when fewer than K+1 pixels are valid), keep pixels with p_y < max(p_(K), thresh):
 *    every pixel below thresh, and at least K pixels when the batch is easy.
 *  - thresh null (mmseg's default): keep the K non-ignored pixels of highest loss, the loss being the
 *    sum of the head's lossDecode terms per pixel (loss and class weights applied); ties go to the pixel
 *    first in memory order (mmseg's sort on CPU).
 * Ignored pixels get weight 0. No gradient flows through the weights.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { OhemSamplerConfig } from '../segmentors/config';
import type { SegCrossEntropyLoss } from '../losses/seg_cross_entropy';

export class OhemPixelSampler {
  /** Probability below which a pixel is hard (null: rank by loss). */
  readonly thresh: number | null;
  /** Pixels kept per image, at least (mmseg's min_kept; default 100000). */
  readonly minKept: number;

  constructor(cfg: Omit<OhemSamplerConfig, 'type'>, what = 'sampler') {
    const thresh = cfg.thresh ?? null;
    const minKept = cfg.minKept ?? 100000;
    if (thresh !== null && !(typeof thresh === 'number' && thresh >= 0 && thresh <= 1)) throw new Error(`${what}.thresh: expected a probability in [0, 1] or null, got ${thresh}`);
    if (!(Number.isInteger(minKept) && minKept > 1)) throw new Error(`${what}.minKept: expected an integer > 1, got ${minKept}`);
    this.thresh = thresh;
    this.minKept = minKept;
  }

  /** The pixel weights [N, H, W] (1 kept, 0 dropped or ignored); losses rank pixels when thresh is null. */
  sample(logits: Tensor, labels: Tensor, losses: readonly SegCrossEntropyLoss[], ignoreIndex: number): Tensor {
    const [n, , h, w] = logits.shape;
    if (labels.dim() !== 3 || labels.shape[0] !== n || labels.shape[1] !== h || labels.shape[2] !== w) {
      throw new Error(`OhemPixelSampler.sample: labels [${labels.shape.join(', ')}] do not match logits [${logits.shape.join(', ')}]`);
    }
    const batchKept = this.minKept * n;
    return torch.noGrad(() => torch.tidy(() => {
      const valid = labels.ne(ignoreIndex);
      if (this.thresh !== null) {
        const safeLabels = labels.maskedFill(valid.logicalNot(), 0);
        const prob = logits.softmax(1).gather(1, safeLabels.unsqueeze(1)).squeeze(1);
        const validProb = prob.maskedSelect(valid);
        let threshold = this.thresh;
        if (validProb.numel() > 0) {
          const sorted = validProb.sort().values;
          threshold = Math.max(threshold, sorted.select(0, Math.min(batchKept, sorted.numel() - 1)).item());
        }
        return valid.logicalAnd(prob.lt(threshold)).to({ dtype: logits.dtype });
      }
      let loss: Tensor | null = null;
      for (const l of losses) {
        const term = l.perPixel(logits, labels, ignoreIndex);
        loss = loss === null ? term : loss.add(term);
      }
      if (loss === null) throw new Error('OhemPixelSampler.sample: no loss to rank pixels by (thresh is null)');
      // a stable descending sort, as mmseg's on CPU: among equal losses (bilinear upsampling repeats values
      // near the borders) the first pixels in memory order are kept
      const validFlat = valid.flatten();
      const validIdx = validFlat.nonzero().squeeze(1);
      const k = Math.min(batchKept, validIdx.numel());
      const order = loss.flatten().maskedSelect(validFlat).sort({ descending: true, stable: true }).indices.narrow(0, 0, k);
      return torch.zeros([n * h * w], { dtype: logits.dtype, device: logits.device }).scatter(0, validIdx.index([order]), 1).view(n, h, w);
    }));
  }
}
