/**
 * RetinaNet's parts against hand-derived values: sigmoid focal loss, the 9 anchors per location
 * (3 octave scales × 3 ratios) and their counts per level, the loss normalizer (Σ max(#pos, 1))
 * and the configuration errors. (Parity with MMDetection itself: mmdet_retinanet_parity.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { sigmoidFocalLoss } from '../../src/models/losses/focal_loss';
import { RetinaHead, type RetinaHeadOptions } from '../../src/models/dense_heads/retina_head';
import { buildDetector } from '../../src/models/detectors/build';
import { retinanetR50Fpn } from '../../configs/_base_/models/retinanet_r50_fpn';
import { close } from '../helpers/close';

const ANCHOR = { octaveBaseScale: 4, scalesPerOctave: 3, ratios: [0.5, 1, 2], strides: [8, 16, 32, 64, 128] };

test('sigmoid focal loss: hand-derived values (γ 2, α 0.25)', () => {
  torch.tidy(() => {
    const ln3 = Math.log(3);
    // p = σ(x): x = 0 → p = 1/2; x = ln 3 → p = 3/4; x = −ln 3 → p = 1/4
    const logits = torch.tensor([[0, 0], [ln3, ln3], [-ln3, 0]]);
    const targets = torch.tensor([[1, 0], [1, 0], [1, 1]]);
    const want = [
      // t = 1, p = 1/2: α · (1 − p)^2 · −log p = 0.25 · 0.25 · ln 2;  t = 0: 0.75 · p^2 · −log(1 − p) = 0.75 · 0.25 · ln 2
      0.0625 * Math.LN2, 0.1875 * Math.LN2,
      // p = 3/4: t = 1: 0.25 · (1/4)^2 · ln(4/3); t = 0: 0.75 · (3/4)^2 · ln 4
      0.25 * 0.0625 * Math.log(4 / 3), 0.75 * 0.5625 * Math.log(4),
      // p = 1/4, t = 1: 0.25 · (3/4)^2 · ln 4;  p = 1/2, t = 1: as the first
      0.25 * 0.5625 * Math.log(4), 0.0625 * Math.LN2,
    ];
    close(sigmoidFocalLoss(logits, targets).flatten().toArray() as number[], want, 1e-6, 'focal');
    // γ 0, α 0.5: half the binary cross-entropy
    close(sigmoidFocalLoss(torch.tensor([[ln3]]), torch.tensor([[0]]), { gamma: 0, alpha: 0.5 }).toArray().flat() as number[], [0.5 * Math.log(4)], 1e-6, 'γ 0');
    assert.throws(() => sigmoidFocalLoss(logits, targets, { alpha: 2 }), /loss_cls\.alpha: expected a number in \[0, 1\], got 2/);
    assert.throws(() => sigmoidFocalLoss(logits, torch.zeros([3])), /differ in shape/);
  });
});

function head(opts: Partial<RetinaHeadOptions> = {}): RetinaHead {
  return new RetinaHead({ numClasses: 3, inChannels: 8, featChannels: 8, anchor: ANCHOR, ...opts });
}

test('RetinaHead anchors: 9 per location (scales 4·2^(k/3), ratios 0.5/1/2, scale fastest), H·W·9 per level', () => {
  const h = head();
  try {
    assert.equal(h.anchors.numBaseAnchors, 9);
    close(h.anchors.scales, [4, 4 * 2 ** (1 / 3), 4 * 2 ** (2 / 3)], 1e-12, 'scales');
    torch.tidy(() => {
      const sizes: [number, number][] = [[6, 8], [3, 4], [2, 2], [1, 1], [1, 1]];
      const feats = sizes.map(([fh, fw]) => torch.zeros([1, 8, fh, fw]));
      const anchors = h.levelAnchors(feats);
      assert.deepEqual(anchors.map((a) => a.size(0)), sizes.map(([fh, fw]) => fh * fw * 9));
      const flat = anchors[0].toArray() as number[];
      const l0 = (i: number) => flat.slice(4 * i, 4 * i + 4);
      // ratio 0.5 (h/w), scale 4 on stride 8: w = 8·√2·4, h = 8·(1/√2)·4, centered on the cell corner (0, 0)
      close(l0(0), [-16 * Math.SQRT2, -8 * Math.SQRT2, 16 * Math.SQRT2, 8 * Math.SQRT2], 1e-4, 'a0');
      // ratio 1, scales 4 and 4·2^(1/3): squares of side 32 and 32·2^(1/3)
      close(l0(3), [-16, -16, 16, 16], 1e-5, 'a3');
      const s = 16 * 2 ** (1 / 3);
      close(l0(4), [-s, -s, s, s], 1e-4, 'a4');
      // the next location in x is 8 pixels on; the stride-128 level's square anchor is 512 wide
      close(l0(9 + 3), [-8, -16, 24, 16], 1e-5, 'next x');
      close((anchors[4].toArray() as number[]).slice(12, 16), [-256, -256, 256, 256], 1e-4, 'P7');
      // forward: A·C logits and 4A deltas per level
      const out = h.forward(feats);
      assert.deepEqual(out.clsScores.map((c) => c.shape), sizes.map(([fh, fw]) => [1, 27, fh, fw]));
      assert.deepEqual(out.bboxPreds.map((c) => c.shape), sizes.map(([fh, fw]) => [1, 36, fh, fw]));
    });
    // the classifier starts at the prior: σ(bias) = 0.01
    close([h.retinaCls.bias!.sigmoid().mean().item() as number], [0.01], 1e-6, 'prior');
  } finally {
    h.dispose();
  }
});

test('RetinaHead loss: no positive → loss_bbox 0 and the focal sum over every valid anchor divided by 1 per image', () => {
  const h = head();
  try {
    torch.tidy(() => {
      const feats = [[4, 4], [2, 2], [1, 1], [1, 1], [1, 1]].map(([fh, fw]) => torch.randn([1, 8, fh, fw]));
      const meta = { oriShape: [32, 32] as [number, number], imgShape: [32, 32] as [number, number], scaleFactor: [1, 1] as [number, number] };
      const cfg = { assigner: { posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0 }, allowedBorder: -1 };
      const empty = { boxes: torch.zeros([0, 4]), labels: torch.zeros([0], { dtype: 'int64' }) };
      const losses = h.loss(feats, [meta], [empty], cfg);
      assert.ok(losses.loss_bbox.item() === 0, `loss_bbox ${losses.loss_bbox.item()}`); // ±0: a zero-weighted sum keeps the sign of the sum
      // every anchor is negative: Σ focal(x, 0) over all (anchor, class) logits, / (1 + eps)
      const logits = torch.cat(h.forward(feats).clsScores.map((c) => c.permute(0, 2, 3, 1).reshape(-1, 3)));
      const want = sigmoidFocalLoss(logits, torch.zerosLike(logits)).sum().item() as number;
      close([losses.loss_cls.item() as number], [want], 1e-5, 'all negative');
      // a gt equal to an anchor (ratio 1, scale 4 at cell (1, 1) of stride 8) makes positives: a box loss on them
      const gt = { boxes: torch.tensor([[-8, -8, 24, 24]]), labels: torch.tensor([2], { dtype: 'int64' }) };
      const withGt = h.loss(feats, [meta], [gt], cfg);
      assert.ok((withGt.loss_bbox.item() as number) > 0);
      assert.notEqual(withGt.loss_cls.item(), losses.loss_cls.item());
    });
  } finally {
    h.dispose();
  }
});

test('RetinaNet configuration errors name the key', () => {
  assert.throws(() => head({ numClasses: 0 }), /model\.bboxHead\.numClasses: expected a positive integer, got 0/);
  assert.throws(() => head({ priorProb: 1 }), /model\.bboxHead\.priorProb/);
  const bad = { ...retinanetR50Fpn, bboxHead: { ...retinanetR50Fpn.bboxHead, anchor: { ...ANCHOR, strides: [8, 16, 32, 64] } } };
  assert.throws(() => buildDetector(bad), /model\.bboxHead\.anchor\.strides: 4 strides for the neck's 5 outputs \(model\.neck\.numOuts\)/);
  const lv = { ...retinanetR50Fpn, bboxHead: { ...retinanetR50Fpn.bboxHead, anchor: { strides: [8, 16, 32, 64, 128], ratios: [1], levelScales: [[1, 2], [1, 2], [1, 2], [1, 2], [1]] } } };
  assert.throws(() => buildDetector(lv), /AnchorGenerator: levelScales needs 5 levels \(one per stride\) of equally many scales/);
});
