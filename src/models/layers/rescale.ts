/**
 * Boxes from resized-image pixels back to original-image pixels, as MMDetection's
 * `scale_boxes(boxes, [1 / s for s in scale_factor])`: multiplied by the float32 reciprocal
 * of the scale factor (not divided by it: the last bit differs, and NMS runs after this).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { DetImageMeta } from '../detectors/types';

/** Boxes [K, 4k] (x1, y1, x2, y2 repeated) in resized pixels → original pixels. */
export function rescaleToOriginal(boxes: Tensor, meta: DetImageMeta): Tensor {
  const [sx, sy] = meta.scaleFactor;
  return torch.tidy(() => {
    const k = boxes.size(-1) / 2;
    const factor = torch.tensor(Array.from({ length: k }, () => [1 / sx, 1 / sy]).flat(), { device: boxes.device });
    return boxes.mul(factor);
  });
}
