/**
 * Box-regression losses, configured as MMDetection's `loss_bbox`:
 *   { type: 'L1Loss' }                       on encoded deltas
 *   { type: 'SmoothL1Loss', beta }           on encoded deltas (Huber with transition at beta)
 *   { type: 'GIoULoss' }                     on decoded boxes (MMDetection's reg_decoded_bbox),
 *                                             1 − GIoU (Rezatofighi et al., 2019)
 * each scaled by lossWeight (default 1). Losses are summed; the caller divides by its
 * normalizer (the number of sampled anchors or RoIs).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { DeltaXYWHBBoxCoder } from '../task_modules/bbox_coder';

export type BoxLossConfig =
  | { type: 'L1Loss'; lossWeight?: number }
  | { type: 'SmoothL1Loss'; beta?: number; lossWeight?: number }
  | { type: 'GIoULoss'; lossWeight?: number; eps?: number };

/** Whether the loss compares decoded boxes (x1, y1, x2, y2) rather than encoded deltas. */
export function regDecodedBbox(cfg: BoxLossConfig): boolean {
  return cfg.type === 'GIoULoss';
}

/** Σ over [N, 4] pairs of the configured loss, times lossWeight. */
export function boxLoss(cfg: BoxLossConfig, pred: Tensor, target: Tensor): Tensor {
  return torch.tidy(() => {
    let loss: Tensor;
    switch (cfg.type) {
      case 'L1Loss':
        loss = torch.F.l1Loss(pred, target, { reduction: 'sum' });
        break;
      case 'SmoothL1Loss':
        loss = torch.F.smoothL1Loss(pred, target, { reduction: 'sum', beta: cfg.beta ?? 1 });
        break;
      case 'GIoULoss':
        loss = generalizedIouLoss(pred, target, cfg.eps ?? 1e-6).sum();
        break;
      default:
        throw new Error(`loss_bbox: unknown type ${(cfg as { type: string }).type} (expected L1Loss, SmoothL1Loss or GIoULoss)`);
    }
    return loss.mul(cfg.lossWeight ?? 1);
  });
}

/**
 * The configured loss of predicted deltas [N, 4] for priors [N, 4] against their ground-truth
 * boxes [N, 4]: deltas against the encoded boxes, or, for a loss on decoded boxes (GIoU), the
 * decoded deltas against the boxes themselves.
 */
export function deltaBoxLoss(cfg: BoxLossConfig, coder: DeltaXYWHBBoxCoder, priors: Tensor, deltas: Tensor, gtBoxes: Tensor): Tensor {
  return torch.tidy(() => regDecodedBbox(cfg)
    ? boxLoss(cfg, coder.decode(priors, deltas), gtBoxes)
    : boxLoss(cfg, deltas, coder.encode(priors, gtBoxes)));
}

/** 1 − GIoU of aligned box pairs [N, 4] (x1, y1, x2, y2) → [N]. */
export function generalizedIouLoss(pred: Tensor, target: Tensor, eps = 1e-6): Tensor {
  return torch.tidy(() => {
    const [px1, py1, px2, py2] = pred.unbind(1);
    const [tx1, ty1, tx2, ty2] = target.unbind(1);
    const areaP = px2.sub(px1).mul(py2.sub(py1));
    const areaT = tx2.sub(tx1).mul(ty2.sub(ty1));
    const iw = px2.minimum(tx2).sub(px1.maximum(tx1)).clamp({ min: 0 });
    const ih = py2.minimum(ty2).sub(py1.maximum(ty1)).clamp({ min: 0 });
    const inter = iw.mul(ih);
    const union = areaP.add(areaT).sub(inter).add(eps);
    const iou = inter.div(union);
    const ew = px2.maximum(tx2).sub(px1.minimum(tx1)).clamp({ min: 0 });
    const eh = py2.maximum(ty2).sub(py1.minimum(ty1)).clamp({ min: 0 });
    const enclose = ew.mul(eh).add(eps);
    return iou.sub(enclose.sub(union).div(enclose)).neg().add(1);
  });
}
