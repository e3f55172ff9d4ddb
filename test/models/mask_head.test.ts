/**
 * The mask branch's pieces against hand-derived values: mask targets (mmdet's mask_target:
 * RoIAlign aligned, adaptive sampling, ≥ 0.5), the paste (mmdet's _do_paste_mask), the label
 * channel and rescale of predictMasks, parameter names, and masks in/out of the task's tensors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { FCNMaskHead, maskTargets, pasteMasks } from '../../src/models/roi_heads/fcn_mask_head';
import { masksToTensor, toCocoResults } from '../../src/tasks/detection/data';
import { decodeMask, rleFromJson } from '../../src/evaluation/coco/mask';

/** A [h, w] uint8 plane with ones in [x1, x2) × [y1, y2). */
function rect(h: number, w: number, x1: number, y1: number, x2: number, y2: number) {
  return torch.tidy(() => torch.F.pad(torch.ones([y2 - y1, x2 - x1], { dtype: 'uint8' }), [x1, w - x2, y1, h - y2]));
}

test('maskTargets: an axis-aligned gt box cropped by itself is all ones; by a box twice as wide, the left 14 columns', () => {
  torch.tidy(() => {
    // gt 0 elsewhere, gt 1 the rectangle x [10, 30), y [20, 40) of a 64 × 64 image
    const gts = torch.stack([rect(64, 64, 40, 40, 60, 60), rect(64, 64, 10, 20, 30, 40)]);
    const priors = torch.tensor([[10, 20, 30, 40], [10, 20, 50, 40], [10, 20, 90, 40]]);
    const t = maskTargets(priors, torch.tensor([1, 1, 1], { dtype: 'int64' }), gts, 28);
    assert.deepEqual(t.shape, [3, 28, 28]);
    assert.equal(t.dtype, 'float32');
    // the box itself: every bin's sample lies ≥ 0.857 inside → 1
    assert.equal(t.select(0, 0).sum().item(), 28 * 28);
    // 40 px wide: 2 samples per bin; column 13 averages 1 and 0.857, column 14 0.143 and 0 → ones in columns 0..13
    const cols = t.select(0, 1).sum({ dim: 0 }).toArray();
    assert.deepEqual(cols, [...Array(14).fill(28), ...Array(14).fill(0)]);
    // 80 px wide clipped to the image's 64: x [10, 64), bins of 54/28 px with 2 samples; column 9's samples
    // (x 27.34, 28.30) are inside, column 10's (29.27 → 0.73, 30.23 → 0) average 0.37 → ones in columns 0..9
    const cols2 = t.select(0, 2).sum({ dim: 0 }).toArray();
    assert.deepEqual(cols2, [...Array(10).fill(28), ...Array(18).fill(0)]);
    // no positives: [0, 28, 28]
    assert.deepEqual(maskTargets(torch.zeros([0, 4]), torch.zeros([0], { dtype: 'int64' }), gts, 28).shape, [0, 28, 28]);
  });
});

test('pasteMasks: a constant 0.8 mask fills exactly the pixels whose centres lie in the box', () => {
  torch.tidy(() => {
    const probs = torch.full([1, 1, 28, 28], 0.8);
    const box = torch.tensor([[10, 20, 30, 40]]);
    const m = pasteMasks(probs, box, 64, 64, 0.5);
    assert.equal(m.dtype, 'bool');
    assert.equal(m.sum().item(), 400);
    assert.equal(m.select(0, 0).slice(0, 20, 40).slice(1, 10, 30).sum().item(), 400);
    const p = pasteMasks(probs, box, 64, 64, -1);
    assert.equal(p.dtype, 'float32');
    assert.ok(Math.abs((p.max().item() as number) - 0.8) < 1e-6);
    // pixel centre 9.5 maps to grid x −1.05: beyond half a mask pixel → 0
    assert.equal(p.select(0, 0).select(0, 30).select(0, 9).item(), 0);
    // a box reaching past the image is clipped to it
    assert.equal(pasteMasks(probs, torch.tensor([[50, 50, 70, 70]]), 64, 64, 0.5).sum().item(), 14 * 14);
  });
});

test('FCNMaskHead: mmdet parameter names, 2× upsampled class maps, the label channel pasted after rescale', () => {
  torch.tidy(() => {
    const head = new FCNMaskHead({ inChannels: 8, convOutChannels: 4, numClasses: 3 });
    assert.deepEqual([...head.stateDict().keys()].sort(), [
      'conv_logits.bias', 'conv_logits.weight',
      ...[0, 1, 2, 3].flatMap((i) => [`convs.${i}.conv.bias`, `convs.${i}.conv.weight`]),
      'upsample.bias', 'upsample.weight',
    ]);
    assert.deepEqual(head.forward(torch.randn([2, 8, 14, 14])).shape, [2, 3, 28, 28]);
    // class 2 on (logit +10), others off; box in resized pixels, scale 2 → (10, 20, 30, 40) in the original
    const preds = torch.cat([torch.full([2, 2, 28, 28], -10), torch.full([2, 1, 28, 28], 10)], 1);
    const boxes = torch.tensor([[20, 40, 60, 80], [20, 40, 60, 80]]);
    const r = head.predictMasks(preds, boxes, torch.tensor([2, 0], { dtype: 'int64' }), [2, 2], [64, 64], { maskThrBinary: 0.5 });
    assert.deepEqual(r.boxes.toArray(), [10, 20, 30, 40, 10, 20, 30, 40]);
    assert.deepEqual(r.masks.shape, [2, 64, 64]);
    assert.equal(r.masks.select(0, 0).sum().item(), 400);
    assert.equal(r.masks.select(0, 1).sum().item(), 0);
    // loss: the label channel only; a perfect prediction of all-ones targets gives BCE(10, 1)
    const loss = head.loss(preds, torch.ones([2, 28, 28]), torch.tensor([2, 2], { dtype: 'int64' }));
    assert.ok(Math.abs((loss.item() as number) - Math.log1p(Math.exp(-10))) < 1e-7);
  });
});

test('masksToTensor pads to the batch; toCocoResults writes each mask as compressed RLE', () => {
  torch.tidy(() => {
    const square = new Float32Array([2, 1, 6, 1, 6, 4, 2, 4]); // x [2, 6), y [1, 4) in a 5 × 8 image
    const t = masksToTensor({ kind: 'polygons', height: 5, width: 8, polygons: [[square]] }, 8, 16);
    assert.deepEqual(t.shape, [1, 8, 16]);
    assert.equal(t.sum().item(), 12);
    assert.equal(t.select(0, 0).slice(0, 1, 4).slice(1, 2, 6).sum().item(), 12);
    const bits = new Uint8Array(2 * 5 * 8);
    bits[8 + 3] = 1; // instance 0, (y 1, x 3)
    const b = masksToTensor({ kind: 'bitmaps', height: 5, width: 8, data: bits, count: 2 }, 8, 16);
    assert.equal(b.select(0, 0).select(0, 1).select(0, 3).item(), 1);
    assert.equal(b.sum().item(), 1);

    const masks = torch.stack([rect(5, 8, 2, 1, 6, 4), rect(5, 8, 0, 0, 1, 1)]).to('bool');
    const det = { boxes: torch.tensor([[2, 1, 6, 4], [0, 0, 1, 1]]), scores: torch.tensor([0.9, 0.5]), labels: torch.tensor([1, 0], { dtype: 'int64' }), masks };
    const res = toCocoResults([det], [{ meta: { imgId: 7 } as never }], [3, 5]);
    assert.deepEqual(res.map((r) => r.category_id), [5, 3]);
    for (const [k, r] of res.entries()) {
      const seg = r.segmentation!;
      assert.deepEqual(seg.size, [5, 8]);
      assert.equal(typeof seg.counts, 'string');
      const col = decodeMask(rleFromJson(seg));
      const want = masks.select(0, k).t().contiguous().to('uint8').toTypedArray();
      assert.deepEqual([...col], [...want]);
    }
  });
});
