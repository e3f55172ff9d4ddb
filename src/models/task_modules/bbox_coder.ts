/**
 * Delta (dx, dy, dw, dh) box coding (R-CNN parameterization), as MMDetection's
 * DeltaXYWHBBoxCoder and torchvision's BoxCoder (weights = 1 / stds, means 0).
 *
 * Boxes are [N, 4] (x1, y1, x2, y2); deltas [N, 4] or [N, 4k] (k boxes per row).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';

export interface DeltaXYWHCoderOptions {
  /** Mean subtracted from targets (MMDetection: target_means). */
  means?: [number, number, number, number];
  /** Std the targets are divided by (MMDetection: target_stds; torchvision weights = 1/std). */
  stds?: [number, number, number, number];
  /** Clamp |dw|, |dh| at log(1 / whRatioClip) when decoding (MMDetection: 16/1000). */
  whRatioClip?: number;
  /** Clamp dw, dh only from above (torchvision's bbox_xform_clip) instead of symmetrically. */
  clampUpperOnly?: boolean;
}

export class DeltaXYWHBBoxCoder {
  readonly means: [number, number, number, number];
  readonly stds: [number, number, number, number];
  readonly maxRatio: number;
  readonly clampUpperOnly: boolean;

  constructor(opts: DeltaXYWHCoderOptions = {}) {
    this.means = opts.means ?? [0, 0, 0, 0];
    this.stds = opts.stds ?? [1, 1, 1, 1];
    this.maxRatio = Math.abs(Math.log(opts.whRatioClip ?? 16 / 1000));
    this.clampUpperOnly = opts.clampUpperOnly ?? false;
  }

  /** Regression targets that turn `boxes` into `gtBoxes` (both [N, 4]) → [N, 4]. */
  encode(boxes: Tensor, gtBoxes: Tensor): Tensor {
    return torch.tidy(() => {
      const [px1, py1, px2, py2] = boxes.unbind(1);
      const [gx1, gy1, gx2, gy2] = gtBoxes.unbind(1);
      const pw = px2.sub(px1), ph = py2.sub(py1);
      const px = px1.add(pw.mul(0.5)), py = py1.add(ph.mul(0.5));
      const gw = gx2.sub(gx1), gh = gy2.sub(gy1);
      const gx = gx1.add(gw.mul(0.5)), gy = gy1.add(gh.mul(0.5));
      const deltas = torch.stack([gx.sub(px).div(pw), gy.sub(py).div(ph), gw.div(pw).log(), gh.div(ph).log()], 1);
      return deltas.sub(torch.tensor(this.means, { device: boxes.device })).div(torch.tensor(this.stds, { device: boxes.device }));
    });
  }

  /**
   * Applies deltas ([N, 4k]) to boxes ([N, 4]) → [N, 4k]; clips to maxShape [h, w]
   * (the unpadded image size) when given.
   */
  decode(boxes: Tensor, deltas: Tensor, maxShape?: [number, number]): Tensor {
    return torch.tidy(() => {
      const n = deltas.size(0);
      const k = deltas.size(1) / 4;
      const d = deltas.view(n, k, 4);
      const stds = torch.tensor(this.stds, { device: deltas.device });
      const means = torch.tensor(this.means, { device: deltas.device });
      const dn = d.mul(stds).add(means);
      const dx = dn.select(2, 0), dy = dn.select(2, 1);
      let dw = dn.select(2, 2), dh = dn.select(2, 3);
      const lo = this.clampUpperOnly ? null : -this.maxRatio;
      dw = dw.clamp({ min: lo, max: this.maxRatio });
      dh = dh.clamp({ min: lo, max: this.maxRatio });
      const [px1, py1, px2, py2] = boxes.unbind(1);
      const pw = px2.sub(px1).unsqueeze(1), ph = py2.sub(py1).unsqueeze(1);
      const px = px1.unsqueeze(1).add(pw.mul(0.5)), py = py1.unsqueeze(1).add(ph.mul(0.5));
      const gx = px.add(pw.mul(dx)), gy = py.add(ph.mul(dy));
      const gw = pw.mul(dw.exp()), gh = ph.mul(dh.exp());
      let x1 = gx.sub(gw.mul(0.5)), y1 = gy.sub(gh.mul(0.5)), x2 = gx.add(gw.mul(0.5)), y2 = gy.add(gh.mul(0.5));
      if (maxShape) {
        const [h, w] = maxShape;
        x1 = x1.clamp({ min: 0, max: w });
        x2 = x2.clamp({ min: 0, max: w });
        y1 = y1.clamp({ min: 0, max: h });
        y2 = y2.clamp({ min: 0, max: h });
      }
      return torch.stack([x1, y1, x2, y2], 2).view(n, k * 4);
    });
  }
}
