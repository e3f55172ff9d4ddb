/**
 * Normalize: (pixel - mean) / std per channel, written once as planar CHW float32 (the layout
 * the model takes), in the channel order the model was trained with.
 */
import { decodeOriginal, ensureDecoded } from '../image';
import { resizeNormalizeChw } from '../image-kernels';
import type { Sample } from '../sample';
import type { Pad } from './pad';
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

  apply(sample: Sample): Promise<Sample> {
    return this.normalize(sample);
  }

  /**
   * Writes the normalized CHW image in one native pass. A pending bilinear Resize (not a
   * strong shrink, where libvips' shrink-on-load wins) and flip are done in the same pass
   * with OpenCV's bilinear semantics, as mmcv does. With `pad` (a Pad right after this
   * Normalize), the planes are written already padded to Pad's shape and value.
   */
  async normalize(sample: Sample, pad?: Pad): Promise<Sample> {
    const { mean, std, order } = this.opts;
    const p = sample.pending;
    const [oh, ow] = sample.meta.oriShape;
    const [rw, rh] = p?.resize ?? [ow, oh];
    const fused = p !== undefined && p.interpolation === 'bilinear' && rw >= ow / 2 && rh >= oh / 2;
    const img = fused ? await decodeOriginal(p, sample.img.order) : await ensureDecoded(sample);
    if (img.layout !== 'hwc') throw new Error('Normalize: image is already normalized (CHW)');
    if (!(img.data instanceof Uint8Array)) throw new Error('Normalize: expected a uint8 HWC image');
    const [nw, nh] = fused ? (p.resize ?? [img.width, img.height]) : [img.width, img.height];
    const [rows, cols] = pad ? pad.padShape(nh, nw) : [nh, nw];
    const data = resizeNormalizeChw(img.data, img.width, img.height, nw, nh, {
      flop: fused && p.flop, mean, std, srcChannel: img.order === order ? [0, 1, 2] : [2, 1, 0], planeShape: [rows, cols], padValue: pad?.padValue,
    });
    sample.pending = undefined;
    sample.img = { data, height: nh, width: nw, channels: 3, layout: 'chw', order };
    if (rows !== nh || cols !== nw) sample.img.planeShape = [rows, cols];
    return sample;
  }
}

/** Normalize followed by Pad, fused by Compose: the padded planes are written once. */
export class NormalizePad implements Transform {
  readonly name = 'Normalize+Pad';
  constructor(readonly normalize: Normalize, readonly pad: Pad) {}
  async apply(sample: Sample): Promise<Sample> {
    return this.pad.apply(await this.normalize.normalize(sample, this.pad));
  }
}
