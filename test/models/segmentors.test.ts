/**
 * The segmentor builder, the dilated ResNet options and the TTA merge, on hand-derived values
 * (parity with mmseg itself: mmseg_parity.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { Conv2d, Module } from '../../src/nn';
import { ResNet } from '../../src/models/backbones/resnet';
import { buildSegmentor, registerSegBackbone } from '../../src/models/segmentors/build';
import { mergeSegTTA } from '../../src/models/segmentors/tta';
import type { SegmentorModelConfig } from '../../src/models/segmentors/config';
import { fcnR50D8 } from '../../configs/_base_/models/fcn_r50-d8';
import { fcnAuxHead } from '../../configs/_base_/segmentation';

/** FCN-R18-D8 at tiny widths, 3 classes. */
function tinyFcn(over: Partial<SegmentorModelConfig> = {}): SegmentorModelConfig {
  return {
    ...fcnR50D8,
    backbone: { ...fcnR50D8.backbone, type: 'ResNetV1c', depth: 18, stemChannels: 8, baseChannels: 4, initCfg: null } as SegmentorModelConfig['backbone'],
    decodeHead: { ...fcnR50D8.decodeHead, inChannels: 32, channels: 8, numClasses: 3 },
    auxiliaryHead: null,
    ...over,
  };
}

test('ResNet: -D8 strides and dilations keep stages 2-4 at stride 8; deep stem and avg-down keys as mmseg', () => {
  const r = new ResNet({ depth: 18, baseChannels: 4, stemChannels: 8, deepStem: true, avgDown: true, strides: [1, 2, 1, 1], dilations: [1, 1, 2, 4], contractDilation: true });
  const outs = torch.noGrad(() => r.eval().forward(torch.randn([1, 3, 64, 64])));
  assert.deepEqual(outs.map((o) => o.shape), [[1, 4, 16, 16], [1, 8, 8, 8], [1, 16, 8, 8], [1, 32, 8, 8]]);
  const keys = [...r.stateDict().keys()];
  for (const k of ['stem.0.weight', 'stem.1.weight', 'stem.3.weight', 'stem.4.weight', 'stem.6.weight', 'stem.7.running_var', 'layer2.0.downsample.1.weight', 'layer2.0.downsample.2.weight']) {
    assert.ok(keys.includes(k), `missing ${k}`);
  }
  assert.ok(!keys.some((k) => k.startsWith('conv1.') || k.startsWith('bn1.')), 'no 7×7 stem with deepStem');
  // contract_dilation: layer3's first block at 2/2 = 1, its second at 2; layer4: 2 then 4 (BasicBlock's conv1)
  const conv1 = (name: string) => r.getSubmodule(name) as Conv2d;
  assert.deepEqual([conv1('layer3.0.conv1').dilation, conv1('layer3.1.conv1').dilation, conv1('layer4.0.conv1').dilation, conv1('layer4.1.conv1').dilation], [[1, 1], [2, 2], [2, 2], [4, 4]]);
  const grid = new ResNet({ depth: 18, baseChannels: 4, dilations: [1, 1, 2, 4], contractDilation: true, multiGrid: [3, 5] });
  assert.deepEqual([(grid.getSubmodule('layer4.0.conv1') as Conv2d).dilation, (grid.getSubmodule('layer4.1.conv1') as Conv2d).dilation], [[3, 3], [5, 5]], 'multiGrid replaces the last stage dilations');
  torch.dispose(outs);
  r.dispose();
  grid.dispose();
});

test('buildSegmentor: errors name the config key', () => {
  const cases: [SegmentorModelConfig, RegExp][] = [
    [tinyFcn({ backbone: { type: 'Nope' } as never }), /^model\.backbone\.type: unknown backbone 'Nope'/],
    [tinyFcn({ testCfg: { mode: 'slide', stride: [8, 8] } }), /^model\.testCfg\.cropSize/],
    [tinyFcn({ testCfg: { mode: 'tiles' } as never }), /^model\.testCfg\.mode/],
    [tinyFcn({ backbone: { ...tinyFcn().backbone, avgDown: true } as SegmentorModelConfig['backbone'] }), /^model\.backbone\.avgDown: ResNetV1c has avgDown false/],
    [tinyFcn({ backbone: { ...tinyFcn().backbone, strides: [1, 2, 0, 1] } as SegmentorModelConfig['backbone'] }), /^model\.backbone \(ResNetV1c\): ResNet: strides/],
    [tinyFcn({ decodeHead: { ...tinyFcn().decodeHead, type: 'MagicHead' } as never }), /^model\.decodeHead\.type/],
  ];
  for (const [cfg, re] of cases) assert.throws(() => buildSegmentor(cfg), { message: re });
});

class TinyBackbone extends Module {
  readonly conv = this.registerModule('conv', new Conv2d(3, 32, 3, { stride: 8, padding: 1 }));
  forward(x: Tensor): Tensor[] {
    const y = this.conv.forward(x);
    return [y, y, y, y];
  }
}

test('registerSegBackbone: a new type builds; an existing one throws', () => {
  registerSegBackbone('TinyBackbone', () => new TinyBackbone());
  const m = buildSegmentor(tinyFcn({ backbone: { type: 'TinyBackbone' } as never }));
  assert.ok(m.backbone instanceof TinyBackbone);
  assert.ok([...m.stateDict().keys()].includes('backbone.conv.weight'));
  m.dispose();
  assert.throws(() => registerSegBackbone('HRNet', () => new TinyBackbone()), /already registered/);
});

test('EncoderDecoder: whole and slide predictions are at the original size; losses carry mmseg prefixes', () => {
  torch.manualSeed(0);
  const aux = { ...fcnAuxHead, inChannels: 16, channels: 4, numClasses: 3 };
  const cfg = tinyFcn({ auxiliaryHead: [aux, aux] });
  const whole = buildSegmentor(cfg);
  const slide = buildSegmentor({ ...cfg, testCfg: { mode: 'slide', cropSize: [24, 24], stride: [16, 16] } });
  torch.tidy(() => {
    const images = torch.randn([2, 3, 40, 48]);
    const gt = torch.randint(0, 3, [2, 40, 48]);
    whole.train();
    const losses = whole.loss({ images, metas: [], gtSegMaps: gt });
    assert.deepEqual(Object.keys(losses).sort(), ['aux_0.acc_seg', 'aux_0.loss_ce', 'aux_1.acc_seg', 'aux_1.loss_ce', 'decode.acc_seg', 'decode.loss_ce']);
    whole.eval();
    slide.eval();
    const metas = [{ oriShape: [30, 20] as [number, number], imgShape: [40, 40] as [number, number] }, { oriShape: [40, 48] as [number, number], imgShape: [40, 48] as [number, number], flip: 'vertical' as const }];
    for (const m of [whole, slide]) {
      const live = torch.liveTensors();
      const preds = torch.noGrad(() => m.predict({ images, metas }));
      assert.deepEqual(preds.map((p) => [p.logits.shape, p.labels.shape]), [[[3, 30, 20], [30, 20]], [[3, 40, 48], [40, 48]]]);
      torch.dispose(preds.flatMap((p) => [p.logits, p.labels]));
      assert.equal(torch.liveTensors(), live, 'predict leaves nothing but its predictions');
    }
  });
  whole.dispose();
  slide.dispose();
});

test('mergeSegTTA: averages class probabilities (not logits), as mmseg\'s SegTTAModel', () => {
  torch.tidy(() => {
    // one pixel, 2 classes: views [0, 10], [2, 0], [2, 0]. Mean probability of class 0:
    // (σ(−10) + 2σ(2)) / 3 = (4.54e-5 + 2·0.8808) / 3 = 0.5872 → label 0 (the mean logits [1.33, 3.33] would say 1)
    const view = (a: number, b: number) => ({ logits: torch.tensor([a, b]).reshape([2, 1, 1]), labels: torch.zeros([1, 1], { dtype: 'int64' }) });
    const m = mergeSegTTA([view(0, 10), view(2, 0), view(2, 0)]);
    assert.equal(m.labels.item(), 0);
    const p0 = (1 / (1 + Math.exp(10)) + 2 / (1 + Math.exp(-2))) / 3;
    assert.ok(Math.abs((m.logits.select(0, 0).item() as number) - p0) < 1e-6);
    assert.throws(() => mergeSegTTA([]), /no views/);
  });
});
