/**
 * Pad bottom/right to a size divisor (32) or a fixed size. The image is padded virtually:
 * Pad records pad_shape and the value, and collate writes the padded batch buffer once
 * (padding each image here would copy every pixel again). Segmentation maps (with 255) and
 * bitmap masks (with 0) are padded for real.
 */
import type { Sample } from '../sample';
import { padPlane } from './geometry';
import type { Transform } from './transform';

export interface PadOptions {
  /** Pad height and width up to multiples of this (e.g. 32). */
  sizeDivisor?: number;
  /** Or pad to this fixed [w, h]. */
  size?: [number, number];
  /** Image pad value, in the image's current units (0 after Normalize, as MMDetection). */
  padValue?: number;
  /** Segmentation-map pad value (the ignore index). */
  segPadValue?: number;
}

export class Pad implements Transform {
  readonly name = 'Pad';
  constructor(private readonly opts: PadOptions) {
    if (!opts.sizeDivisor === !opts.size) throw new Error('Pad: give exactly one of sizeDivisor and size');
  }

  /** The image pad value. */
  get padValue(): number {
    return this.opts.padValue ?? 0;
  }

  /** [h, w] padded shape of an h x w image. */
  padShape(h: number, w: number): [number, number] {
    const { sizeDivisor: d, size } = this.opts;
    if (size) {
      if (size[0] < w || size[1] < h) throw new Error(`Pad.size [${size}] is smaller than the image (${w}x${h})`);
      return [size[1], size[0]];
    }
    return [Math.ceil(h / d!) * d!, Math.ceil(w / d!) * d!];
  }

  apply(sample: Sample): Sample {
    const { height: h, width: w } = sample.img;
    const [ph, pw] = this.padShape(h, w);
    const t = sample.targets;
    if (t.segMap) t.segMap = padPlane(t.segMap, h, w, ph, pw, this.opts.segPadValue ?? 255);
    if (t.masks?.kind === 'bitmaps') {
      const m = t.masks;
      const data = new Uint8Array(m.count * ph * pw);
      for (let i = 0; i < m.count; i++) data.set(padPlane(m.data.subarray(i * h * w, (i + 1) * h * w), h, w, ph, pw, 0), i * ph * pw);
      t.masks = { ...m, data, height: ph, width: pw };
    }
    sample.meta.padShape = [ph, pw];
    sample.meta.padValue = this.padValue;
    return sample;
  }
}

/** Materializes the recorded padding of a sample's image (for visualization and tests). */
export function paddedImage(sample: Sample): Float32Array | Uint8Array {
  const img = sample.img;
  const [ph, pw] = sample.meta.padShape;
  const value = sample.meta.padValue ?? 0;
  const out = new (img.data instanceof Float32Array ? Float32Array : Uint8Array)(ph * pw * img.channels).fill(value);
  const [rows, cols] = img.planeShape ?? [img.height, img.width];
  for (let c = 0; c < img.channels; c++) {
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const src = img.layout === 'hwc' ? (y * img.width + x) * img.channels + c : (c * rows + y) * cols + x;
        const dst = img.layout === 'hwc' ? (y * pw + x) * img.channels + c : (c * ph + y) * pw + x;
        out[dst] = img.data[src];
      }
    }
  }
  return out;
}
