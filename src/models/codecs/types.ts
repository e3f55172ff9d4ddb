/** What the heatmap codecs share: targets from keypoints (training) and keypoints from heatmaps (inference). */
import type { Heatmaps } from './heatmap_utils';

/** A codec's training targets for one instance. */
export interface EncodedHeatmaps {
  /** [K, h, w] target heatmaps. */
  heatmaps: Heatmaps;
  /** [K] keypoint weights: the visibility, 0 where the keypoint falls off the heatmap. */
  weights: Float32Array;
}

export interface HeatmapCodec {
  /** (w, h) of the network input. */
  readonly inputSize: [number, number];
  /** (w, h) of the heatmaps. */
  readonly heatmapSize: [number, number];
  /** keypoints [K, 2] in input pixels, visibility [K] → targets. */
  encode(keypoints: Float32Array, visible?: Float32Array): EncodedHeatmaps;
  /** heatmaps [K, h, w] → keypoints [K, 2] in input pixels, scores [K]. */
  decode(heatmaps: Heatmaps): { keypoints: Float32Array; scores: Float32Array };
}
