/**
 * Shared pieces of the MMSegmentation parity tests (test/models/mmseg_parity.test.ts,
 * mmseg_infer_parity.test.ts): the tiny segmentors of scripts/reference/mmseg_fixtures.py as our
 * model configs, and label agreement.
 */
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/torch';
import type { DecodeHeadConfig, HRNetConfig, HRNetStageConfig, SegResNetConfig, SegmentorModelConfig } from '../../src/models/segmentors/config';
import { fcnR50D8 } from '../../configs/_base_/models/fcn_r50-d8';
import { pspnetR50D8 } from '../../configs/_base_/models/pspnet_r50-d8';
import { deeplabv3R50D8 } from '../../configs/_base_/models/deeplabv3_r50-d8';
import { deeplabv3plusR50D8 } from '../../configs/_base_/models/deeplabv3plus_r50-d8';
import { upernetR50 } from '../../configs/_base_/models/upernet_r50';
import { fcnHr18 } from '../../configs/_base_/models/fcn_hr18';

export interface PyStage { num_modules: number; num_branches: number; block: 'BASIC' | 'BOTTLENECK'; num_blocks: number[]; num_channels: number[] }
/** A fixture manifest's mmseg model dict, as far as the tiny configs need it (the HRNet stages). */
export interface PyTinyModel { model: { backbone: { extra?: Record<string, PyStage> } } }

/** A model base at the script's tiny widths: K classes, no dropout, no pretrained weights. */
function tiny(base: SegmentorModelConfig, K: number, backbone: Partial<SegResNetConfig>, decode: Partial<DecodeHeadConfig>, auxInChannels: number | null): SegmentorModelConfig {
  const aux = base.auxiliaryHead;
  assert.ok(aux && !Array.isArray(aux) || auxInChannels === null);
  return {
    ...base,
    backbone: { ...base.backbone as SegResNetConfig, stemChannels: 8, baseChannels: 4, initCfg: null, ...backbone },
    decodeHead: { ...base.decodeHead, ...decode, numClasses: K, dropoutRatio: 0 } as DecodeHeadConfig,
    auxiliaryHead: auxInChannels === null ? null : { ...aux as DecodeHeadConfig, inChannels: auxInChannels, channels: 8, numClasses: K, dropoutRatio: 0 },
  };
}

function tinyHrnet(hr: PyTinyModel, K: number): SegmentorModelConfig {
  const py = hr.model.backbone.extra!;
  const st = (s: PyStage): HRNetStageConfig => ({
    numModules: s.num_modules, numBranches: s.num_branches, block: s.block, numBlocks: [...s.num_blocks], numChannels: [...s.num_channels],
  });
  const backbone: HRNetConfig = {
    ...fcnHr18.backbone as HRNetConfig, initCfg: null,
    extra: { stage1: st(py.stage1), stage2: st(py.stage2), stage3: st(py.stage3), stage4: st(py.stage4) },
  };
  return { ...fcnHr18, backbone, decodeHead: { ...fcnHr18.decodeHead, inChannels: [4, 8, 16, 32], channels: 60, numClasses: K, dropoutRatio: 0 } };
}

/**
 * The script's tiny models (scripts/reference/mmseg_fixtures.py, tiny_models()) as our model bases with the same
 * width overrides; `models` is a fixture manifest's models (fcn_hr's HRNet stages are read from it).
 */
export function tinySegmentors(models: Record<string, PyTinyModel>, K: number): Record<string, () => SegmentorModelConfig> {
  return {
    fcn_r50v1c: () => tiny(fcnR50D8, K, {}, { inChannels: 128, channels: 16 }, 64),
    psp_r18v1d: () => tiny(pspnetR50D8, K, { type: 'ResNetV1d', depth: 18, multiGrid: [1, 2] }, { inChannels: 32, channels: 16 }, 16),
    fcn_hr: () => tinyHrnet(models.fcn_hr, K),
    aspp_r18v1c: () => tiny(deeplabv3R50D8, K, { depth: 18 }, { inChannels: 32, channels: 16 }, 16),
    sepaspp_r18v1c: () => tiny(deeplabv3plusR50D8, K, { depth: 18 }, { inChannels: 32, channels: 16, c1InChannels: 4, c1Channels: 4 } as Partial<DecodeHeadConfig>, 16),
    uper_r18v1c: () => tiny(upernetR50, K, { depth: 18 }, { inChannels: [4, 8, 16, 32], channels: 16 }, 16),
  };
}

/** Fraction of equal labels of two label maps of one shape (any integer dtypes). */
export function labelAgreement(a: Tensor, b: Tensor, what: string): number {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const x = a.to('int64').contiguous().toTypedArray() as BigInt64Array, y = b.to('int64').contiguous().toTypedArray() as BigInt64Array;
  let same = 0;
  for (let i = 0; i < y.length; i++) if (x[i] === y[i]) same++;
  return same / y.length;
}

/** labelAgreement ≥ min, the figure in the message; returns it. */
export function assertLabels(a: Tensor, b: Tensor, min: number, what: string): number {
  const f = labelAgreement(a, b, what);
  assert.ok(f >= min, `${what}: ${(100 * f).toFixed(3)}% of labels equal mmseg's (need ≥ ${100 * min}%)`);
  return f;
}
