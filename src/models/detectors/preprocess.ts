/**
 * How images enter a detector when they do not come through the data pipeline (inference on
 * files or tensors): normalize, resize inside the model when the config says so (torchvision's
 * GeneralizedRCNNTransform), pad to the size divisor and batch.
 *
 * Input images are [3, H, W] float32 RGB with values in [0, 1] (torchvision's convention);
 * the config's mean and std are in 0..255 and are divided by 255 here.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { DataPreprocessorConfig } from './build';
import type { DetBatch, DetImageMeta } from './types';

/**
 * The size torchvision's GeneralizedRCNNTransform resizes an h×w image to: the scale
 * min(minSize / min(h, w), maxSize / max(h, w)) computed in float32 (as reciprocal × size), then
 * F.interpolate(scale_factor=scale, recompute_scale_factor=True), which floors
 * dim · scale in double precision.
 */
export function torchvisionResizedSize(h: number, w: number, minSize: number, maxSize: number): [number, number] {
  const f = Math.fround;
  // Python's `800 / t` on a float32 tensor is t.reciprocal() * 800 (Tensor.__rdiv__)
  const scale = Math.min(f(f(1 / Math.min(h, w)) * minSize), f(f(1 / Math.max(h, w)) * maxSize));
  return [Math.floor(h * scale), Math.floor(w * scale)];
}

/**
 * Images ([3, Hi, Wi] float32 RGB in [0, 1], any sizes) → a DetBatch: the model's channel
 * order, per-channel (x - mean) / std (mean and std in that order), bilinear resize
 * (align_corners false, size-derived scales as recompute_scale_factor=True) when
 * `cfg.torchvisionResize` is set, then
 * bottom/right zero padding to a common size divisible by `cfg.padSizeDivisor`.
 */
export function preprocessImages(images: Tensor[], cfg: DataPreprocessorConfig): DetBatch {
  if (images.length === 0) throw new Error('preprocessImages: no images');
  return torch.tidy(() => {
    const metas: DetImageMeta[] = [];
    const resized = images.map((img, i) => {
      if (img.dim() !== 3 || img.size(0) !== 3) throw new Error(`preprocessImages: image ${i} must be [3, H, W], got [${img.shape.join(', ')}]`);
      if (img.dtype !== 'float32') throw new Error(`preprocessImages: image ${i} must be float32 in [0, 1], got ${img.dtype}`);
      const [h, w] = img.shape.slice(1) as [number, number];
      const mean = torch.tensor(cfg.mean.map((m) => m / 255), { device: img.device }).view(3, 1, 1);
      const std = torch.tensor(cfg.std.map((s) => s / 255), { device: img.device }).view(3, 1, 1);
      // mean and std are in the model's channel order (MMDetection normalizes after bgr_to_rgb)
      let x = (cfg.order === 'bgr' ? img.flip([0]) : img).sub(mean).div(std);
      let size: [number, number] = [h, w];
      if (cfg.torchvisionResize) {
        size = torchvisionResizedSize(h, w, cfg.torchvisionResize.minSize, cfg.torchvisionResize.maxSize);
        x = torch.F.interpolate(x.unsqueeze(0), { size, mode: 'bilinear', alignCorners: false }).squeeze(0);
      }
      metas.push({ oriShape: [h, w], imgShape: size, scaleFactor: [size[1] / w, size[0] / h] });
      return x;
    });
    const d = cfg.padSizeDivisor > 0 ? cfg.padSizeDivisor : 1;
    const ph = Math.ceil(Math.max(...metas.map((m) => m.imgShape[0])) / d) * d;
    const pw = Math.ceil(Math.max(...metas.map((m) => m.imgShape[1])) / d) * d;
    const padded = resized.map((x, i) => torch.F.pad(x, [0, pw - metas[i].imgShape[1], 0, ph - metas[i].imgShape[0]]));
    return { images: torch.stack(padded), metas } as DetBatch;
  });
}
