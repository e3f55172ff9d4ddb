/**
 * RetinaNet against MMDetection 3.3 itself, on a checkpoint MMDetection wrote (tiny widths, random
 * weights from its own init_weights, towers and classifier scaled so that scores spread: see
 * scripts/reference/mmdet_retinanet_fixtures.py and test/fixtures/mmdet-retinanet/):
 *  - strict load (no key map) into our retinanet_r50_fpn_1x_coco config at the fixture's widths;
 *  - inference on both fixture images through our own test path (config test pipeline, the
 *    model's data preprocessor, predict): ≥ 99% of MMDetection's detections reproduced (same
 *    COCO category id, box IoU ≥ 0.99, |Δscore| ≤ 1e-3);
 *  - loss_cls (focal) and loss_bbox (L1) of one training step on MMDetection's training batch
 *    equal to 1e-4 relative, on the tensor batch and through the training data pipeline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { categoriesOf, loadDetector, prepareImage } from '../../src/apis/detection';
import { toDetBatch } from '../../src/tasks/detection/data';
import type { DetectionConfig } from '../../src/tasks/detection/task';
import type { SingleStageModelConfig } from '../../src/models/detectors/build';
import { SingleStageDetector } from '../../src/models/detectors/single_stage';
import { config as retinaCfg } from '../../configs/retinanet/retinanet_r50_fpn_1x_coco';
import { repoRoot } from '../helpers/paths';
import { decodeUint8, iou, lossesThroughLoader, matchDetections, mmdetBatch, readJson, tensorOf } from '../helpers/mmdet';

const DIR = process.env.TSVISION_MMDET_RETINANET_FIXTURES ?? path.join(repoRoot, 'test/fixtures/mmdet-retinanet');
const NAME = 'retinanet_r50_fpn_1x_coco';
const MIN_MATCH = 0.99;

interface Manifest {
  tiny_widths: { base_channels: number; neck_out: number; feat_channels: number };
  models: Record<string, { checkpoint: string }>;
}
interface RefImage {
  image: string;
  bboxes: number[][];
  scores: number[];
  labels: number[];
  category_ids: number[];
}
interface RefLoss {
  losses: Record<string, { per_level: number[]; sum: number }>;
  batch: { images: { image: string; img_id: number; ori_shape: [number, number]; gt_bboxes: number[][]; gt_labels: number[]; gt_category_ids: number[] }[] };
}

const man = readJson<Manifest>(path.join(DIR, 'manifest.json'));
const checkpoint = path.join(DIR, man.models[NAME].checkpoint);

/** Our config at the fixture's widths. */
function fixtureConfig(): DetectionConfig {
  const m = retinaCfg.model as SingleStageModelConfig;
  const { base_channels: b, neck_out: o, feat_channels: f } = man.tiny_widths;
  const model: SingleStageModelConfig = {
    ...m,
    backbone: { ...m.backbone, baseChannels: b, initCfg: null },
    neck: { ...m.neck, inChannels: [b * 4, b * 8, b * 16, b * 32], outChannels: o },
    bboxHead: { ...m.bboxHead, inChannels: o, featChannels: f },
  };
  return { ...retinaCfg, model };
}

/**
 * Reference detections with a distinct counterpart in ours (same category, IoU ≥ 0.99,
 * |Δscore| ≤ 1e-3), and over the matched pairs the smallest IoU and largest |Δscore|.
 */
function matchStats(ours: { boxes: Float32Array; scores: Float32Array; cats: number[] }, ref: RefImage): { matched: number; minIou: number; maxDScore: number } {
  let matched = 0, minIou = 1, maxDScore = 0;
  matchDetections(ours, ref).forEach((j, k) => {
    if (j < 0) return;
    matched++;
    minIou = Math.min(minIou, iou(ours.boxes.subarray(4 * j, 4 * j + 4), ref.bboxes[k]));
    maxDScore = Math.max(maxDScore, Math.abs(ours.scores[j] - ref.scores[k]));
  });
  return { matched, minIou, maxDScore };
}

function compareLosses(ours: Record<string, number>, ref: RefLoss, what: string): void {
  for (const key of ['loss_cls', 'loss_bbox']) {
    const want = ref.losses[key].sum;
    const got = ours[key];
    assert.ok(got !== undefined, `${what}: no ${key} among our losses (${Object.keys(ours).join(', ')})`);
    const rel = Math.abs(got - want) / Math.max(Math.abs(want), 1e-12);
    console.log(`# ${what} ${key}: ours ${got} mmdet ${want} (rel ${rel.toExponential(2)})`);
    assert.ok(rel <= 1e-4, `${what} ${key}: ${got} vs MMDetection's ${want} (relative ${rel})`);
  }
}

test('mmdet retinanet parity: the checkpoint loads strictly into bbox_head.* / neck.* / backbone.*', () => {
  const d = loadDetector(fixtureConfig(), checkpoint); // strict: every key used, none missing
  try {
    assert.ok(d.model instanceof SingleStageDetector);
    const keys = [...d.model.stateDict().keys()];
    for (const k of ['bbox_head.cls_convs.0.conv.weight', 'bbox_head.reg_convs.3.conv.bias', 'bbox_head.retina_cls.weight', 'bbox_head.retina_reg.bias', 'neck.fpn_convs.4.conv.weight']) {
      assert.ok(keys.includes(k), `missing ${k}`);
    }
    // 9 anchors × 80 classes
    assert.deepEqual(d.model.bboxHead.retinaCls.weight.shape, [720, 32, 3, 3]);
  } finally {
    d.model.dispose();
  }
});

const inference = readJson<{ images: Record<string, RefImage> }>(path.join(DIR, 'inference', `${NAME}.json`)).images;
for (const [imgName, ref] of Object.entries(inference)) {
  test(`mmdet retinanet parity: detections on ${imgName}`, async () => {
    const cfg = fixtureConfig();
    const d = loadDetector(cfg, checkpoint);
    const catIds = categoriesOf(cfg).ids;
    try {
      const batch = await prepareImage(cfg, path.join(DIR, ref.image));
      const det = torch.tidy(() => d.model.predict(toDetBatch(batch))[0]);
      const ours = {
        boxes: det.boxes.toTypedArray() as Float32Array,
        scores: det.scores.toTypedArray() as Float32Array,
        cats: det.labels.toArray().map((l) => catIds[l]),
      };
      torch.dispose(det);
      assert.ok(ref.scores.length >= 50, `the fixture should hold enough detections (${ref.scores.length})`);
      const m = matchStats(ours, ref);
      console.log(`# ${imgName}: ${m.matched} of ${ref.scores.length} reproduced (ours ${ours.scores.length}); min IoU ${m.minIou.toFixed(6)}, max |dscore| ${m.maxDScore.toExponential(2)}`);
      assert.ok(m.matched >= Math.ceil(MIN_MATCH * ref.scores.length), `${imgName}: ${m.matched} of ${ref.scores.length} detections reproduced`);
    } finally {
      d.model.dispose();
    }
  });
}

const lossRef = readJson<RefLoss>(path.join(DIR, 'losses', `${NAME}.json`));

test('mmdet retinanet parity: one training step\'s focal and L1 losses equal MMDetection\'s', async () => {
  const cfg = fixtureConfig();
  const d = loadDetector(cfg, checkpoint);
  const images = await Promise.all(lossRef.batch.images.map((im) => decodeUint8(path.join(DIR, im.image))));
  try {
    d.model.train();
    const losses = torch.noGrad(() => torch.tidy(() => {
      const batch = mmdetBatch(images, cfg.model.dataPreprocessor);
      batch.targets = lossRef.batch.images.map((im) => ({ boxes: tensorOf(im.gt_bboxes), labels: torch.tensor(im.gt_labels, { dtype: 'int64' }) }));
      return Object.fromEntries(Object.entries(d.model.loss(batch)).map(([k, v]) => [k, v.item() as number]));
    }));
    compareLosses(losses, lossRef, NAME);
  } finally {
    torch.dispose(images);
    d.model.dispose();
  }
});

test('mmdet retinanet parity: the same step through the training data pipeline (tsvision train\'s path)', async () => {
  const base = fixtureConfig();
  const ims = lossRef.batch.images;
  // the fixture's pipeline neither resizes (scale_factor 1) nor flips
  const losses = await lossesThroughLoader(lossRef, path.join(DIR, path.dirname(ims[0].image)), checkpoint,
    { names: base.data.classes!, ids: base.data.categoryIds! }, (split) => ({ ...base, data: { ...base.data, train: split, val: split } }));
  compareLosses(losses, lossRef, `${NAME} (training pipeline)`);
});
