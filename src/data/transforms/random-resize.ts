/**
 * RandomResize (MMCV 2.x / MMSegmentation's training resize): the scale is `scale` times a ratio
 * drawn uniformly from `ratioRange`, truncated to integers as mmcv's `int(scale * ratio)`; the
 * image is then resized to it as Resize does (keep ratio: fit under the long and short sides;
 * label maps nearest).
 */
import type { Rng } from '../rng';
import type { Sample } from '../sample';
import type { Interpolation } from '../image';
import { Resize } from './resize';
import type { Transform } from './transform';

export interface RandomResizeOptions {
  /** Base scale [w, h] (mmseg's (2048, 1024) for Cityscapes, (2048, 512) for ADE20K and VOC). */
  scale: [number, number];
  /** [lo, hi] of the ratio (mmseg: [0.5, 2.0]). */
  ratioRange: [number, number];
  /** Keep the aspect ratio (mmseg's configs: true). */
  keepRatio: boolean;
  /** Image interpolation (label maps always nearest). Default bilinear. */
  interpolation?: Interpolation;
}

export class RandomResize implements Transform {
  readonly name = 'RandomResize';
  constructor(private readonly opts: RandomResizeOptions) {
    const { scale, ratioRange: [lo, hi] } = opts;
    if (!(scale[0] > 0 && scale[1] > 0)) throw new Error(`RandomResize.scale: expected positive [w, h], got [${scale}]`);
    if (!(lo > 0 && lo <= hi)) throw new Error(`RandomResize.ratioRange: expected 0 < lo <= hi, got [${opts.ratioRange}]`);
  }

  /** The [w, h] scale for a ratio (mmcv's _random_sample_ratio after the draw). */
  scaleFor(ratio: number): [number, number] {
    return [Math.trunc(this.opts.scale[0] * ratio), Math.trunc(this.opts.scale[1] * ratio)];
  }

  apply(sample: Sample, rng: Rng): Promise<Sample> {
    const [lo, hi] = this.opts.ratioRange;
    const scale = this.scaleFor(rng.uniform(lo, hi));
    return new Resize({ scales: [scale], keepRatio: this.opts.keepRatio, interpolation: this.opts.interpolation }).apply(sample, rng);
  }
}
