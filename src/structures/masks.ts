/**
 * Instance masks in the three forms COCO and MMDetection use, and conversions between them.
 *
 *   Polygon:  Float32Array [x1, y1, x2, y2, ...] in absolute pixel coordinates (continuous:
 *             pixel (i, j) covers [i, i+1) x [j, j+1)); one instance may have several polygons.
 *   RLE:      COCO run-length encoding over the column-major (Fortran-order) bitmap, counts
 *             alternating zeros and ones starting with zeros; `counts` uncompressed (number[])
 *             or compressed (COCO's string encoding).
 *   Bitmap:   Uint8Array [H*W] row-major, 1 inside, 0 outside.
 */
import { rleFromString } from '../evaluation/coco/mask';

/** One instance's polygons. */
export type Polygons = Float32Array[];

/** COCO run-length encoding. `size` is [height, width] as COCO writes it. */
export interface Rle {
  size: [number, number];
  counts: number[] | string;
}

/** Masks of N instances on an H x W image, either as polygons or as bitmaps. */
export type InstanceMasks =
  | { kind: 'polygons'; height: number; width: number; polygons: Polygons[] }
  | { kind: 'bitmaps'; height: number; width: number; /** [N*H*W] row-major */ data: Uint8Array; count: number };

/** Number of instances in `masks`. */
export function maskCount(masks: InstanceMasks): number {
  return masks.kind === 'polygons' ? masks.polygons.length : masks.count;
}

/** Shoelace area of one polygon (absolute value). */
export function polygonArea(poly: ArrayLike<number>): number {
  let s = 0;
  const n = poly.length >> 1;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    s += poly[2 * i] * poly[2 * j + 1] - poly[2 * j] * poly[2 * i + 1];
  }
  return Math.abs(s) / 2;
}

/** Tight xyxy box around all points of the polygons; [0,0,0,0] for none. */
export function polygonsBox(polys: ArrayLike<number>[]): [number, number, number, number] {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (const p of polys) {
    for (let i = 0; i + 1 < p.length; i += 2) {
      x1 = Math.min(x1, p[i]); x2 = Math.max(x2, p[i]);
      y1 = Math.min(y1, p[i + 1]); y2 = Math.max(y2, p[i + 1]);
    }
  }
  return x1 === Infinity ? [0, 0, 0, 0] : [x1, y1, x2, y2];
}

/**
 * Fills `polys` into `out` ([H*W] row-major) with `value`, even-odd rule: a pixel is inside
 * when its centre is. `out` is written in place and returned.
 */
export function rasterizePolygons(polys: ArrayLike<number>[], height: number, width: number, out = new Uint8Array(height * width), value = 1): Uint8Array {
  const xs: number[] = [];
  for (let y = 0; y < height; y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (const p of polys) {
      const n = p.length >> 1;
      for (let i = 0; i < n; i++) {
        const j = (i + 1) % n;
        const ay = p[2 * i + 1], by = p[2 * j + 1];
        if ((ay <= cy && by > cy) || (by <= cy && ay > cy)) {
          const ax = p[2 * i], bx = p[2 * j];
          xs.push(ax + ((cy - ay) / (by - ay)) * (bx - ax));
        }
      }
    }
    if (xs.length < 2) continue;
    xs.sort((a, b) => a - b);
    const row = y * width;
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const from = Math.max(0, Math.ceil(xs[k] - 0.5));
      const to = Math.min(width, Math.ceil(xs[k + 1] - 0.5));
      if (to > from) out.fill(value, row + from, row + to);
    }
  }
  return out;
}

/** Encodes a row-major bitmap [H*W] as uncompressed COCO RLE (column-major runs). */
export function encodeRle(bitmap: Uint8Array, height: number, width: number): Rle {
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = bitmap[y * width + x] ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        run = 0;
        current = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

/** Decodes an RLE (either form) into a row-major bitmap [H*W]; throws if the runs do not cover H*W. */
export function decodeRle(rle: Rle): Uint8Array {
  const [height, width] = rle.size;
  // compressed strings are decoded by the evaluation's codec (pycocotools' rleFrString)
  const counts = typeof rle.counts === 'string' ? rleFromString(rle.counts, height, width).counts : rle.counts;
  const out = new Uint8Array(height * width);
  let pos = 0;
  let value = 0;
  for (const run of counts) {
    if (run < 0 || pos + run > height * width) throw new Error(`RLE runs exceed its size ${height}x${width}`);
    if (value) {
      for (let k = pos; k < pos + run; k++) {
        const x = Math.floor(k / height);
        const y = k - x * height;
        out[y * width + x] = 1;
      }
    }
    pos += run;
    value ^= 1;
  }
  if (pos !== height * width) throw new Error(`RLE runs cover ${pos} pixels, expected ${height}x${width}=${height * width}`);
  return out;
}

/** Converts masks to bitmaps (polygons are rasterized); bitmaps are returned as they are. */
export function toBitmaps(masks: InstanceMasks): Extract<InstanceMasks, { kind: 'bitmaps' }> {
  if (masks.kind === 'bitmaps') return masks;
  const { height, width } = masks;
  const hw = height * width;
  const data = new Uint8Array(masks.polygons.length * hw);
  masks.polygons.forEach((polys, i) => rasterizePolygons(polys, height, width, data.subarray(i * hw, (i + 1) * hw)));
  return { kind: 'bitmaps', height, width, data, count: masks.polygons.length };
}

/** Keeps the instances whose index is in `keep`, in that order. */
export function selectMasks(masks: InstanceMasks, keep: readonly number[]): InstanceMasks {
  if (masks.kind === 'polygons') return { ...masks, polygons: keep.map((i) => masks.polygons[i]) };
  const hw = masks.height * masks.width;
  const data = new Uint8Array(keep.length * hw);
  keep.forEach((i, k) => data.set(masks.data.subarray(i * hw, (i + 1) * hw), k * hw));
  return { ...masks, data, count: keep.length };
}

/** Tight xyxy box of each bitmap mask (continuous coordinates); zeros for empty masks. [N*4] */
export function bitmapBoxes(masks: Extract<InstanceMasks, { kind: 'bitmaps' }>): Float32Array {
  const { height, width, count, data } = masks;
  const out = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) {
    let x1 = width, y1 = height, x2 = -1, y2 = -1;
    const base = i * height * width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (data[base + y * width + x]) {
          if (x < x1) x1 = x;
          if (x > x2) x2 = x;
          if (y < y1) y1 = y;
          y2 = y;
        }
      }
    }
    if (x2 >= 0) out.set([x1, y1, x2 + 1, y2 + 1], i * 4);
  }
  return out;
}
