/** Keypoint codecs (MMPose 1.x's): build one from its config section. */
import { MSRAHeatmap, type MSRAHeatmapConfig } from './msra_heatmap';
import { UDPHeatmap, type UDPHeatmapConfig } from './udp_heatmap';
import type { HeatmapCodec } from './types';

export { MSRAHeatmap, type MSRAHeatmapConfig } from './msra_heatmap';
export { UDPHeatmap, type UDPHeatmapConfig } from './udp_heatmap';
export type { HeatmapCodec, EncodedHeatmaps } from './types';
export * from './heatmap_utils';

export type CodecConfig = MSRAHeatmapConfig | UDPHeatmapConfig;

/** The codec of a config section; `key` names it in errors (e.g. 'model.head.decoder'). */
export function buildCodec(cfg: CodecConfig, key = 'codec'): HeatmapCodec {
  const { type, ...rest } = cfg;
  if (type === 'MSRAHeatmap') return new MSRAHeatmap(rest as Omit<MSRAHeatmapConfig, 'type'>, key);
  if (type === 'UDPHeatmap') return new UDPHeatmap(rest as Omit<UDPHeatmapConfig, 'type'>, key);
  throw new Error(`${key}.type: unknown codec '${String(type)}' (MSRAHeatmap, UDPHeatmap)`);
}
