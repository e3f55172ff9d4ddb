/**
 * Geometry shared by transforms: scaling, flipping, cropping and padding of the
 * non-image targets (boxes, masks, keypoints, segmentation maps) and of raw planes.
 */
import type { InstanceMasks } from '../../structures/masks';
import type { FlipPairs, SampleTargets } from '../sample';

/** Nearest-neighbour resize of an interleaved uint8 image [h*w*c] to [nh*nw*c] (centre-aligned). */
export function resizeNearest(src: Uint8Array, h: number, w: number, c: number, nh: number, nw: number): Uint8Array {
  const out = new Uint8Array(nh * nw * c);
  const xs = new Int32Array(nw);
  for (let x = 0; x < nw; x++) xs[x] = Math.min(w - 1, Math.floor(((x + 0.5) * w) / nw));
  for (let y = 0; y < nh; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / nh));
    const srow = sy * w * c;
    const drow = y * nw * c;
    for (let x = 0; x < nw; x++) {
      for (let k = 0; k < c; k++) out[drow + x * c + k] = src[srow + xs[x] * c + k];
    }
  }
  return out;
}

/**
 * Nearest-neighbour resize of a single-channel uint8 map [h*w] to [nh*nw] as OpenCV's
 * INTER_NEAREST (mmcv's imresize/imrescale with interpolation 'nearest', which mmseg's Resize
 * uses for label maps): source index floor(x * w / nw), not centre-aligned.
 */
export function resizeNearestCv2(src: Uint8Array, h: number, w: number, nh: number, nw: number): Uint8Array {
  const out = new Uint8Array(nh * nw);
  // OpenCV's resizeNN: ifx = 1 / inv_scale_x with inv_scale_x = dst / src, in doubles, so the
  // floor falls on the same side as OpenCV's at exact multiples
  const ifx = 1 / (nw / w), ify = 1 / (nh / h);
  const xs = new Int32Array(nw);
  for (let x = 0; x < nw; x++) xs[x] = Math.min(w - 1, Math.floor(x * ifx));
  for (let y = 0; y < nh; y++) {
    const srow = Math.min(h - 1, Math.floor(y * ify)) * w;
    const drow = y * nw;
    for (let x = 0; x < nw; x++) out[drow + x] = src[srow + xs[x]];
  }
  return out;
}

/** Mirrors an interleaved image [h*w*c] left-right in place (rows `rowStride` values apart). */
export function flipRowsInPlace(data: Uint8Array | Float32Array, h: number, w: number, c: number, rowStride = w * c): void {
  for (let y = 0; y < h; y++) {
    const row = y * rowStride;
    for (let a = 0, b = w - 1; a < b; a++, b--) {
      for (let k = 0; k < c; k++) {
        const i = row + a * c + k, j = row + b * c + k;
        const t = data[i];
        data[i] = data[j];
        data[j] = t;
      }
    }
  }
}

/** Copies the window [x0, x0+cw) x [y0, y0+ch) of an interleaved image [h*w*c]. */
export function cropPlane<T extends Uint8Array | Float32Array>(src: T, w: number, c: number, x0: number, y0: number, cw: number, ch: number): T {
  const out = new (src.constructor as { new (n: number): T })(cw * ch * c);
  for (let y = 0; y < ch; y++) out.set(src.subarray(((y0 + y) * w + x0) * c, ((y0 + y) * w + x0 + cw) * c), y * cw * c);
  return out;
}

/** Pads a single-channel plane [h*w] to [ph*pw] at the bottom/right with `value`. */
export function padPlane(src: Uint8Array, h: number, w: number, ph: number, pw: number, value: number): Uint8Array {
  const out = new Uint8Array(ph * pw).fill(value);
  for (let y = 0; y < h; y++) out.set(src.subarray(y * w, (y + 1) * w), y * pw);
  return out;
}

/** Clips xyxy boxes [N*4] to [0, w] x [0, h] in place. */
export function clipBoxes(boxes: Float32Array, w: number, h: number): void {
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] = Math.min(Math.max(boxes[i], 0), w);
    boxes[i + 1] = Math.min(Math.max(boxes[i + 1], 0), h);
    boxes[i + 2] = Math.min(Math.max(boxes[i + 2], 0), w);
    boxes[i + 3] = Math.min(Math.max(boxes[i + 3], 0), h);
  }
}

function scaleXY(a: Float32Array, sx: number, sy: number, stride: number): void {
  for (let i = 0; i + 1 < a.length; i += stride) {
    a[i] *= sx;
    a[i + 1] *= sy;
  }
}

/** Scales all targets by (sx, sy) onto a new nw x nh image; boxes are clipped to it. */
export function scaleTargets(t: SampleTargets, sx: number, sy: number, nw: number, nh: number): void {
  for (const boxes of [t.boxes, t.ignoreBoxes]) {
    if (!boxes) continue;
    scaleXY(boxes, sx, sy, 2);
    clipBoxes(boxes, nw, nh);
  }
  if (t.keypoints) scaleXY(t.keypoints, sx, sy, 3);
  if (t.masks) t.masks = scaleMasks(t.masks, sx, sy, nw, nh);
}

function scaleMasks(m: InstanceMasks, sx: number, sy: number, nw: number, nh: number): InstanceMasks {
  if (m.kind === 'polygons') {
    for (const polys of m.polygons) for (const p of polys) scaleXY(p, sx, sy, 2);
    return { ...m, width: nw, height: nh };
  }
  const hw = m.height * m.width;
  const data = new Uint8Array(m.count * nw * nh);
  for (let i = 0; i < m.count; i++) data.set(resizeNearest(m.data.subarray(i * hw, (i + 1) * hw), m.height, m.width, 1, nh, nw), i * nw * nh);
  return { ...m, data, width: nw, height: nh };
}

/** Mirrors all targets left-right on an image of width w; keypoint pairs are swapped. */
export function flipTargets(t: SampleTargets, w: number, flipPairs: FlipPairs): void {
  for (const boxes of [t.boxes, t.ignoreBoxes]) {
    if (!boxes) continue;
    for (let i = 0; i < boxes.length; i += 4) {
      const x1 = boxes[i];
      boxes[i] = w - boxes[i + 2];
      boxes[i + 2] = w - x1;
    }
  }
  if (t.masks?.kind === 'polygons') {
    for (const polys of t.masks.polygons) for (const p of polys) for (let i = 0; i < p.length; i += 2) p[i] = w - p[i];
  } else if (t.masks) {
    const { height, width, count, data } = t.masks;
    flipRowsInPlace(data, count * height, width, 1);
  }
  if (t.keypoints) flipKeypoints(t.keypoints, t.numKeypoints ?? t.keypoints.length / 3, w, flipPairs);
}

/**
 * Mirrors keypoints [N*K*3] on an image of width w and swaps left/right pairs. Unlabelled
 * points (v = 0) keep their (0, 0) so they stay recognisable as such.
 */
export function flipKeypoints(kps: Float32Array, k: number, w: number, flipPairs: FlipPairs): void {
  for (let i = 0; i < kps.length; i += 3) if (kps[i + 2] > 0) kps[i] = w - kps[i];
  for (let base = 0; base < kps.length; base += k * 3) {
    for (const [a, b] of flipPairs) {
      for (let c = 0; c < 3; c++) {
        const t = kps[base + a * 3 + c];
        kps[base + a * 3 + c] = kps[base + b * 3 + c];
        kps[base + b * 3 + c] = t;
      }
    }
  }
}
