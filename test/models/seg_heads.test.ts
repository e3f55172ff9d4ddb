/**
 * Decode heads, the segmentation cross-entropy, acc_seg and OHEM on hand-derived cases (the parity with
 * MMSegmentation itself is in mmseg_heads_parity.test.ts).
 *
 * The hand case: one image, two classes, 1×4 pixels:
 *   p0 logits [1, 0],     label 0:   ℓ0 = −log σ(1)  = ln(1 + e⁻¹), p(y) = e/(1+e)
 *   p1 logits [0, ln 3],  label 1:   ℓ1 = −log(3/4) = ln(4/3),     p(y) = 3/4
 *   p2 logits [5, −5],    label 255 (ignored)
 *   p3 logits [2, 0],     label 1:   ℓ3 = ln(1 + e²),              p(y) = 1/(1+e²)   (argmax wrong)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { SegCrossEntropyLoss, segAccuracy, segCrossEntropy, segCrossEntropyPerPixel } from '../../src/models/losses/seg_cross_entropy';
import { OhemPixelSampler } from '../../src/models/decode_heads/ohem_pixel_sampler';
import { BaseDecodeHead, FCNHead, buildDecodeHead } from '../../src/models/decode_heads';
import { Dropout2d } from '../../src/nn';
import type { DecodeHeadConfig, FCNHeadConfig, SegLossConfig } from '../../src/models/segmentors/config';
import { close } from '../helpers/close';

const L0 = Math.log(1 + Math.exp(-1)), L1 = Math.log(4 / 3), L3 = Math.log(1 + Math.exp(2));
const EPS = 1.1920928955078125e-7;

/** The hand case: logits [1, 2, 1, 4], labels [1, 1, 4]. */
function handCase(): { logits: Tensor; labels: Tensor } {
  const logits = torch.tensor([1, 0, 5, 2, 0, Math.log(3), -5, 0]).view(1, 2, 1, 4);
  const labels = torch.tensor([0, 1, 255, 1], { dtype: 'int64' }).view(1, 1, 4);
  return { logits, labels };
}
const ce = (extra: Partial<SegLossConfig> = {}): SegLossConfig => ({ type: 'CrossEntropyLoss', lossWeight: 1, ...extra });

test('segCrossEntropy: mean over all pixels (mmseg default) or non-ignored ones, class weights, loss weight, pixel weights', () => {
  torch.tidy(() => {
    const { logits, labels } = handCase();
    const v = (opts: Parameters<typeof segCrossEntropy>[2]) => segCrossEntropy(logits, labels, opts).item();
    close([v({})], [(L0 + L1 + L3) / 4], 1e-6, 'avgNonIgnore false: / all 4 pixels');
    close([v({ avgNonIgnore: true })], [(L0 + L1 + L3) / 3], 1e-6, 'avgNonIgnore true: / 3 labelled pixels');
    close([v({ lossWeight: 0.4 })], [0.4 * (L0 + L1 + L3) / 4], 1e-6, 'loss weight');
    // class weights [2, 0.5]: numerator 2ℓ0 + .5ℓ1 + .5ℓ3; denominator the weights of the labels (+1 for the
    // ignored pixel when it counts, see the file comment of seg_cross_entropy.ts)
    const num = 2 * L0 + 0.5 * L1 + 0.5 * L3;
    close([v({ classWeight: [2, 0.5], avgNonIgnore: true })], [num / 3], 1e-6, 'class weights, non-ignored');
    close([v({ classWeight: [2, 0.5] })], [num / 4], 1e-6, 'class weights, all pixels');
    close([v({ classWeight: [1, 1] })], [v({})], 1e-7, 'all-ones class weights equal none');
    const pixelWeight = torch.tensor([1, 0, 1, 1]).view(1, 1, 4);
    close([v({ pixelWeight })], [(L0 + L3) / 4], 1e-6, 'pixel weights keep the denominator');
    close(segCrossEntropyPerPixel(logits, labels, { classWeight: [2, 0.5], lossWeight: 3 }).flatten().toArray() as number[],
      [6 * L0, 1.5 * L1, 0, 1.5 * L3], 1e-6, 'per-pixel loss');
    // every pixel ignored: 0 / (0 + ε), not NaN
    const allIgnored = torch.fullLike(labels, 255);
    assert.equal(segCrossEntropy(logits, allIgnored, { avgNonIgnore: true }).item(), 0);
    assert.ok(EPS > 0);
    assert.throws(() => segCrossEntropy(logits, labels, { classWeight: [1, 2, 3] }), /classWeight: expected 2 weights/);
    assert.throws(() => segCrossEntropy(logits, labels.view(1, 4)), /expected logits \[N, C, H, W\] and labels \[N, H, W\]/);
  });
});

test('segAccuracy: percentage of labelled pixels whose argmax is right', () => {
  torch.tidy(() => {
    const { logits, labels } = handCase();
    close([segAccuracy(logits, labels).item()], [200 / 3], 1e-5, 'acc_seg (p0, p1 right; p3 wrong; p2 ignored)');
    // mmseg's (0 + ε)·100/(0 + ε) when nothing is labelled
    close([segAccuracy(logits, torch.fullLike(labels, 255)).item()], [100], 1e-5, 'acc_seg of an all-ignored batch');
  });
});

test('OhemPixelSampler: with thresh (probability of the true class) and without (top minKept losses)', () => {
  torch.tidy(() => {
    const { logits, labels } = handCase();
    const losses = [new SegCrossEntropyLoss(ce())];
    const w = (thresh: number | null, minKept: number) => new OhemPixelSampler({ thresh, minKept }).sample(logits, labels, losses, 255).flatten().toArray();
    // labelled probabilities sorted: 1/(1+e²) ≈ .119, e/(1+e) ≈ .731, 3/4; K = 2 → the 3rd (index 2) = 3/4
    assert.deepEqual(w(0.5, 2), [1, 0, 0, 1], 'threshold max(3/4, .5): p < 3/4 keeps p0 and p3');
    assert.deepEqual(w(0.8, 2), [1, 1, 0, 1], 'threshold .8 keeps every labelled pixel');
    // K = 10 > 3 labelled: index min(10, 2) = the largest, 3/4 → the same as (.5, 2)
    assert.deepEqual(w(0.1, 10), [1, 0, 0, 1], 'a quota above the labelled count');
    // losses: ℓ3 ≈ 2.13 > ℓ0 ≈ .313 > ℓ1 ≈ .288
    assert.deepEqual(w(null, 2), [1, 0, 0, 1], 'without thresh: the 2 highest losses');
    assert.deepEqual(w(null, 100), [1, 1, 0, 1], 'without thresh: every labelled pixel when the quota exceeds them');
    assert.throws(() => new OhemPixelSampler({ thresh: null, minKept: 1 }), /sampler.minKept: expected an integer > 1/);
    assert.throws(() => new OhemPixelSampler({ thresh: 2, minKept: 4 }), /sampler.thresh: expected a probability/);
  });
});

function fcnCfg(extra: Partial<FCNHeadConfig> = {}): FCNHeadConfig {
  return {
    type: 'FCNHead', inChannels: 6, inIndex: -1, channels: 4, numClasses: 3, numConvs: 2, concatInput: true,
    dropoutRatio: 0.1, alignCorners: false, lossDecode: ce(), normCfg: { type: 'SyncBN', requiresGrad: true }, ...extra,
  };
}

test('FCNHead: mmseg parameter names, logits at feature resolution, losses at label resolution', () => {
  torch.manualSeed(0);
  const head = buildDecodeHead(fcnCfg());
  try {
    assert.ok(head instanceof BaseDecodeHead && head instanceof FCNHead);
    const keys = [...head.stateDict().keys()];
    for (const k of ['convs.0.conv.weight', 'convs.0.bn.weight', 'convs.0.bn.running_mean', 'convs.0.bn.num_batches_tracked',
      'convs.1.conv.weight', 'conv_cat.conv.weight', 'conv_cat.bn.running_var', 'conv_seg.weight', 'conv_seg.bias']) {
      assert.ok(keys.includes(k), `missing ${k} (have ${keys.join(', ')})`);
    }
    assert.ok(!keys.includes('convs.0.conv.bias'), 'a conv followed by BN has no bias');
    torch.tidy(() => {
      const feats = [torch.randn([2, 3, 8, 8]), torch.randn([2, 6, 5, 7])];
      const logits = torch.noGrad(() => head.eval().forward(feats));
      assert.deepEqual(logits.shape, [2, 3, 5, 7]);
      assert.deepEqual(head.predictLogits(feats, [10, 14]).shape, [2, 3, 10, 14]);
      head.train();
      const labels = torch.randint(0, 3, [2, 10, 14], { dtype: 'int64' });
      const losses = head.loss(feats, labels);
      assert.deepEqual(Object.keys(losses).sort(), ['acc_seg', 'loss_ce']);
      assert.ok(losses.loss_ce.item() > 0 && Number.isFinite(losses.loss_ce.item()));
      losses.loss_ce.backward();
      assert.ok(head.convSeg.weight.grad, 'gradient reaches conv_seg');
    });
  } finally {
    head.dispose();
  }
});

test('BaseDecodeHead: dropout acts in training only; lossDecode terms with one name are summed', () => {
  torch.manualSeed(1);
  const head = buildDecodeHead(fcnCfg({ dropoutRatio: 0.5, lossDecode: [ce(), ce({ lossWeight: 0.5 }), ce({ lossName: 'loss_b', avgNonIgnore: true })] }));
  try {
    torch.tidy(() => {
      const feats = [torch.randn([2, 6, 5, 7])];
      head.eval();
      const a = torch.noGrad(() => head.forward(feats)), b = torch.noGrad(() => head.forward(feats));
      assert.equal(a.sub(b).abs().max().item(), 0, 'eval: deterministic');
      // conv_seg without dropout on the same features equals the eval forward
      const noDrop = buildDecodeHead(fcnCfg({ dropoutRatio: 0 }));
      noDrop.loadStateDict(head.stateDict());
      assert.equal(torch.noGrad(() => noDrop.eval().forward(feats)).sub(a).abs().max().item(), 0, 'eval: dropout is the identity');
      noDrop.dispose();
      head.train();
      const t = torch.noGrad(() => head.forward(feats));
      assert.ok(t.sub(a).abs().max().item() > 0, 'train: channels dropped');

      const labels = torch.randint(0, 3, [2, 5, 7], { dtype: 'int64' });
      head.eval(); // BN statistics fixed so that the terms can be recomputed
      const losses = head.loss(feats, labels);
      const logits = head.forward(feats);
      const one = segCrossEntropy(logits, labels).item();
      close([losses.loss_ce.item()], [1.5 * one], 1e-5, 'loss_ce = 1·CE + 0.5·CE');
      close([losses.loss_b.item()], [segCrossEntropy(logits, labels, { avgNonIgnore: true }).item()], 1e-5, 'loss_b');
    });
  } finally {
    head.dispose();
  }
});

test('decode heads: config errors name the field', () => {
  const bad = (cfg: DecodeHeadConfig, re: RegExp) => assert.throws(() => buildDecodeHead(cfg), re);
  bad(fcnCfg({ inIndex: [0, 1] }), /decodeHead.inIndex: expected an integer without inputTransform/);
  bad(fcnCfg({ inputTransform: 'resize_concat', inChannels: [2, 4], inIndex: [0, 1, 2] }), /decodeHead.inChannels \/ decodeHead.inIndex: expected lists of the same non-zero length, got 2 and 3/);
  bad(fcnCfg({ inputTransform: 'resize_concat', inChannels: 6, inIndex: [0] }), /decodeHead.inChannels: expected a list/);
  bad(fcnCfg({ numConvs: 0 }), /decodeHead.numConvs: 0 convs needs inChannels \(6\) equal to channels \(4\)/);
  bad(fcnCfg({ numClasses: 0 }), /decodeHead.numClasses/);
  bad(fcnCfg({ dropoutRatio: 1 }), /decodeHead.dropoutRatio/);
  bad(fcnCfg({ lossDecode: [ce(), ce({ classWeight: [1, -1, 1] })] }), /decodeHead.lossDecode\[1\].classWeight/);
  bad(fcnCfg({ lossDecode: { type: 'DiceLoss' } as never }), /decodeHead.lossDecode.type: expected 'CrossEntropyLoss'/);
  bad({ ...fcnCfg(), type: 'NoSuchHead' } as never, /decodeHead.type: unknown decode head 'NoSuchHead'/);
  assert.throws(() => buildDecodeHead(fcnCfg({ inChannels: 4 }), 'auxiliaryHead[0]').forward([]), /auxiliaryHead\[0\].inIndex: index -1 is out of range for 0/);
});

test('Dropout2d: whole channels zeroed, the rest scaled by 1/(1 − p), in training only', () => {
  torch.manualSeed(2);
  torch.tidy(() => {
    const d = new Dropout2d(0.5);
    const x = torch.rand([4, 16, 3, 5]).add(1); // all ≥ 1: a zero is a dropped element
    const y = d.forward(x);
    const ratio = y.div(x).view(64, 15); // per (image, channel): every element 0 or every element 2
    const lo = ratio.amin({ dim: 1 }), hi = ratio.amax({ dim: 1 });
    assert.equal(lo.sub(hi).abs().max().item(), 0, 'a channel is dropped or kept whole');
    const kept = hi.eq(2).sum().item(), dropped = hi.eq(0).sum().item();
    assert.equal(kept + dropped, 64);
    assert.ok(kept > 10 && dropped > 10, `about half the channels dropped (kept ${kept})`);
    d.eval();
    assert.equal(d.forward(x).sub(x).abs().max().item(), 0, 'identity in eval mode');
  });
});

function cfgOf(type: DecodeHeadConfig['type'], extra: Record<string, unknown>): DecodeHeadConfig {
  return { type, inChannels: 6, inIndex: -1, channels: 4, numClasses: 3, alignCorners: false, lossDecode: ce(), normCfg: { type: 'BN' }, ...extra } as DecodeHeadConfig;
}

test('PSP / ASPP / DSASPP / UPer heads: output sizes and config errors that name the field', () => {
  torch.manualSeed(3);
  torch.tidy(() => {
    const feats = [torch.randn([2, 5, 16, 20]), torch.randn([2, 6, 8, 10])];
    const shapeOf = (cfg: DecodeHeadConfig) => {
      const head = buildDecodeHead(cfg).eval();
      try {
        return torch.noGrad(() => head.forward(feats)).shape;
      } finally {
        head.dispose();
      }
    };
    assert.deepEqual(shapeOf(cfgOf('PSPHead', { poolScales: [1, 2, 3, 6] })), [2, 3, 8, 10]);
    assert.deepEqual(shapeOf(cfgOf('ASPPHead', { dilations: [1, 2, 3] })), [2, 3, 8, 10]);
    assert.deepEqual(shapeOf(cfgOf('DepthwiseSeparableASPPHead', { dilations: [1, 2], c1InChannels: 5, c1Channels: 2 })), [2, 3, 16, 20], 'at inputs[0]\'s size');
    assert.deepEqual(shapeOf(cfgOf('DepthwiseSeparableASPPHead', { dilations: [1, 2], c1InChannels: 0, c1Channels: 0 })), [2, 3, 8, 10], 'without c1');
    assert.deepEqual(shapeOf(cfgOf('UPerHead', { inChannels: [5, 6], inIndex: [0, 1], poolScales: [1, 2] })), [2, 3, 16, 20]);
    assert.deepEqual(shapeOf(cfgOf('FCNHead', { inChannels: [5, 6], inIndex: [0, 1], inputTransform: 'resize_concat', numConvs: 1, kernelSize: 1, concatInput: false })), [2, 3, 16, 20]);
  });
  const bad = (cfg: DecodeHeadConfig, re: RegExp) => assert.throws(() => buildDecodeHead(cfg, 'auxiliaryHead[1]'), re);
  bad(cfgOf('PSPHead', { poolScales: [] }), /auxiliaryHead\[1\].poolScales: expected a non-empty list of positive integers/);
  bad(cfgOf('ASPPHead', { dilations: [1, 0] }), /auxiliaryHead\[1\].dilations/);
  bad(cfgOf('DepthwiseSeparableASPPHead', { dilations: [1], c1InChannels: -1, c1Channels: 2 }), /auxiliaryHead\[1\].c1InChannels/);
  bad(cfgOf('UPerHead', { inChannels: [5, 6], inIndex: [0, 1], poolScales: [1], inputTransform: 'resize_concat' }), /auxiliaryHead\[1\].inputTransform: UPerHead always selects several levels/);
  bad(cfgOf('UPerHead', { poolScales: [1] }), /auxiliaryHead\[1\].inChannels: expected a list of positive integers with inputTransform 'multiple_select'/);
  bad(cfgOf('PSPHead', { inChannels: [5, 6], inIndex: [0, 1], poolScales: [1], inputTransform: 'multiple_select' }), /auxiliaryHead\[1\].inputTransform: this head takes one input tensor/);
  bad(cfgOf('FCNHead', { sampler: { type: 'OHEMPixelSampler', thresh: 0.7, minKept: 0 } }), /auxiliaryHead\[1\].sampler.minKept/);
});
