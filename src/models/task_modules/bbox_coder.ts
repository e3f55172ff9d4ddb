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
  /**
   * Float arithmetic of the box centers: 'mmdet' ((x1 + x2) · 0.5, as delta2bbox/bbox2delta)
   * or 'torchvision' (x1 + 0.5 · w, as its BoxCoder). Both are the same formula; the
   * float32 results differ in the last bit, which NMS can turn into a different kept box.
   * Default: 'torchvision' with clampUpperOnly (torchvision's configs), else 'mmdet'.
   */
  arithmetic?: 'mmdet' | 'torchvision';
}

export class DeltaXYWHBBoxCoder {
  readonly means: [number, number, number, number];
  readonly stds: [number, number, number, number];
  readonly maxRatio: number;
  readonly clampUpperOnly: boolean;
  readonly arithmetic: 'mmdet' | 'torchvision';

  constructor(opts: DeltaXYWHCoderOptions = {}) {
    this.means = opts.means ?? [0, 0, 0, 0];
    this.stds = opts.stds ?? [1, 1, 1, 1];
    this.maxRatio = Math.abs(Math.log(opts.whRatioClip ?? 16 / 1000));
    this.clampUpperOnly = opts.clampUpperOnly ?? false;
    this.arithmetic = opts.arithmetic ?? (this.clampUpperOnly ? 'torchvision' : 'mmdet');
  }

  /** Centers and sizes of boxes [N, 4] → [cx, cy, w, h], each [N], in this coder's arithmetic. */
  private centers(boxes: Tensor): [Tensor, Tensor, Tensor, Tensor] {
    const [x1, y1, x2, y2] = boxes.unbind(1);
    const w = x2.sub(x1), h = y2.sub(y1);
    return this.arithmetic === 'mmdet'
      ? [x1.add(x2).mul(0.5), y1.add(y2).mul(0.5), w, h]
      : [x1.add(w.mul(0.5)), y1.add(h.mul(0.5)), w, h];
  }

  /** Regression targets that turn `boxes` into `gtBoxes` (both [N, 4]) → [N, 4]. */
  encode(boxes: Tensor, gtBoxes: Tensor): Tensor {
    return torch.tidy(() => {
      const [px, py, pw, ph] = this.centers(boxes);
      const [gx, gy, gw, gh] = this.centers(gtBoxes);
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
      const [px, py, pw, ph] = this.centers(boxes).map((t) => t.unsqueeze(1));
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
