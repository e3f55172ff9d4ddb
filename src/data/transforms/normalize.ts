/**
 * Normalize: (pixel - mean) / std per channel, written once as planar CHW float32 (the layout
 * the model takes), in the channel order the model was trained with.
 */
import { decodeOriginal, ensureDecoded, resizeNormalizeChw } from '../image';
import type { Sample } from '../sample';
import type { Transform } from './transform';

export interface NormalizeOptions {
  /** Per-channel mean, in `order`. */
  mean: [number, number, number];
  /** Per-channel std, in `order`. */
  std: [number, number, number];
  /**
   * Channel order of the output (and of mean/std). mmcv's `to_rgb=True` on its BGR-loaded
   * images is order 'rgb'; `to_rgb=False` is 'bgr'. The decoded image's own order is tracked,
   * so the swap costs nothing.
   */
  order: 'rgb' | 'bgr';
}

/** torchvision / pytorch-style weights: RGB, ImageNet mean and std. */
export const NORMALIZE_PYTORCH: NormalizeOptions = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], order: 'rgb' };
/** caffe-style (Detectron) weights: BGR, mean subtraction only. */
export const NORMALIZE_CAFFE: NormalizeOptions = { mean: [103.53, 116.28, 123.675], std: [1, 1, 1], order: 'bgr' };

export class Normalize implements Transform {
  readonly name = 'Normalize';
  constructor(private readonly opts: NormalizeOptions) {
    if (opts.std.some((s) => !(s > 0))) throw new Error(`Normalize.std: expected positive numbers, got [${opts.std}]`);
  }

  async apply(sample: Sample): Promise<Sample> {
    const { mean, std, order } = this.opts;
    const p = sample.pending;
    // Fast path: a pending Resize (not a strong shrink, where libvips' shrink-on-load wins)
    // and flip are done here in one pass with OpenCV's bilinear semantics, as mmcv does.
    if (p && p.interpolation === 'bilinear') {
      const raw = await decodeOriginal(p, sample.img.order);
      const [nw, nh] = p.resize ?? [raw.width, raw.height];
      if (nw >= raw.width / 2 && nh >= raw.height / 2) {
        const srcChannel = raw.order === order ? [0, 1, 2] : [2, 1, 0];
        const data = resizeNormalizeChw(raw.data as Uint8Array, raw.width, raw.height, nw, nh, p.flop, mean, std, srcChannel);
        sample.pending = undefined;
        sample.img = { data, height: nh, width: nw, channels: 3, layout: 'chw', order };
        return sample;
      }
    }
    const img = await ensureDecoded(sample);
    if (img.layout !== 'hwc') throw new Error('Normalize: image is already normalized (CHW)');
    const hw = img.height * img.width;
    const out = new Float32Array(3 * hw);
    const src = img.data;
    for (let c = 0; c < 3; c++) {
      // Output channel c reads source channel c, or 2 - c when the orders differ.
      const sc = img.order === order ? c : 2 - c;
      const m = mean[c];
      const inv = 1 / std[c];
      const plane = c * hw;
      for (let i = 0, j = sc; i < hw; i++, j += 3) out[plane + i] = (src[j] - m) * inv;
    }
    sample.img = { data: out, height: img.height, width: img.width, channels: 3, layout: 'chw', order };
    return sample;
  }
}
