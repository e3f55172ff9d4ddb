/**
 * Builds a top-down pose estimator from the model section of a pose config (config.ts). Errors name the
 * config key (`model.backbone.type`, `model.head.decoder.inputSize`, ...).
 */
import { ResNet } from '../backbones/resnet';
import { buildHRNet } from '../backbones/hrnet';
import { buildCodec } from '../codecs';
import { HeatmapHead } from '../pose_heads/heatmap_head';
import type { PoseBackboneConfig, TopdownPoseEstimatorConfig } from './config';
import { TopdownPoseEstimator, type PoseBackbone } from './topdown';

function prefixed<T>(key: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith('model.') ? msg : msg.startsWith('backbone.') ? `model.${msg}` : `${key}: ${msg}`);
  }
}

/** The backbone of model.backbone: mmpose's ResNet (outIndices [3]) or HRNet (flavor 'mmpose'). */
export function buildPoseBackbone(cfg: PoseBackboneConfig): PoseBackbone {
  if (cfg.type === 'ResNet') {
    const { type: _t, initCfg: _i, ...opts } = cfg;
    return prefixed('model.backbone (ResNet)', () => new ResNet({ outIndices: [3], ...opts }));
  }
  if (cfg.type === 'HRNet') {
    if (cfg.flavor !== undefined && cfg.flavor !== 'mmpose') throw new Error(`model.backbone.flavor: a pose HRNet is mmpose's ('mmpose'), got ${JSON.stringify(cfg.flavor)}`);
    return prefixed('model.backbone (HRNet)', () => buildHRNet({ ...cfg, flavor: 'mmpose' }));
  }
  throw new Error(`model.backbone.type: unknown backbone '${String((cfg as { type: unknown }).type)}' (ResNet, HRNet)`);
}

/** The estimator of a config's model section (TopdownPoseEstimator). */
export function buildPoseEstimator(cfg: TopdownPoseEstimatorConfig): TopdownPoseEstimator {
  if (cfg.type !== 'TopdownPoseEstimator') throw new Error(`model.type: unknown pose estimator '${String(cfg.type)}' (TopdownPoseEstimator)`);
  if (cfg.neck) throw new Error('model.neck: top-down heatmap models have no neck (null)');
  const h = cfg.head;
  if (!h || h.type !== 'HeatmapHead') throw new Error(`model.head.type: expected 'HeatmapHead', got ${JSON.stringify(h?.type)}`);
  for (const k of ['inChannels', 'outChannels'] as const) {
    if (!(Number.isInteger(h[k]) && h[k] > 0)) throw new Error(`model.head.${k}: expected a positive integer, got ${JSON.stringify(h[k])}`);
  }
  if (!h.decoder) throw new Error('model.head.decoder: required (the codec that decodes heatmaps)');
  const codec = buildCodec(h.decoder, 'model.head.decoder');
  if (h.loss && h.loss.type !== 'KeypointMSELoss') throw new Error(`model.head.loss.type: expected 'KeypointMSELoss', got ${JSON.stringify(h.loss.type)}`);
  const backbone = buildPoseBackbone(cfg.backbone);
  const head = new HeatmapHead({
    inChannels: h.inChannels,
    outChannels: h.outChannels,
    deconvOutChannels: h.deconvOutChannels === undefined ? [256, 256, 256] : h.deconvOutChannels,
    deconvKernelSizes: h.deconvKernelSizes === undefined ? [4, 4, 4] : h.deconvKernelSizes,
    convOutChannels: h.convOutChannels,
    convKernelSizes: h.convKernelSizes,
    finalKernelSize: h.finalLayer?.kernelSize ?? 1,
    loss: h.loss,
    key: 'model.head',
  });
  const memoryFormat = cfg.memoryFormat ?? 'channelsLast';
  if (memoryFormat !== 'channelsLast' && memoryFormat !== 'contiguous') throw new Error(`model.memoryFormat: expected 'channelsLast' or 'contiguous', got ${JSON.stringify(memoryFormat)}`);
  return new TopdownPoseEstimator({ backbone, head, codec, testCfg: cfg.testCfg, trainCfg: cfg.trainCfg, memoryFormat });
}
