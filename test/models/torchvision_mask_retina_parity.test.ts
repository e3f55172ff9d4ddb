/**
 * torchvision/retinanet_resnet50_fpn against torchvision 0.14's retinanet_resnet50_fpn: the
 * same weights (saved by torchvision as .pth, loaded through the key map), the same float RGB
 * pixels, the same detections (an image that resizes, one that does not), and the same losses
 * of one training step (RetinaNet samples nothing: every anchor counts, so both sides are
 * deterministic; one image per loss, as torchvision averages per-image losses).
 *
 * One Python call makes everything: generated scenes, a seeded random model (BN statistics of
 * the scenes, random affine parameters), a few SGD steps on the heads (scores spread), then
 * its detections and loss dicts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { buildSingleStageDetector, buildTwoStageDetector } from '../../src/models/detectors/build';
import { preprocessImages } from '../../src/models/detectors/preprocess';
import { loadTorchvisionWeights, predictTorchvision, torchvisionKeyMap } from '../../src/models/detectors/torchvision';
import type { Detector } from '../../src/models/detectors/types';
import { model as retinaCfg } from '../../configs/torchvision/retinanet_resnet50_fpn';
import { model as maskCfg } from '../../configs/torchvision/maskrcnn_resnet50_fpn';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';
import { describe, iou, match, newStats } from '../helpers/detection_match';
import { PY_SCENES } from '../helpers/torchvision_python';

interface RefImage {
  imageSize: [number, number];
  boxes: number[][];
  scores: number[];
  labels: number[];
  /** Targets as torchvision's transform resized them (training, min size 800). */
  gtBoxes: number[][];
  gtLabels: number[];
  losses: { classification: number; bbox_regression: number };
}
interface Ref { images: RefImage[]; keys: string[]; trainLosses: number[] }

const skip = hasReference() ? false : NO_REFERENCE;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-tv-retina-'));
// h, w, rectangles: 333×500 resizes to 799×1201; 800×960 stays as it is
const SIZES = [[333, 500, 4], [800, 960, 5]];
let ref: Ref;
let images: Tensor[] = [];

const BODY = `
from torchvision.models.detection import retinanet_resnet50_fpn
torch.set_num_threads(2)
d = inp['dir'] + '/'
torch.manual_seed(0)
gen = torch.Generator().manual_seed(1)

${PY_SCENES}
scenes = [scene(h, w, n) for (h, w, n) in inp['sizes']]
torch.save({f'img{i}': s[0] for i, s in enumerate(scenes)}, d + 'images.pth')

model = retinanet_resnet50_fpn(weights=None, weights_backbone=None)
calibrate(model, [s[0] for s in scenes])
train_losses = train_heads(model, [s[0] for s in scenes], [{'boxes': s[1], 'labels': s[2]} for s in scenes], inp['trainMinSize'], inp['lr'], inp['steps'])
torch.save(model.state_dict(), d + 'trained.pth')

res = []
for img, boxes, labels in scenes:
    with torch.no_grad():
        # the training loss of this image alone (BN in eval mode, as above)
        model.train()
        model.backbone.body.eval()
        ld = model([img], [{'boxes': boxes, 'labels': labels}])
        _, tg = model.transform([img], [{'boxes': boxes, 'labels': labels}])
        model.eval()
        images, _ = model.transform([img])
        det = model([img])[0]
    res.append({
        'imageSize': list(images.image_sizes[0]),
        'boxes': det['boxes'].tolist(), 'scores': det['scores'].tolist(), 'labels': det['labels'].tolist(),
        'gtBoxes': tg[0]['boxes'].tolist(), 'gtLabels': tg[0]['labels'].tolist(),
        'losses': {k: float(v) for k, v in ld.items()},
    })
out = {'images': res, 'keys': list(model.state_dict().keys()), 'trainLosses': train_losses}
`;

before(() => {
  if (skip) return;
  ref = python<Ref>(BODY, { dir, sizes: SIZES, trainMinSize: 320, lr: 0.01, steps: 3 }, 600_000);
  const sd = torch.loadStateDict(path.join(dir, 'images.pth'));
  images = SIZES.map((_, i) => torch.keep(sd.get(`img${i}`)!));
  torch.dispose([...sd.values()].filter((t) => !images.includes(t)));
});

after(() => {
  torch.dispose(images);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `model` with the torchvision state dict `file` (in the test's folder) loaded through the key map. */
function withWeights<T extends Detector>(model: T, file: string): T {
  const weights = torch.loadStateDict(path.join(dir, file));
  try {
    loadTorchvisionWeights(model, weights);
  } finally {
    torch.dispose([...weights.values()]);
  }
  return model;
}

const loadRetina = () => withWeights(buildSingleStageDetector(retinaCfg), 'trained.pth');

test('torchvision key map covers every key of retinanet_resnet50_fpn', { skip }, () => {
  const model = buildSingleStageDetector(retinaCfg);
  const own = new Set(model.stateDict().keys());
  const map = torchvisionKeyMap();
  assert.deepEqual(ref.keys.filter((k) => !own.has(map(k)!)), []);
  assert.equal(ref.keys.length, own.size);
});

test('torchvision/retinanet_resnet50_fpn: detections as torchvision\'s (resized and unresized image)', { skip }, (t) => {
  const model = loadRetina().eval();
  const all = newStats();
  images.forEach((img, i) => {
    const r = ref.images[i];
    const batch = preprocessImages([img], retinaCfg.dataPreprocessor);
    assert.deepEqual(batch.metas[0].imgShape, r.imageSize, `image ${i}: resized size`);
    torch.dispose(batch);
    const one = newStats();
    const [d] = predictTorchvision(model, retinaCfg, [img]);
    match(r.boxes, r.scores, r.labels, d, one);
    torch.dispose(d);
    t.diagnostic(`image ${i} (${SIZES[i][0]}×${SIZES[i][1]} → ${r.imageSize.join('×')}): ${describe(one)}`);
    assert.ok(one.total >= 20, `image ${i}: torchvision made only ${one.total} detections (train losses ${ref.trainLosses})`);
    Object.assign(all, { total: all.total + one.total, matched: all.matched + one.matched, minIoU: Math.min(all.minIoU, one.minIoU), maxDScore: Math.max(all.maxDScore, one.maxDScore) });
  });
  t.diagnostic(`all: ${describe(all)}`);
  assert.ok(all.matched >= 0.99 * all.total, `detections: ${describe(all)}`);
});

test('torchvision/retinanet_resnet50_fpn: one training step\'s losses as torchvision\'s (classification, bbox_regression)', { skip }, (t) => {
  const model = loadRetina().train();
  images.forEach((img, i) => {
    const r = ref.images[i];
    const losses = torch.tidy(() => {
      const batch = preprocessImages([img], retinaCfg.dataPreprocessor);
      const targets = [{ boxes: torch.tensor(r.gtBoxes), labels: torch.tensor(r.gtLabels, { dtype: 'int64' }) }];
      const ld = model.loss({ ...batch, targets });
      return { classification: ld.loss_cls.item() as number, bbox_regression: ld.loss_bbox.item() as number };
    });
    for (const k of ['classification', 'bbox_regression'] as const) {
      const rel = Math.abs(losses[k] - r.losses[k]) / Math.abs(r.losses[k]);
      t.diagnostic(`image ${i} ${k}: ours ${losses[k]}, torchvision ${r.losses[k]}, relative error ${rel.toExponential(2)}`);
      assert.ok(rel <= 1e-4, `image ${i} ${k}: ours ${losses[k]}, torchvision ${r.losses[k]}`);
    }
  });
});

interface MaskRef {
  images: { boxes: number[][]; scores: number[]; labels: number[]; losses: Record<string, number>; gtBoxes: number[][]; gtLabels: number[] }[];
  keys: string[];
  trainLosses: number[];
}
let mref: MaskRef | undefined;

const MASK_BODY = `
from torchvision.models.detection import maskrcnn_resnet50_fpn
torch.set_num_threads(2)
d = inp['dir'] + '/'
torch.manual_seed(0)
gen = torch.Generator().manual_seed(2)
sd = torch.load(d + 'images.pth')
imgs = [sd[f'img{i}'] for i in range(len(sd))]

${PY_SCENES}
# targets: ellipses inside random boxes (painted onto the images' copies for training)
def target(img, n):
    h, w = img.shape[-2:]
    img = img.clone()
    boxes, masks = [], []
    yy, xx = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing='ij')
    for k in range(n):
        bw, bh = int(w * (0.15 + 0.3 * float(rnd(1)))), int(h * (0.15 + 0.3 * float(rnd(1))))
        x, y = int((w - bw) * float(rnd(1))), int((h - bh) * float(rnd(1)))
        m = (((xx - x - bw / 2) / (bw / 2)) ** 2 + ((yy - y - bh / 2) / (bh / 2)) ** 2) <= 1
        img[:, m] = rnd(3, 1) * 0.8 + 0.1
        boxes.append([x, y, x + bw, y + bh])
        masks.append(m.to(torch.uint8))
    return img, {'boxes': torch.tensor(boxes, dtype=torch.float32), 'labels': torch.tensor([1 + k % 3 for k in range(n)]), 'masks': torch.stack(masks)}

train = [target(img, 4) for img in imgs]
model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None)
calibrate(model, imgs)
with torch.no_grad():
    model.roi_heads.box_predictor.cls_score.weight.normal_(0, 0.01, generator=gen)
losses = train_heads(model, [t[0] for t in train], [t[1] for t in train], inp['trainMinSize'], inp['lr'], inp['steps'])
model.eval()
torch.save(model.state_dict(), d + 'mask.pth')
res, masks = [], {}
with torch.no_grad():
    for i, (img, _) in enumerate(train):
        det = model([img])[0]
        masks[f'masks{i}'] = det['masks'][:, 0].contiguous()
        masks[f'img{i}'] = img
        res.append({'boxes': det['boxes'].tolist(), 'scores': det['scores'].tolist(), 'labels': det['labels'].tolist()})
# losses of one image at a time with samplers that take every candidate (no random choice;
# BN in eval mode as in training above)
model.rpn.fg_bg_sampler.batch_size_per_image = 10 ** 7
model.roi_heads.fg_bg_sampler.batch_size_per_image = 10 ** 7
model.train()
model.backbone.body.eval()
with torch.no_grad():
    for i, (img, tgt) in enumerate(train):
        ld = model([img], [tgt])
        _, tg = model.transform([img], [tgt])
        masks[f'gtMasks{i}'] = tg[0]['masks']
        res[i].update({'losses': {k: float(v) for k, v in ld.items()}, 'gtBoxes': tg[0]['boxes'].tolist(), 'gtLabels': tg[0]['labels'].tolist()})
torch.save(masks, d + 'mask_out.pth')
out = {'images': res, 'keys': list(model.state_dict().keys()), 'trainLosses': losses}
`;

test('torchvision/maskrcnn_resnet50_fpn: detections and mask probabilities as torchvision\'s', { skip }, (t) => {
  mref = python<MaskRef>(MASK_BODY, { dir, trainMinSize: 320, lr: 0.01, steps: 3 }, 600_000);
  const model = buildTwoStageDetector(maskCfg);
  const own = new Set(model.stateDict().keys());
  const map = torchvisionKeyMap();
  assert.deepEqual(mref.keys.filter((k) => !own.has(map(k)!)), [], 'key map');
  assert.equal(mref.keys.length, own.size);
  withWeights(model, 'mask.pth').eval();
  const outs = torch.loadStateDict(path.join(dir, 'mask_out.pth'));
  try {
    const all = newStats();
    let maxMaskDiff = 0, masksCompared = 0, minMaskIoU = 1;
    mref!.images.forEach((r, i) => {
      const img = outs.get(`img${i}`)!;
      const refMasks = outs.get(`masks${i}`)!;
      const one = newStats();
      const [d] = predictTorchvision(model, maskCfg, [img]);
      try {
        match(r.boxes, r.scores, r.labels, d, one);
        assert.ok(d.masks && d.masks.dtype === 'float32', 'float mask probabilities');
        assert.deepEqual(d.masks.shape, [d.boxes.size(0), ...img.shape.slice(1)]);
        // masks of the detections that match one to one (same index: both sorted by score)
        const ob = d.boxes.toTypedArray() as Float32Array;
        const ol = d.labels.toArray();
        r.boxes.forEach((rb, k) => {
          if (k >= ob.length / 4 || ol[k] !== r.labels[k] || iou(rb, ob.subarray(4 * k, 4 * k + 4)) < 0.99) return;
          const [diff, mi] = torch.tidy(() => {
            const a = d.masks!.select(0, k), b = refMasks.select(0, k);
            const ab = a.ge(0.5), bb = b.ge(0.5);
            const union = ab.logicalOr(bb).sum().item() as number;
            return [a.sub(b).abs().max().item() as number, union === 0 ? 1 : (ab.logicalAnd(bb).sum().item() as number) / union];
          });
          maxMaskDiff = Math.max(maxMaskDiff, diff);
          minMaskIoU = Math.min(minMaskIoU, mi);
          masksCompared++;
        });
      } finally {
        torch.dispose(d);
      }
      t.diagnostic(`image ${i} (${img.shape.slice(1).join('×')}): ${describe(one)}`);
      Object.assign(all, { total: all.total + one.total, matched: all.matched + one.matched, minIoU: Math.min(all.minIoU, one.minIoU), maxDScore: Math.max(all.maxDScore, one.maxDScore) });
    });
    t.diagnostic(`all: ${describe(all)}; masks compared ${masksCompared}, max |Δprob| ${maxMaskDiff.toExponential(2)}, min mask IoU@0.5 ${minMaskIoU.toFixed(5)} (train losses ${mref!.trainLosses})`);
    assert.ok(all.total >= 20, `torchvision made only ${all.total} detections`);
    assert.ok(all.matched >= 0.99 * all.total, `detections: ${describe(all)}`);
    assert.ok(masksCompared >= 0.95 * all.total, `masks compared: ${masksCompared} of ${all.total}`);
    assert.ok(maxMaskDiff <= 1e-3, `max |Δ mask probability| ${maxMaskDiff}`);
  } finally {
    torch.dispose([...outs.values()]);
  }
});

test('torchvision/maskrcnn_resnet50_fpn: one training step\'s losses as torchvision\'s (samplers taking every candidate)', { skip }, (t) => {
  assert.ok(mref, 'the Mask R-CNN reference ran (previous test)');
  const all = <T extends { num: number }>(c: T): T => ({ ...c, num: 10 ** 7 });
  const cfg = {
    ...maskCfg,
    trainCfg: { ...maskCfg.trainCfg, rpn: { ...maskCfg.trainCfg.rpn!, sampler: all(maskCfg.trainCfg.rpn!.sampler) }, rcnn: { ...maskCfg.trainCfg.rcnn!, sampler: all(maskCfg.trainCfg.rcnn!.sampler) } },
  };
  const model = withWeights(buildTwoStageDetector(cfg), 'mask.pth').train();
  const outs = torch.loadStateDict(path.join(dir, 'mask_out.pth'));
  const names: [string, string][] = [['loss_objectness', 'loss_rpn_cls'], ['loss_rpn_box_reg', 'loss_rpn_bbox'], ['loss_classifier', 'loss_cls'], ['loss_box_reg', 'loss_bbox'], ['loss_mask', 'loss_mask']];
  try {
    mref!.images.forEach((r, i) => {
      const ours = torch.tidy(() => {
        const batch = preprocessImages([outs.get(`img${i}`)!], cfg.dataPreprocessor);
        // gt masks unpadded, as torchvision's roi_align sees them (the targets need only cover the image)
        const targets = [{ boxes: torch.tensor(r.gtBoxes), labels: torch.tensor(r.gtLabels.map((l) => l - 1), { dtype: 'int64' }), masks: outs.get(`gtMasks${i}`)! }];
        const ld = model.loss({ ...batch, targets });
        return Object.fromEntries(Object.entries(ld).map(([k, v]) => [k, v.item() as number]));
      });
      for (const [tv, own] of names) {
        const rel = Math.abs(ours[own] - r.losses[tv]) / Math.abs(r.losses[tv]);
        t.diagnostic(`image ${i} ${tv}: ours ${ours[own]}, torchvision ${r.losses[tv]}, relative error ${rel.toExponential(2)}`);
        assert.ok(rel <= 1e-4, `image ${i} ${tv}: ours ${ours[own]}, torchvision ${r.losses[tv]}`);
      }
    });
  } finally {
    torch.dispose([...outs.values()]);
  }
});
