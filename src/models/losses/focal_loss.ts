/**
 * Sigmoid focal loss (Lin et al., 2017), as MMDetection's FocalLoss(use_sigmoid=True), whose CPU
 * path is py_sigmoid_focal_loss:
 *
 *   p = σ(x), pt = (1 − p)·t + p·(1 − t),
 *   loss = BCEWithLogits(x, t) · (α·t + (1 − α)·(1 − t)) · pt^γ
 *
 * per element of logits x [N, C] against one-hot (or soft) targets t [N, C]. The caller sums
 * and divides by its normalizer (RetinaNet: the number of positive anchors).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';

/** MMDetection's loss_cls of a focal-loss head. */
export interface FocalLossConfig {
  /** Focusing exponent γ (default 2). */
  gamma?: number;
  /** Weight α of the positive term, 1 − α of the negative one (default 0.25). */
  alpha?: number;
  /** Factor on the loss (default 1). */
  lossWeight?: number;
}

/** Element-wise focal loss [N, C] of logits [N, C] against targets [N, C] in [0, 1] (no loss weight). */
export function sigmoidFocalLoss(logits: Tensor, targets: Tensor, cfg: FocalLossConfig = {}): Tensor {
  const gamma = cfg.gamma ?? 2;
  const alpha = cfg.alpha ?? 0.25;
  if (!(gamma >= 0)) throw new Error(`loss_cls.gamma: expected a number ≥ 0, got ${gamma}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`loss_cls.alpha: expected a number in [0, 1], got ${alpha}`);
  if (logits.shape.join() !== targets.shape.join()) {
    throw new Error(`sigmoidFocalLoss: logits [${logits.shape.join(', ')}] and targets [${targets.shape.join(', ')}] differ in shape`);
  }
  return torch.tidy(() => {
    const t = targets.to({ dtype: logits.dtype });
    const p = logits.sigmoid();
    const pt = p.rsub(1).mul(t).add(p.mul(t.rsub(1)));
    const focalWeight = t.mul(alpha).add(t.rsub(1).mul(1 - alpha)).mul(pt.pow(gamma));
    return torch.F.binaryCrossEntropyWithLogits(logits, t, { reduction: 'none' }).mul(focalWeight);
  });
}
