/**
 * torchvision/fasterrcnn_resnet50_fpn (and its RPN) against torchvision 0.14's
 * fasterrcnn_resnet50_fpn: the same weights (saved by torchvision as .pth, loaded through
 * the key map), the same float RGB pixels, the same detections and proposals.
 *
 * One Python call makes everything: generated scenes (random rectangles on noise, odd
 * sizes), a seeded random model (BN statistics of the scenes, random affine parameters),
 * its outputs, then the same after a few SGD steps on the scenes (scores spread out).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { buildTwoStageDetector } from '../../src/models/detectors/build';
import { preprocessImages, torchvisionResizedSize } from '../../src/models/detectors/preprocess';
import { loadTorchvisionWeights, predictTorchvision, torchvisionKeyMap } from '../../src/models/detectors/torchvision';
import { model as fasterCfg } from '../../configs/torchvision/fasterrcnn_resnet50_fpn';
import { model as rpnCfg } from '../../configs/torchvision/fasterrcnn_resnet50_fpn_rpn';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';
import { describe, match, newStats } from '../helpers/detection_match';
import { PY_SCENES } from '../helpers/torchvision_python';

interface RefImage {
  imageSize: [number, number];
  padded: [number, number];
  boxes: number[][];
  scores: number[];
  labels: number[];
  propBoxes: number[][];
  propScores: number[];
}
interface Ref {
  random: RefImage[];
  trained: RefImage[];
  keys: string[];
  losses: number[];
}

const skip = hasReference() ? false : NO_REFERENCE;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-tv-parity-'));
const SIZES = [[360, 480, 5], [333, 500, 4]]; // h, w, rectangles; 333×500 resizes to 799×1201
let ref: Ref;
let images: Tensor[] = [];

const BODY = `
from torchvision.models.detection import fasterrcnn_resnet50_fpn
from torchvision.models.detection.rpn import concat_box_prediction_layers
from torchvision.models.detection.transform import resize_boxes
torch.set_num_threads(2)
d = inp['dir'] + '/'
torch.manual_seed(0)
gen = torch.Generator().manual_seed(1)

${PY_SCENES}
scenes = [scene(h, w, n) for (h, w, n) in inp['sizes']]
torch.save({f'img{i}': s[0] for i, s in enumerate(scenes)}, d + 'images.pth')

model = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)
calibrate(model, [s[0] for s in scenes])
with torch.no_grad():
    model.roi_heads.box_predictor.cls_score.weight.normal_(0, inp['clsStd'], generator=gen)

def run(tag):
    model.eval()
    res = []
    with torch.no_grad():
        for img, _, _ in scenes:
            images, _ = model.transform([img])
            feats = model.backbone(images.tensors)
            fl = list(feats.values())
            # model.rpn's forward, keeping the objectness of the proposals
            obj, deltas = model.rpn.head(fl)
            anchors = model.rpn.anchor_generator(images, fl)
            per_level = [o[0].numel() for o in obj]
            obj, deltas = concat_box_prediction_layers(obj, deltas)
            props = model.rpn.box_coder.decode(deltas, anchors).view(1, -1, 4)
            pb, ps = model.rpn.filter_proposals(props, obj, images.image_sizes, per_level)
            # the rest of model([img])
            det, _ = model.roi_heads(feats, pb, images.image_sizes)
            det = model.transform.postprocess(det, images.image_sizes, [img.shape[-2:]])[0]
            pb = resize_boxes(pb[0], images.image_sizes[0], img.shape[-2:])
            res.append({
                'imageSize': list(images.image_sizes[0]), 'padded': list(images.tensors.shape[-2:]),
                'boxes': det['boxes'].tolist(), 'scores': det['scores'].tolist(), 'labels': det['labels'].tolist(),
                'propBoxes': pb.tolist(), 'propScores': ps[0].tolist(),
            })
    torch.save(model.state_dict(), d + tag + '.pth')
    return res

out = {'random': run('random'), 'keys': list(model.state_dict().keys())}
losses = train_heads(model, [s[0] for s in scenes], [{'boxes': s[1], 'labels': s[2]} for s in scenes], inp['trainMinSize'], inp['lr'], inp['steps'])
out['trained'] = run('trained')
out['losses'] = losses
`;

before(() => {
  if (skip) return;
  ref = python<Ref>(BODY, { dir, sizes: SIZES, trainMinSize: 320, lr: 0.01, steps: 3, clsStd: 0.01 }, 600_000);
  const sd = torch.loadStateDict(path.join(dir, 'images.pth'));
  images = SIZES.map((_, i) => torch.keep(sd.get(`img${i}`)!));
});

after(() => {
  torch.dispose(images);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('torchvision resize sizes (float32 scale, floored)', () => {
  assert.deepEqual(torchvisionResizedSize(360, 480, 800, 1333), [800, 1066]);
  assert.deepEqual(torchvisionResizedSize(333, 500, 800, 1333), [799, 1201]);
  assert.deepEqual(torchvisionResizedSize(100, 1000, 800, 1333), [133, 1333]);
});

test('torchvision resize sizes as F.interpolate in GeneralizedRCNNTransform, 300 random image sizes', { skip }, () => {
  const sizes = python<number[][]>(`
import random
from torchvision.models.detection.transform import _resize_image_and_masks
random.seed(0)
out = []
for _ in range(300):
    h, w = random.randint(1, 2500), random.randint(1, 2500)
    img, _ = _resize_image_and_masks(torch.zeros(1, h, w), 800.0, 1333.0)
    out.append([h, w] + list(img.shape[-2:]))
`);
  const wrong = sizes.filter(([h, w, rh, rw]) => {
    const [a, b] = torchvisionResizedSize(h, w, 800, 1333);
    return a !== rh || b !== rw;
  });
  assert.deepEqual(wrong, []);
});

test('torchvision key map covers every key of fasterrcnn_resnet50_fpn', { skip }, () => {
  const model = buildTwoStageDetector(fasterCfg);
  const own = new Set(model.stateDict().keys());
  const map = torchvisionKeyMap();
  const unmapped = ref.keys.filter((k) => !own.has(map(k)!));
  assert.deepEqual(unmapped, []);
  assert.equal(ref.keys.length, own.size);
});

test('preprocessing matches GeneralizedRCNNTransform sizes', { skip }, () => {
  images.forEach((img, i) => {
    const batch = preprocessImages([img], fasterCfg.dataPreprocessor);
    assert.deepEqual(batch.metas[0].imgShape, ref.random[i].imageSize);
    assert.deepEqual(batch.images.shape.slice(2), ref.random[i].padded);
    torch.dispose(batch);
  });
});

for (const tag of ['random', 'trained'] as const) {
  test(`torchvision/fasterrcnn_resnet50_fpn (${tag} weights): detections and RPN proposals as torchvision's`, { skip }, (t) => {
    const faster = buildTwoStageDetector(fasterCfg).eval();
    const rpn = buildTwoStageDetector(rpnCfg).eval();
    const weights = torch.loadStateDict(path.join(dir, `${tag}.pth`));
    loadTorchvisionWeights(faster, weights);
    loadTorchvisionWeights(rpn, weights);
    torch.dispose([...weights.values()]);
    const dets = newStats();
    const props = newStats();
    images.forEach((img, i) => {
      const r = ref[tag][i];
      const [d] = predictTorchvision(faster, fasterCfg, [img]);
      match(r.boxes, r.scores, r.labels, d, dets);
      torch.dispose(d);
      const [p] = predictTorchvision(rpn, rpnCfg, [img]);
      assert.equal(p.scores.size(0), r.propScores.length, `image ${i}: number of proposals`);
      match(r.propBoxes, r.propScores, null, p, props);
      torch.dispose(p);
    });
    t.diagnostic(`detections: ${describe(dets)}`);
    t.diagnostic(`proposals: ${describe(props)}`);
    if (tag === 'trained') {
      assert.ok(dets.total >= 20, `torchvision made only ${dets.total} detections (losses ${ref.losses})`);
    }
    assert.ok(dets.matched >= 0.98 * dets.total, `detections: ${describe(dets)}`);
    assert.ok(props.total >= 1000 && props.matched >= 0.98 * props.total, `proposals: ${describe(props)}`);
  });
}
