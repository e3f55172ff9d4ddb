/** RandomFlip (horizontal), with keypoint left/right swapping. */
import { ensureDecoded } from '../image';
import type { Rng } from '../rng';
import type { FlipPairs, Sample } from '../sample';
import { flipRowsInPlace, flipTargets } from './geometry';
import type { Transform } from './transform';

export interface RandomFlipOptions {
  /** Probability of flipping. */
  prob: number;
  /** Left/right keypoint index pairs to swap (e.g. COCO_FLIP_PAIRS); none for detection. */
  flipPairs?: FlipPairs;
}

export class RandomFlip implements Transform {
  readonly name = 'RandomFlip';
  constructor(private readonly opts: RandomFlipOptions) {
    if (!(opts.prob >= 0 && opts.prob <= 1)) throw new Error(`RandomFlip.prob: expected a number in [0, 1], got ${opts.prob}`);
  }

  async apply(sample: Sample, rng: Rng): Promise<Sample> {
    // Draw even when prob is 0 or 1 so the random stream does not depend on it.
    const flip = rng.next() < this.opts.prob;
    if (!flip) return sample;
    const w = sample.img.width;
    if (sample.pending) sample.pending.flop = !sample.pending.flop;
    else {
      const img = await ensureDecoded(sample);
      if (img.layout === 'hwc') flipRowsInPlace(img.data, img.height, img.width, img.channels);
      else {
        const [rows, cols] = img.planeShape ?? [img.height, img.width];
        for (let c = 0; c < img.channels; c++) flipRowsInPlace(img.data.subarray(c * rows * cols), img.height, img.width, 1, cols);
      }
    }
    const t = sample.targets;
    flipTargets(t, w, this.opts.flipPairs ?? []);
    if (t.segMap) flipRowsInPlace(t.segMap, sample.img.height, w, 1);
    sample.meta.flip = !sample.meta.flip;
    sample.meta.flipDirection = sample.meta.flip ? 'horizontal' : null;
    return sample;
  }
}
