/**
 * Detection building blocks against hand-derived values and against torchvision 0.14's
 * equivalents (AnchorGenerator, BoxCoder, Matcher, fastrcnn_loss), computed in one
 * Debian python3-torchvision process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { AnchorGenerator } from '../../src/models/task_modules/anchor_generator';
import { DeltaXYWHBBoxCoder } from '../../src/models/task_modules/bbox_coder';
import { MaxIoUAssigner } from '../../src/models/task_modules/assigner';
import { RandomSampler } from '../../src/models/task_modules/sampler';
import { bboxOverlaps } from '../../src/models/task_modules/iou';
import { model as tvModel } from '../../configs/torchvision/fasterrcnn_resnet50_fpn';
import { Rng } from '../../src/data/rng';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';
import { close } from '../helpers/close';


test('anchor generator: hand-derived MMDetection anchors', () => {
  torch.tidy(() => {
    const g = new AnchorGenerator({ strides: [4], ratios: [1], scales: [8] });
    const a = g.singleLevelGridAnchors(0, 2, 2, 4, 4).tolist() as number[][];
    // base anchor 32×32 centred at (0, 0); positions (y, x) = (0,0), (0,4), (4,0), (4,4)
    assert.deepEqual(a, [[-16, -16, 16, 16], [-12, -16, 20, 16], [-16, -12, 16, 20], [-12, -12, 20, 20]]);
    const r = new AnchorGenerator({ strides: [8], ratios: [0.5, 2], scales: [2] });
    const [wide, tall] = r.singleLevelGridAnchors(0, 1, 1, 8, 8).tolist() as number[][];
    // ratio = h/w: 0.5 → w = 16·√2, h = 16/√2
    close(wide, [-8 * Math.SQRT2, -8 / Math.SQRT2, 8 * Math.SQRT2, 8 / Math.SQRT2], 1e-5, 'ratio 0.5');
    close(tall, [-8 / Math.SQRT2, -8 * Math.SQRT2, 8 / Math.SQRT2, 8 * Math.SQRT2], 1e-5, 'ratio 2');
  });
});

test('box coder: encode then decode is the identity; clipping to the image', () => {
  torch.tidy(() => {
    const coder = new DeltaXYWHBBoxCoder({ stds: [0.1, 0.1, 0.2, 0.2] });
    const boxes = torch.tensor([[10, 10, 50, 30], [0, 0, 8, 8]]);
    const gt = torch.tensor([[12, 8, 60, 36], [1, 2, 5, 9]]);
    const back = coder.decode(boxes, coder.encode(boxes, gt));
    close(back.toArray(), gt.toArray(), 1e-5, 'round trip');
    // hand-derived: centre shift of half a width, no size change, std 0.1 → dx = 5
    close(coder.encode(torch.tensor([[0, 0, 10, 10]]), torch.tensor([[5, 0, 15, 10]])).toArray(), [5, 0, 0, 0], 1e-6, 'encode');
    const clipped = coder.decode(torch.tensor([[0, 0, 10, 10]]), torch.tensor([[-10, 0, 0, 0]]), [20, 20]);
    close(clipped.toArray(), [0, 0, 0, 10], 1e-6, 'clipped');
  });
});

test('max-IoU assigner: hand-checkable assignment with ignore and low-quality matches', () => {
  torch.tidy(() => {
    const gt = torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30]]);
    const priors = torch.tensor([
      [0, 0, 10, 10], // IoU 1 with gt 0 → 1
      [0, 0, 10, 20], // IoU 0.5 with gt 0 → between thresholds → -1
      [40, 40, 50, 50], // no overlap → 0
      [20, 20, 40, 40], // IoU 0.25 with gt 1: gt 1's best → low-quality match → 2
    ]);
    const a = new MaxIoUAssigner({ posIouThr: 0.7, negIouThr: 0.3, minPosIou: 0.2 }).assign(priors, gt, torch.tensor([3, 1], { dtype: 'int64' }));
    assert.deepEqual(a.gtInds.toArray(), [1, -1, 0, 2]);
    assert.deepEqual(a.labels.toArray(), [3, -1, -1, 1]);
    const strict = new MaxIoUAssigner({ posIouThr: 0.7, negIouThr: 0.3, matchLowQuality: false }).assign(priors, gt, torch.tensor([3, 1], { dtype: 'int64' }));
    assert.deepEqual(strict.gtInds.toArray(), [1, -1, 0, 0]);
    const ignored = new MaxIoUAssigner({ posIouThr: 0.7, negIouThr: 0.3, matchLowQuality: false, ignoreIofThr: 0.5 })
      .assign(priors, gt, torch.tensor([3, 1], { dtype: 'int64' }), torch.tensor([[38, 38, 52, 52]]));
    assert.deepEqual(ignored.gtInds.toArray(), [1, -1, -1, 0]);
  });
});

test('random sampler: respects num and pos fraction, adds gts as proposals', () => {
  torch.tidy(() => {
    torch.manualSeed(0);
    const gt = torch.tensor([[0, 0, 10, 10]]);
    const priors = torch.cat([torch.tensor([[0, 0, 10, 10]]).repeat(20, 1), torch.tensor([[50, 50, 60, 60]]).repeat(50, 1)]);
    const a = new MaxIoUAssigner({ posIouThr: 0.5, negIouThr: 0.5, matchLowQuality: false }).assign(priors, gt, torch.tensor([0], { dtype: 'int64' }));
    const s = new RandomSampler({ num: 16, posFraction: 0.25, addGtAsProposals: true }).sample(a, priors, gt, torch.tensor([0], { dtype: 'int64' }));
    assert.equal(s.posInds.size(0), 4);
    assert.equal(s.negInds.size(0), 12);
    assert.ok(s.posGtBoxes.eq(gt).all().item());
    assert.equal(bboxOverlaps(s.posPriors, gt).min().item(), 1);
  });
});

test('anchors, box coder, matcher and Fast R-CNN loss equal torchvision\'s', { skip: hasReference() ? false : NO_REFERENCE }, () => {
  const rng = new Rng(7);
  const randBoxes = (n: number, size: number) => Array.from({ length: n }, () => {
    const x = rng.next() * size, y = rng.next() * size;
    return [x, y, x + 4 + rng.next() * size / 2, y + 4 + rng.next() * size / 2];
  });
  const gt = randBoxes(6, 200);
  const priors = [...randBoxes(200, 200), ...gt.map((b) => b.map((v) => v + 1.5))];
  const logits = Array.from({ length: 8 }, () => Array.from({ length: 5 }, () => rng.next() * 4 - 2));
  const labels = [0, 1, 2, 3, 4, 1, 0, 2];
  const regression = Array.from({ length: 8 }, () => Array.from({ length: 20 }, () => rng.next() - 0.5));
  const targets = Array.from({ length: 8 }, () => Array.from({ length: 4 }, () => rng.next() - 0.5));
  const featSizes: [number, number][] = [[200, 304], [100, 152], [50, 76], [25, 38], [13, 19]];
  const ref = python<{ anchors: number[][][]; enc: number[][]; dec: number[][]; matches: number[]; cls: number; box: number }>(`
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.roi_heads import fastrcnn_loss
from torchvision.ops import box_iou
ag = AnchorGenerator(((32,), (64,), (128,), (256,), (512,)), ((0.5, 1.0, 2.0),) * 5)
images = ImageList(torch.zeros(1, 3, 800, 1216), [(800, 1216)])
feats = [torch.zeros(1, 1, h, w) for h, w in inp['feat']]
anchors = ag(images, feats)[0]
sizes = [h * w * 3 for h, w in inp['feat']]
coder = det_utils.BoxCoder((10.0, 10.0, 5.0, 5.0))
gt = torch.tensor(inp['gt']); pr = torch.tensor(inp['priors'])
m = pr[:len(gt)]
enc = coder.encode_single(gt, m)
dec = coder.decode_single(enc, m)
matcher = det_utils.Matcher(0.7, 0.3, allow_low_quality_matches=True)
matches = matcher(box_iou(gt, pr))
cls, box = fastrcnn_loss(torch.tensor(inp['logits']), torch.tensor(inp['regression']), [torch.tensor(inp['labels'])], [torch.tensor(inp['targets'])])
out = {'anchors': [a.tolist() for a in anchors.split(sizes)], 'enc': enc.tolist(), 'dec': dec.tolist(), 'matches': matches.tolist(), 'cls': cls.item(), 'box': box.item()}
`, { feat: featSizes, gt, priors, logits, labels, regression, targets });

  torch.tidy(() => {
    // anchors: the torchvision config's generator with strides from padded size // feature size
    const g = new AnchorGenerator(tvModel.rpnHead!.anchor);
    featSizes.forEach(([h, w], l) => {
      const ours = g.singleLevelGridAnchors(l, h, w, Math.floor(800 / h), Math.floor(1216 / w)).toArray();
      close(ours, ref.anchors[l].flat(), 0, `anchors level ${l}`);
    });
    // box coder with torchvision's weights (10, 10, 5, 5) = stds (0.1, 0.1, 0.2, 0.2)
    const coder = new DeltaXYWHBBoxCoder(tvModel.roiHead!.bboxHead.coder);
    const m = torch.tensor(priors.slice(0, gt.length));
    close(coder.encode(m, torch.tensor(gt)).toArray(), ref.enc.flat(), 1e-4, 'encode');
    close(coder.decode(m, torch.tensor(ref.enc)).toArray(), ref.dec.flat(), 1e-4, 'decode');
    // matcher: torchvision's -1 (below low) is our 0, its -2 (between) our -1, a match i our i + 1
    const a = new MaxIoUAssigner({ posIouThr: 0.7, negIouThr: 0.3, minPosIou: 0, matchLowQuality: true })
      .assign(torch.tensor(priors), torch.tensor(gt), torch.zeros([gt.length], { dtype: 'int64' }));
    const asTv = a.gtInds.toArray().map((v) => (v === 0 ? -1 : v === -1 ? -2 : v - 1));
    assert.deepEqual(asTv, ref.matches);
    // Fast R-CNN loss: softmax CE (mean) + smooth L1 (beta 1/9, summed over positives) / N
    const lg = torch.tensor(logits);
    const lb = torch.tensor(labels, { dtype: 'int64' });
    const cls = torch.F.crossEntropy(lg, lb).item();
    const pos = lb.gt(0).nonzero().view(-1);
    const pred = torch.tensor(regression).view(8, -1, 4).index([pos, lb.index([pos])]);
    const box = torch.F.smoothL1Loss(pred, torch.tensor(targets).index([pos]), { beta: 1 / 9, reduction: 'sum' }).item() / labels.length;
    close([cls, box], [ref.cls, ref.box], 1e-5, 'fastrcnn_loss');
  });
});
