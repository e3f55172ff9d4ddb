/**
 * collate: per-image samples -> one padded NCHW float32 batch buffer, written once, plus
 * per-image typed targets and metas (MMDetection's stack_batch + PackDetInputs).
 *
 * Shapes: N images, H x W = the largest pad_shape in the batch.
 */
import type { ImageMeta, PoseTargets, Sample, SampleTargets } from './sample';

export interface BatchItem {
  meta: ImageMeta;
  targets: SampleTargets;
  pose?: PoseTargets;
}

export interface Batch {
  /** [N, 3, H, W] float32, padded bottom/right with each image's pad value. */
  inputs: Float32Array;
  shape: [number, number, number, number];
  items: BatchItem[];
}

export function collate(samples: Sample[]): Batch {
  if (samples.length === 0) throw new Error('collate: empty batch');
  const n = samples.length;
  let H = 0, W = 0;
  for (const s of samples) {
    H = Math.max(H, s.meta.padShape[0], s.img.height);
    W = Math.max(W, s.meta.padShape[1], s.img.width);
  }
  const C = 3;
  const plane = H * W;
  const first = samples[0].img;
  const [rows, cols] = first.planeShape ?? [first.height, first.width];
  if (n === 1 && first.layout === 'chw' && first.data instanceof Float32Array && rows === H && cols === W && first.data.length === C * plane) {
    // One image whose planes were written padded to the batch shape (Normalize + Pad) is the batch.
    return { inputs: first.data, shape: [1, C, H, W], items: samples.map(batchItem) };
  }
  const inputs = new Float32Array(n * C * plane);
  samples.forEach((s, i) => writeImage(inputs.subarray(i * C * plane, (i + 1) * C * plane), s, H, W));
  return { inputs, shape: [n, C, H, W], items: samples.map(batchItem) };
}

function batchItem(s: Sample): BatchItem {
  return { meta: s.meta, targets: s.targets, pose: s.pose };
}

/** Writes one image into its [3, H, W] slot: planes or rows copied (CHW float) or transposed (HWC), pad filled. */
function writeImage(dst: Float32Array, s: Sample, H: number, W: number): void {
  const { data, height: h, width: w, layout } = s.img;
  const [rows, cols] = s.img.planeShape ?? [h, w];
  if (data.length !== rows * cols * 3) throw new Error(`collate: ${s.meta.imgPath}: image is not decoded (${data.length} values for ${w}x${h}x3)`);
  if (layout === 'chw' && rows === H && cols === W) {
    dst.set(data); // planes written already padded to the batch shape (Normalize + Pad)
    return;
  }
  const pad = s.meta.padValue ?? 0;
  for (let c = 0; c < 3; c++) {
    const base = c * H * W;
    for (let y = 0; y < h; y++) {
      const row = base + y * W;
      if (layout === 'chw') dst.set(data.subarray((c * rows + y) * cols, (c * rows + y) * cols + w), row);
      else for (let x = 0, j = y * w * 3 + c; x < w; x++, j += 3) dst[row + x] = data[j];
      if (pad !== 0 && w < W) dst.fill(pad, row + w, row + W);
    }
    if (pad !== 0 && h < H) dst.fill(pad, base + h * W, base + H * W);
  }
}
