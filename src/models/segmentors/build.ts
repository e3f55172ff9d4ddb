/**
 * Builds a segmentor from the model section of a segmentation config (src/models/segmentors/config.ts):
 * the backbone through the explicit table below, the decode and auxiliary heads through buildDecodeHead.
 * Errors name the config key (`model.backbone.type`, `model.testCfg.cropSize`, ...).
 */
import { ResNet } from '../backbones/resnet';
import { buildHRNet } from '../backbones/hrnet';
import { buildDecodeHead } from '../decode_heads';
import type { HRNetConfig, SegBackboneConfig, SegResNetConfig, SegTestConfig, SegmentorModelConfig } from './config';
import { EncoderDecoder, type SegBackbone } from './encoder_decoder';
import type { Segmentor } from './types';

/** Builds a backbone from its config section (`model.backbone`). */
export type SegBackboneFactory<C extends { type: string } = { type: string }> = (cfg: C) => SegBackbone;

/** mmseg's ResNet family: the type fixes deep_stem / avg_down as mmseg's ResNetV1c / ResNetV1d classes do. */
function buildSegResNet(cfg: SegResNetConfig): ResNet {
  const { type, initCfg: _init, ...opts } = cfg;
  if (type === 'ResNet') return new ResNet(opts);
  const fixed = { deepStem: true, avgDown: type === 'ResNetV1d' };
  for (const k of ['deepStem', 'avgDown'] as const) {
    if (opts[k] !== undefined && opts[k] !== fixed[k]) throw new Error(`model.backbone.${k}: ${type} has ${k} ${fixed[k]} (use type 'ResNet' to choose)`);
  }
  return new ResNet({ ...opts, ...fixed });
}

/** A factory stored in the table: it is only called with a config whose type it was registered under. */
const erased = <C extends { type: string }>(f: SegBackboneFactory<C>) => f as unknown as SegBackboneFactory;

/** The backbones segmentation configs can name (model.backbone.type); registerSegBackbone adds more. */
const BACKBONES = new Map<string, SegBackboneFactory>([
  ['ResNet', erased(buildSegResNet)],
  ['ResNetV1c', erased(buildSegResNet)],
  ['ResNetV1d', erased(buildSegResNet)],
  ['HRNet', erased((cfg: HRNetConfig) => buildHRNet(cfg))],
]);

/** Adds a backbone type to the table (a type already there throws). */
export function registerSegBackbone<C extends { type: string }>(type: C['type'], factory: SegBackboneFactory<C>): void {
  if (BACKBONES.has(type)) throw new Error(`registerSegBackbone: backbone type '${type}' is already registered`);
  BACKBONES.set(type, erased(factory));
}

/** The backbone of model.backbone; its errors are prefixed with the config path. */
export function buildSegBackbone(cfg: SegBackboneConfig | { type: string }): SegBackbone {
  const factory = BACKBONES.get(cfg.type);
  if (!factory) throw new Error(`model.backbone.type: unknown backbone '${cfg.type}' (${[...BACKBONES.keys()].join(', ')})`);
  try {
    return factory(cfg);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith('model.') ? msg : msg.startsWith('backbone.') ? `model.${msg}` : `model.backbone (${cfg.type}): ${msg}`);
  }
}

function checkTestCfg(t: SegTestConfig | undefined): SegTestConfig {
  if (!t || (t.mode !== 'whole' && t.mode !== 'slide')) throw new Error(`model.testCfg.mode: expected 'whole' or 'slide', got ${JSON.stringify(t?.mode)}`);
  if (t.mode === 'slide') {
    for (const k of ['cropSize', 'stride'] as const) {
      const v = t[k];
      if (!(Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x >= 1))) {
        throw new Error(`model.testCfg.${k}: slide inference needs [h, w] positive integers, got ${JSON.stringify(v)}`);
      }
    }
  }
  return t;
}

/** The segmentor of a config's model section (EncoderDecoder). */
export function buildSegmentor(cfg: SegmentorModelConfig): Segmentor {
  if (cfg.type !== 'EncoderDecoder') throw new Error(`model.type: unknown segmentor '${String(cfg.type)}' (EncoderDecoder)`);
  if (!cfg.decodeHead) throw new Error('model.decodeHead: required');
  const testCfg = checkTestCfg(cfg.testCfg);
  const backbone = buildSegBackbone(cfg.backbone);
  const decodeHead = buildDecodeHead(cfg.decodeHead, 'model.decodeHead');
  const aux = cfg.auxiliaryHead ?? null;
  const auxiliaryHead = Array.isArray(aux)
    ? aux.map((h, i) => buildDecodeHead(h, `model.auxiliaryHead[${i}]`))
    : aux && buildDecodeHead(aux, 'model.auxiliaryHead');
  return new EncoderDecoder({ backbone, decodeHead, auxiliaryHead, testCfg });
}
