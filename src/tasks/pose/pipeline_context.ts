/**
 * The pose task's PipelineContext (DataLoaderOptions.pipelineContextModule): GenerateTarget's
 * encoder spec is a codec config (MSRAHeatmap, UDPHeatmap), built by src/models/codecs. A module
 * of its own so loader worker threads can require it.
 */
import type { EncodedKeypoints, KeypointEncoder, KeypointEncoderSpec, PipelineContext } from '../../data/transforms';
import { buildCodec, type CodecConfig } from '../../models/codecs';

/** A codec's encoder as GenerateTarget calls it (one instance per top-down sample, as MMPose's heatmap codecs). */
export function codecEncoder(spec: KeypointEncoderSpec, key = 'GenerateTarget.encoder'): KeypointEncoder {
  const codec = buildCodec(spec as unknown as CodecConfig, key);
  return {
    encode(keypoints: Float32Array, visible: Float32Array, k: number): EncodedKeypoints {
      if (keypoints.length !== 2 * k || visible.length !== k) {
        throw new Error(`${key} (${spec.type}): encodes one instance of ${k} keypoints, got ${keypoints.length / 2 / k} instances`);
      }
      const { heatmaps, weights } = codec.encode(keypoints, visible);
      return { heatmaps: heatmaps.data, heatmapSize: [heatmaps.W, heatmaps.H], keypointWeights: weights };
    },
  };
}

export const pipelineContext: PipelineContext = { buildKeypointEncoder: (spec) => codecEncoder(spec) };
