/**
 * MMPose 1.x's KeypointMSELoss: mean squared error between predicted and target heatmaps, each keypoint's
 * channel weighted by its target weight when useTargetWeight (mean over all N·K·h·w elements either way).
 *
 * Shapes: pred, target [N, K, h, w]; weights [N, K].
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';

export interface KeypointMSELossConfig {
  type: 'KeypointMSELoss';
  /** Weight each channel by its keypoint's target weight (mmpose default false; the pose configs set true). */
  useTargetWeight?: boolean;
  /** Skip channels whose target is all zeros (mmpose's skip_empty_channel, default false). */
  skipEmptyChannel?: boolean;
  /** Multiplier of the loss (1). */
  lossWeight?: number;
}

export class KeypointMSELoss {
  readonly useTargetWeight: boolean;
  readonly skipEmptyChannel: boolean;
  readonly lossWeight: number;

  constructor(cfg: Omit<KeypointMSELossConfig, 'type'> = {}) {
    this.useTargetWeight = cfg.useTargetWeight ?? false;
    this.skipEmptyChannel = cfg.skipEmptyChannel ?? false;
    this.lossWeight = cfg.lossWeight ?? 1;
  }

  /** pred, target [N, K, h, w], weights [N, K] → scalar loss. */
  forward(pred: Tensor, target: Tensor, weights?: Tensor): Tensor {
    return torch.tidy(() => {
      const [n, k] = target.shape;
      let mask: Tensor | null = null;
      if (this.useTargetWeight && weights) {
        if (weights.dim() !== 2 || weights.shape[0] !== n || weights.shape[1] !== k) {
          throw new Error(`KeypointMSELoss: target weights must be [N, K] = [${n}, ${k}], got [${weights.shape}]`);
        }
        mask = weights.reshape([n, k, 1, 1]);
      }
      if (this.skipEmptyChannel) {
        const nonEmpty = target.ne(0).flatten(2).any({ dim: 2 }).to('float32').reshape([n, k, 1, 1]);
        mask = mask ? mask.mul(nonEmpty) : nonEmpty;
      }
      const loss = mask ? torch.F.mseLoss(pred, target, { reduction: 'none' }).mul(mask).mean() : torch.F.mseLoss(pred, target);
      return loss.mul(this.lossWeight);
    });
  }
}
