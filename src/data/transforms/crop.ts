/**
 * RandomCrop (MMDetection semantics, absolute crop size): boxes cropped and clipped, empty ones
 * dropped. With `catMaxRatio` (MMSegmentation's cat_max_ratio), a window whose label map is
 * dominated by one class is drawn again, up to 10 times, as mmseg's RandomCrop does.
 */
import { selectMasks } from '../../structures/masks';
import { ensureDecoded } from '../image';
import type { Rng } from '../rng';
import type { Sample } from '../sample';
import { clipBoxes, cropPlane } from './geometry';
import type { Transform } from './transform';

export interface RandomCropOptions {
  /** Crop [w, h] in pixels (smaller images are cropped to their own size on that axis). */
  cropSize: [number, number];
  /** Keep crops that contain no box (default false: try again, up to 10 times, else no crop). */
  allowNegativeCrop?: boolean;
  /**
   * MMSegmentation's cat_max_ratio (e.g. 0.75; default 1: off): redraw the window while one class
   * covers at least this fraction of its labelled pixels or fewer than two classes are present
   * (the ignore index not counted), at most 10 redraws; the last window is kept either way.
   * Needs a label map (targets.segMap).
   * @exclusiveMinimum 0 @maximum 1
   */
  catMaxRatio?: number;
  /** The label value excluded from catMaxRatio's counts (mmseg's ignore_index, 255). */
  ignoreIndex?: number;
}

export class RandomCrop implements Transform {
  readonly name = 'RandomCrop';
  constructor(private readonly opts: RandomCropOptions) {
    if (!(opts.cropSize[0] > 0 && opts.cropSize[1] > 0)) throw new Error(`RandomCrop.cropSize: expected positive [w, h], got [${opts.cropSize}]`);
    const r = opts.catMaxRatio;
    if (r !== undefined && !(r > 0 && r <= 1)) throw new Error(`RandomCrop.catMaxRatio: expected a number in (0, 1], got ${r}`);
  }

  async apply(sample: Sample, rng: Rng): Promise<Sample> {
    const { width: w, height: h } = sample.img;
    const cw = Math.min(this.opts.cropSize[0], w);
    const ch = Math.min(this.opts.cropSize[1], h);
    const boxes = sample.targets.boxes;
    const seg = sample.targets.segMap;
    const ratio = this.opts.catMaxRatio ?? 1;
    if (ratio < 1) {
      if (!seg) throw new Error(`RandomCrop.catMaxRatio: ${sample.meta.imgPath} has no label map (catMaxRatio is for semantic segmentation)`);
      // mmseg: one window, then up to 10 redraws while it is dominated by one class
      let x0 = rng.int(0, w - cw);
      let y0 = rng.int(0, h - ch);
      for (let attempt = 0; attempt < 10; attempt++) {
        if (!dominated(seg, w, x0, y0, cw, ch, ratio, this.opts.ignoreIndex ?? 255)) break;
        x0 = rng.int(0, w - cw);
        y0 = rng.int(0, h - ch);
      }
      await cropSample(sample, x0, y0, cw, ch, boxes ? keptBoxes(boxes, x0, y0, cw, ch) : []);
      return sample;
    }
    for (let attempt = 0; attempt < 10; attempt++) {
      const x0 = rng.int(0, w - cw);
      const y0 = rng.int(0, h - ch);
      const keep = boxes ? keptBoxes(boxes, x0, y0, cw, ch) : [];
      if (boxes && boxes.length > 0 && keep.length === 0 && !this.opts.allowNegativeCrop) continue;
      await cropSample(sample, x0, y0, cw, ch, keep);
      return sample;
    }
    return sample;
  }
}

/**
 * Whether the window of a label map fails mmseg's cat_max_ratio test: fewer than two classes
 * (ignore excluded), or the largest class count / all counted pixels >= ratio.
 */
export function dominated(seg: Uint8Array, w: number, x0: number, y0: number, cw: number, ch: number, ratio: number, ignore: number): boolean {
  const counts = new Float64Array(256);
  for (let y = y0; y < y0 + ch; y++) for (let x = x0, i = y * w + x0; x < x0 + cw; x++, i++) counts[seg[i]]++;
  counts[ignore] = 0;
  let n = 0, total = 0, max = 0;
  for (const c of counts) {
    if (c === 0) continue;
    n++;
    total += c;
    if (c > max) max = c;
  }
  return !(n > 1 && max / total < ratio);
}

/** Indices of boxes that keep a positive area inside the crop window. */
function keptBoxes(boxes: Float32Array, x0: number, y0: number, cw: number, ch: number): number[] {
  const keep: number[] = [];
  for (let i = 0; i < boxes.length / 4; i++) {
    const x1 = Math.max(boxes[4 * i] - x0, 0), x2 = Math.min(boxes[4 * i + 2] - x0, cw);
    const y1 = Math.max(boxes[4 * i + 1] - y0, 0), y2 = Math.min(boxes[4 * i + 3] - y0, ch);
    if (x2 > x1 && y2 > y1) keep.push(i);
  }
  return keep;
}

/** Crops the image and every target to the window, keeping instances `keep`. */
export async function cropSample(sample: Sample, x0: number, y0: number, cw: number, ch: number, keep: number[]): Promise<void> {
  const img = await ensureDecoded(sample);
  if (img.layout !== 'hwc') throw new Error('RandomCrop: expected an HWC image (crop before Normalize)');
  const w = img.width;
  img.data = cropPlane(img.data, w, 3, x0, y0, cw, ch);
  img.width = cw;
  img.height = ch;
  const t = sample.targets;
  const shift = (a: Float32Array, stride: number) => {
    for (let i = 0; i + 1 < a.length; i += stride) { a[i] -= x0; a[i + 1] -= y0; }
  };
  if (t.boxes) {
    const out = new Float32Array(keep.length * 4);
    keep.forEach((i, k) => out.set(t.boxes!.subarray(4 * i, 4 * i + 4), 4 * k));
    shift(out, 2);
    clipBoxes(out, cw, ch);
    t.boxes = out;
  }
  if (t.labels) t.labels = Int32Array.from(keep, (i) => t.labels![i]);
  if (t.ignoreBoxes) {
    shift(t.ignoreBoxes, 2);
    clipBoxes(t.ignoreBoxes, cw, ch);
  }
  if (t.masks) {
    const m = selectMasks(t.masks, keep);
    if (m.kind === 'polygons') {
      for (const polys of m.polygons) for (const p of polys) shift(p, 2);
      t.masks = { ...m, width: cw, height: ch };
    } else {
      const hw = m.height * m.width;
      const data = new Uint8Array(m.count * cw * ch);
      for (let i = 0; i < m.count; i++) data.set(cropPlane(m.data.subarray(i * hw, (i + 1) * hw), m.width, 1, x0, y0, cw, ch), i * cw * ch);
      t.masks = { ...m, data, width: cw, height: ch };
    }
  }
  if (t.keypoints) {
    const k = t.numKeypoints ?? t.keypoints.length / 3;
    const out = new Float32Array(keep.length * k * 3);
    keep.forEach((i, j) => out.set(t.keypoints!.subarray(i * k * 3, (i + 1) * k * 3), j * k * 3));
    for (let i = 0; i < out.length; i += 3) {
      if (out[i + 2] <= 0) continue;
      out[i] -= x0;
      out[i + 1] -= y0;
      if (out[i] < 0 || out[i] >= cw || out[i + 1] < 0 || out[i + 1] >= ch) out.fill(0, i, i + 3);
    }
    t.keypoints = out;
  }
  if (t.segMap) t.segMap = cropPlane(t.segMap, w, 1, x0, y0, cw, ch);
  sample.meta.imgShape = [ch, cw];
  sample.meta.padShape = [ch, cw];
}
