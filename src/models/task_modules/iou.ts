/** Box overlaps (MMDetection's bbox_overlaps). Boxes are [N, 4] (x1, y1, x2, y2). */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';

/**
 * Pairwise overlaps [N, M] between boxes a [N, 4] and b [M, 4]: 'iou' = inter / union,
 * 'iof' = inter / area(a) (intersection over foreground). Unions are clamped at eps.
 */
export function bboxOverlaps(a: Tensor, b: Tensor, opts: { mode?: 'iou' | 'iof'; eps?: number } = {}): Tensor {
  const mode = opts.mode ?? 'iou';
  const eps = opts.eps ?? 1e-6;
  return torch.tidy(() => {
    const area = (t: Tensor) => t.select(1, 2).sub(t.select(1, 0)).mul(t.select(1, 3).sub(t.select(1, 1)));
    const areaA = area(a);
    const lt = a.slice(1, 0, 2).unsqueeze(1).maximum(b.slice(1, 0, 2).unsqueeze(0)); // [N, M, 2]
    const rb = a.slice(1, 2, 4).unsqueeze(1).minimum(b.slice(1, 2, 4).unsqueeze(0));
    const wh = rb.sub(lt).clamp({ min: 0 });
    const inter = wh.select(2, 0).mul(wh.select(2, 1));
    const denom = mode === 'iou' ? areaA.unsqueeze(1).add(area(b).unsqueeze(0)).sub(inter) : areaA.unsqueeze(1).expandAs(inter);
    return inter.div(denom.clamp({ min: eps }));
  });
}
