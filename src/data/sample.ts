/**
 * The typed record that flows through the data pipeline, one per image (or per person
 * for top-down pose). Everything is plain typed arrays so it crosses worker threads by
 * transfer, not copy.
 *
 * Conventions: boxes are xyxy in absolute pixels of the current image; keypoints are
 * [x, y, v] triples in the same pixels; coordinates are continuous (pixel (i, j) covers
 * [i, i+1) x [j, j+1)), so a horizontal flip maps x to width - x.
 */
import type { InstanceMasks } from '../structures/masks';
import type { PendingDecode } from './image';

/** Pixels of one image. `hwc` images are interleaved; `chw` (after Normalize) planar. */
export interface ImageData {
  data: Uint8Array | Float32Array;
  height: number;
  width: number;
  channels: number;
  layout: 'hwc' | 'chw';
  /** Channel order of `data`. */
  order: 'rgb' | 'bgr';
  /**
   * `chw` only: [rows, cols] of each stored plane when the planes were written already
   * padded (Normalize fused with the Pad after it): the image is the top-left height x
   * width, the rest the pad value. Absent: planes are height x width.
   */
  planeShape?: [number, number];
}

/** MMDetection's image metainfo: what the model needs to map predictions back. */
export interface ImageMeta {
  imgId: number;
  imgPath: string;
  /** [h, w] of the decoded file. */
  oriShape: [number, number];
  /** [h, w] after resizing / cropping (the valid region of the padded image). */
  imgShape: [number, number];
  /** [h, w] after padding; equals imgShape until Pad runs. */
  padShape: [number, number];
  /** [w_scale, h_scale]: imgShape / oriShape per axis, as MMDetection's scale_factor. */
  scaleFactor: [number, number];
  flip: boolean;
  flipDirection: 'horizontal' | null;
  /** Value the image is padded with (Pad records it; collate applies it). */
  padValue?: number;
  /** Top-down: MMPose's sample id (DataInfo.instanceId), which the keypoint metric keys predictions by. */
  instanceId?: number;
}

/** Ground truth of one sample. Every field is optional; transforms update what is present. */
export interface SampleTargets {
  /** [N*4] xyxy, absolute pixels. */
  boxes?: Float32Array;
  /** [N] 0-based class indices (position in the dataset's class list). */
  labels?: Int32Array;
  /** [N] detector's score of each box (top-down samples from detection results; absent for ground truth). */
  boxScores?: Float32Array;
  /** [M*4] xyxy crowd regions, to be ignored by assigners. */
  ignoreBoxes?: Float32Array;
  /** N instance masks aligned with `boxes`. */
  masks?: InstanceMasks;
  /** [N*K*3] (x, y, visibility) for N instances of K keypoints each. */
  keypoints?: Float32Array;
  /** Number of keypoints per instance (K). */
  numKeypoints?: number;
  /** [H*W] class index per pixel, 255 = ignore. */
  segMap?: Uint8Array;
}

/**
 * Top-down pose state of one person (MMPose's bbox_center / bbox_scale / bbox_rotation), set
 * by GetBBoxCenterScale, changed by the random box transforms, fixed to the input's aspect
 * ratio by TopdownAffine; then the targets GenerateTarget writes. Values are float32 as in
 * MMPose. Coordinates follow MMPose's pixel-index convention: a horizontal flip maps x to
 * width - 1 - x.
 */
export interface PoseTargets {
  /** Box centre [x, y] in original-image pixels. */
  center: [number, number];
  /** Box size [w, h] in original-image pixels (padded; after TopdownAffine, at the input's aspect ratio). */
  scale: [number, number];
  /** Rotation of the box in degrees (RandomBBoxTransform), 0 if none. */
  rotation: number;
  /** Network input [w, h], once TopdownAffine has run. */
  inputSize?: [number, number];
  /** [K*Hh*Wh] target heatmaps (empty until GenerateTarget). */
  heatmaps: Float32Array;
  heatmapSize: [number, number]; // [w, h]
  /** [K] keypoint weights for the loss (empty until GenerateTarget). */
  targetWeights: Float32Array;
}

export interface Sample {
  /** The pixels; while `pending` is set, only its height/width/order are meaningful. */
  img: ImageData;
  /** An image not decoded yet, with the geometry transforms recorded on it. */
  pending?: PendingDecode;
  meta: ImageMeta;
  targets: SampleTargets;
  pose?: PoseTargets;
}

/** Left/right pairs for flipping keypoints (indices into the K keypoints). */
export type FlipPairs = ReadonlyArray<readonly [number, number]>;

/** Collects the ArrayBuffers of a sample so it can be posted with a transfer list. */
export function transferables(s: Sample): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (a: { buffer: ArrayBufferLike } | undefined) => {
    if (a && a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  };
  add(s.img.data);
  const t = s.targets;
  add(t.boxes); add(t.boxScores); add(t.labels); add(t.ignoreBoxes); add(t.keypoints); add(t.segMap);
  if (t.masks?.kind === 'bitmaps') add(t.masks.data);
  if (t.masks?.kind === 'polygons') for (const ps of t.masks.polygons) for (const p of ps) add(p);
  if (s.pose) { add(s.pose.heatmaps); add(s.pose.targetWeights); }
  return [...out];
}
