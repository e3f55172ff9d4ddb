/**
 * A PipelineContext module for tests (DataLoaderOptions.pipelineContextModule): a stand-in
 * keypoint encoder, only for plumbing — heatmaps of zeros with a 1 at each visible keypoint's
 * heatmap cell, weights = visibility. The real codecs live in src/models/codecs.
 */
import type { KeypointEncoderSpec, PipelineContext } from '../../src/data/transforms';

export const pipelineContext: PipelineContext = {
  buildKeypointEncoder(spec: KeypointEncoderSpec) {
    if (spec.type !== 'StandIn') throw new Error(`stand-in context: unknown encoder '${spec.type}'`);
    const [w, h] = spec.heatmapSize as [number, number];
    const [iw, ih] = spec.inputSize as [number, number];
    return {
      encode(xy, visible, k) {
        const heatmaps = new Float32Array(k * h * w);
        for (let j = 0; j < k; j++) {
          const x = Math.floor((xy[2 * j] * w) / iw), y = Math.floor((xy[2 * j + 1] * h) / ih);
          if (visible[j] > 0 && x >= 0 && x < w && y >= 0 && y < h) heatmaps[j * h * w + y * w + x] = 1;
        }
        return { heatmaps, heatmapSize: [w, h], keypointWeights: visible.slice() };
      },
    };
  },
};
