/**
 * Normalize: (pixel - mean) / std per channel, written once as planar CHW float32 (the layout
 * the model takes), in the channel order the model was trained with.
 */
import { ensureDecoded } from '../image';
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
    const img = await ensureDecoded(sample);
    if (img.layout !== 'hwc') throw new Error('Normalize: image is already normalized (CHW)');
    const { mean, std, order } = this.opts;
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
