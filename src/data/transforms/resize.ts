/**
 * Resize (MMDetection semantics): keep-ratio to a scale such as (1333, 800), fixed size,
 * a random scale from a list or a range, boxes/masks/keypoints/segmentation maps with it.
 */
import sharp from 'sharp';
import { KERNELS, type Interpolation } from '../image';
import type { Rng } from '../rng';
import type { Sample } from '../sample';
import { resizeNearestCv2, scaleTargets } from './geometry';
import type { Transform } from './transform';

export interface ResizeOptions {
  /** Target scale(s) as [w, h] (MMDetection writes (1333, 800)); one entry = fixed scale. Empty with `scaleFactor`. */
  scales: Array<[number, number]>;
  /**
   * Rescale the image itself by this factor instead of fitting a given scale (mmcv's Resize(scale_factor=f),
   * as mmseg's test-time augmentation uses): the scale is round(w f) x round(h f), fitted as any scale.
   */
  scaleFactor?: number;
  /**
   * With several scales: 'value' picks one of them, 'range' draws the long edge between the
   * largest and smallest long edges and the short edge likewise (mmdet 2.x multiscale_mode).
   */
  multiscaleMode?: 'value' | 'range';
  /** Multiplies the (single) scale by a factor drawn from [lo, hi] (mmdet ratio_range). */
  ratioRange?: [number, number];
  /** Keep the aspect ratio: fit the long side under max(scale) and the short under min(scale). */
  keepRatio?: boolean;
  /** Image interpolation (masks and segmentation maps always use nearest). Default bilinear. */
  interpolation?: Interpolation;
}

/** mmcv's rescale_size: the keep-ratio size of a w x h image for `scale`, and the factor used. */
export function rescaleSize(w: number, h: number, scale: [number, number]): { width: number; height: number; factor: number } {
  const long = Math.max(scale[0], scale[1]);
  const short = Math.min(scale[0], scale[1]);
  const factor = Math.min(long / Math.max(h, w), short / Math.min(h, w));
  return { width: Math.floor(w * factor + 0.5), height: Math.floor(h * factor + 0.5), factor };
}

export class Resize implements Transform {
  readonly name = 'Resize';
  private readonly opts: Required<Omit<ResizeOptions, 'ratioRange' | 'scaleFactor'>> & Pick<ResizeOptions, 'ratioRange' | 'scaleFactor'>;

  constructor(opts: ResizeOptions) {
    if (opts.scaleFactor !== undefined) {
      if (!(Number.isFinite(opts.scaleFactor) && opts.scaleFactor > 0)) throw new Error(`Resize.scaleFactor: expected a positive number, got ${opts.scaleFactor}`);
      if (opts.scales.length > 0 || opts.ratioRange) throw new Error('Resize: give either scaleFactor or scales (and ratioRange), not both');
    } else if (opts.scales.length === 0 || opts.scales.some((s) => s.length !== 2 || !(s[0] > 0 && s[1] > 0))) {
      throw new Error(`Resize.scales: expected positive [w, h] pairs, got ${JSON.stringify(opts.scales)}`);
    }
    // a key given as undefined takes its default too
    this.opts = { ...opts, multiscaleMode: opts.multiscaleMode ?? 'value', keepRatio: opts.keepRatio ?? true, interpolation: opts.interpolation ?? 'bilinear' };
  }

  /** The [w, h] scale for this sample. */
  chooseScale(rng: Rng): [number, number] {
    const { scales, multiscaleMode, ratioRange } = this.opts;
    if (ratioRange) {
      const r = rng.uniform(ratioRange[0], ratioRange[1]);
      return [Math.round(scales[0][0] * r), Math.round(scales[0][1] * r)];
    }
    if (scales.length === 1) return scales[0];
    if (multiscaleMode === 'value') return rng.choice(scales);
    const longs = scales.map((s) => Math.max(...s));
    const shorts = scales.map((s) => Math.min(...s));
    return [rng.int(Math.min(...longs), Math.max(...longs)), rng.int(Math.min(...shorts), Math.max(...shorts))];
  }

  async apply(sample: Sample, rng: Rng): Promise<Sample> {
    const { img } = sample;
    const f = this.opts.scaleFactor;
    // mmcv: the scale of a factor is round(w f) x round(h f), then fitted keeping the ratio like any scale
    const scale: [number, number] = f !== undefined ? [Math.floor(img.width * f + 0.5), Math.floor(img.height * f + 0.5)] : this.chooseScale(rng);
    const { width: nw, height: nh } = this.opts.keepRatio ? rescaleSize(img.width, img.height, scale) : { width: scale[0], height: scale[1] };
    const [h0, w0] = [img.height, img.width];
    const sx = nw / w0;
    const sy = nh / h0;
    await resizeImage(sample, nw, nh, this.opts.interpolation);
    scaleTargets(sample.targets, sx, sy, nw, nh);
    const t = sample.targets;
    // label maps as mmseg resizes them: OpenCV's INTER_NEAREST
    if (t.segMap) t.segMap = resizeNearestCv2(t.segMap, h0, w0, nh, nw);
    const m = sample.meta;
    m.imgShape = [nh, nw];
    m.padShape = [nh, nw];
    m.scaleFactor = [nw / m.oriShape[1], nh / m.oriShape[0]];
    return sample;
  }
}

/** Resizes the sample's image to nw x nh: recorded on a pending decode, else done by libvips. */
async function resizeImage(sample: Sample, nw: number, nh: number, interpolation: Interpolation): Promise<void> {
  const img = sample.img;
  if (sample.pending) {
    // Later flips are applied after the resize in one pipeline; a resize after a flip is
    // the same image either way.
    sample.pending.resize = [nw, nh];
    sample.pending.interpolation = interpolation;
  } else {
    if (!(img.data instanceof Uint8Array) || img.layout !== 'hwc') {
      throw new Error(`Resize: expected a uint8 HWC image (Resize goes before Normalize), got ${img.layout} ${img.data.constructor.name}`);
    }
    const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .resize(nw, nh, { fit: 'fill', kernel: KERNELS[interpolation] })
      .raw()
      .toBuffer();
    img.data = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength).slice();
  }
  img.width = nw;
  img.height = nh;
}
