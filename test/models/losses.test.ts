/**
 * Box-regression losses against torchvision 0.14 / torch 1.13 (Debian's python3-torchvision,
 * run in the test): GIoU loss values and gradients vs torchvision.ops.generalized_box_iou_loss,
 * smooth L1 and L1 vs torch.nn.functional, and a hand-derived GIoU case.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { boxLoss, generalizedIouLoss, regDecodedBbox } from '../../src/models/losses/box_loss';
import { Rng } from '../../src/data/rng';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';
import { close } from '../helpers/close';


test('GIoU loss: hand-derived values', () => {
  torch.tidy(() => {
    // identical boxes → 0; disjoint unit squares 1 apart: IoU 0, enclosure 3, union 2 → GIoU −1/3 → loss 4/3
    const pred = torch.tensor([[0, 0, 2, 2], [0, 0, 1, 1]]);
    const target = torch.tensor([[0, 0, 2, 2], [2, 0, 3, 1]]);
    close(generalizedIouLoss(pred, target, 0).toArray(), [0, 4 / 3], 1e-6, 'giou');
    assert.equal(regDecodedBbox({ type: 'GIoULoss' }), true);
    assert.equal(regDecodedBbox({ type: 'L1Loss' }), false);
    assert.throws(() => boxLoss({ type: 'IoULoss' } as never, pred, target), /unknown type IoULoss/);
  });
});

test('box losses equal torchvision / torch on random boxes, with gradients', { skip: hasReference() ? false : NO_REFERENCE }, () => {
  const rng = new Rng(3);
  const box = (): number[] => {
    const x = rng.uniform(0, 50), y = rng.uniform(0, 50);
    return [x, y, x + rng.uniform(1, 40), y + rng.uniform(1, 40)];
  };
  const pred = Array.from({ length: 24 }, box);
  const target = Array.from({ length: 24 }, box);
  const ref = python<Record<string, number[] | number>>(`
from torchvision.ops import generalized_box_iou_loss
import torch.nn.functional as F
out = {}
for name, fn in [('giou', lambda p, t: generalized_box_iou_loss(p, t, reduction='sum', eps=1e-6) * 2.0),
                 ('smooth', lambda p, t: F.smooth_l1_loss(p, t, reduction='sum', beta=1/9)),
                 ('l1', lambda p, t: F.l1_loss(p, t, reduction='sum') * 0.5)]:
    p = torch.tensor(inp['pred'], dtype=torch.float64, requires_grad=True)
    t = torch.tensor(inp['target'], dtype=torch.float64)
    loss = fn(p, t)
    loss.backward()
    out[name] = loss.item()
    out[name + '_grad'] = p.grad.flatten().tolist()
`, { pred, target });
  const cases = [
    ['giou', { type: 'GIoULoss', lossWeight: 2 }],
    ['smooth', { type: 'SmoothL1Loss', beta: 1 / 9 }],
    ['l1', { type: 'L1Loss', lossWeight: 0.5 }],
  ] as const;
  for (const [name, cfg] of cases) {
    torch.tidy(() => {
      const p = torch.tensor(pred, { dtype: 'float64' }).requiresGrad_();
      const loss = boxLoss(cfg, p, torch.tensor(target, { dtype: 'float64' }));
      loss.backward();
      close([loss.item()], [ref[name] as number], 1e-9, name);
      close(p.grad!.toArray(), ref[`${name}_grad`] as number[], 1e-9, `${name} grad`);
    });
  }
});
