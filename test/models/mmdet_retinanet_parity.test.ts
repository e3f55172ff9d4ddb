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
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { categoriesOf, loadDetector, prepareImage } from '../../src/apis/detection';
import { decodeImage } from '../../src/data/image';
import type { Batch } from '../../src/data/collate';
import { toDetBatch } from '../../src/tasks/detection/data';
import { detectionTask, type DetectionConfig, type DetectionModel } from '../../src/tasks/detection/task';
import type { DataPreprocessorConfig, SingleStageModelConfig } from '../../src/models/detectors/build';
import type { DetBatch, DetImageMeta } from '../../src/models/detectors/types';
import { SingleStageDetector } from '../../src/models/detectors/single_stage';
import { config as retinaCfg } from '../../configs/retinanet/retinanet_r50_fpn_1x_coco';
import { repoRoot } from '../helpers/paths';

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

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
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

function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/**
 * Reference detections with a distinct counterpart in ours (same category, IoU ≥ 0.99,
 * |Δscore| ≤ 1e-3), and over the matched pairs the smallest IoU and largest |Δscore|.
 */
function matchDetections(ours: { boxes: Float32Array; scores: Float32Array; cats: number[] }, ref: RefImage): { matched: number; minIou: number; maxDScore: number } {
  const used = new Uint8Array(ours.scores.length);
  let matched = 0, minIou = 1, maxDScore = 0;
  ref.scores.forEach((s, k) => {
    let best = -1, bestIou = 0;
    for (let j = 0; j < ours.scores.length; j++) {
      if (used[j] || ours.cats[j] !== ref.category_ids[k] || Math.abs(ours.scores[j] - s) > 1e-3) continue;
      const v = iou(ours.boxes.subarray(4 * j, 4 * j + 4), ref.bboxes[k]);
      if (v >= 0.99 && v > bestIou) {
        best = j;
        bestIou = v;
      }
    }
    if (best < 0) return;
    used[best] = 1;
    matched++;
    minIou = Math.min(minIou, bestIou);
    maxDScore = Math.max(maxDScore, Math.abs(ours.scores[best] - s));
  });
  return { matched, minIou, maxDScore };
}

const boxes = (rows: number[][]): Tensor => torch.tensor(rows.length ? rows : [], { shape: [rows.length, 4] });

/** An image file as [3, H, W] uint8 RGB. */
async function decodeUint8(file: string): Promise<Tensor> {
  const img = await decodeImage({ bytes: fs.readFileSync(file), path: file, flop: false, interpolation: 'bilinear' }, 'rgb');
  return torch.tidy(() => torch.fromTypedArray(img.data, [img.height, img.width, 3]).permute(2, 0, 1).contiguous());
}

/** Unresized uint8 images batched in MMDetection's DetDataPreprocessor arithmetic (0..255 mean/std, zero padding). */
function mmdetBatch(images: Tensor[], dp: DataPreprocessorConfig): DetBatch {
  return torch.tidy(() => {
    const d = dp.padSizeDivisor > 0 ? dp.padSizeDivisor : 1;
    const ph = Math.ceil(Math.max(...images.map((x) => x.size(1))) / d) * d;
    const pw = Math.ceil(Math.max(...images.map((x) => x.size(2))) / d) * d;
    const mean = torch.tensor(dp.mean).view(3, 1, 1);
    const std = torch.tensor(dp.std).view(3, 1, 1);
    const metas = images.map((x): DetImageMeta => ({ oriShape: [x.size(1), x.size(2)], imgShape: [x.size(1), x.size(2)], scaleFactor: [1, 1] }));
    const planes = images.map((x, i) => torch.F.pad((dp.order === 'bgr' ? x.flip([0]) : x).float().sub(mean).div(std), [0, pw - metas[i].imgShape[1], 0, ph - metas[i].imgShape[0]]));
    return { images: torch.stack(planes), metas };
  });
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
      const m = matchDetections(ours, ref);
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
      batch.targets = lossRef.batch.images.map((im) => ({ boxes: boxes(im.gt_bboxes), labels: torch.tensor(im.gt_labels, { dtype: 'int64' }) }));
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
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-mmdet-retina-'));
  try {
    let annId = 0;
    const coco = {
      images: ims.map((im) => ({ id: im.img_id, file_name: path.basename(im.image), height: im.ori_shape[0], width: im.ori_shape[1] })),
      annotations: ims.flatMap((im) => im.gt_bboxes.map((b, k) => ({
        id: ++annId, image_id: im.img_id, category_id: im.gt_category_ids[k], iscrowd: 0,
        bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]], area: (b[2] - b[0]) * (b[3] - b[1]),
      }))),
      categories: base.data.classes!.map((n, i) => ({ id: base.data.categoryIds![i], name: n })),
    };
    const annFile = path.join(tmp, 'train.json');
    fs.writeFileSync(annFile, JSON.stringify(coco));
    const split = { annFile, imgDir: path.join(DIR, path.dirname(ims[0].image)) };
    // the fixture's pipeline neither resizes (scale_factor 1) nor flips
    const cfg: DetectionConfig = { ...base, data: { ...base.data, train: split, val: split, trainPipeline: [], batchSize: ims.length, workers: 0, groupByAspectRatio: false } };
    const model = detectionTask.buildModel(cfg) as DetectionModel;
    const sd = torch.loadStateDict(checkpoint);
    try {
      model.loadStateDict(sd, { strict: true });
    } finally {
      torch.dispose([...sd.values()]);
    }
    model.train(true);
    const data = detectionTask.buildTrainData(cfg);
    let losses: Record<string, number> = {};
    try {
      for await (const batch of data.epoch(0) as AsyncIterable<Batch>) {
        assert.deepEqual(batch.shape, [2, 3, 256, 384]);
        losses = torch.noGrad(() => torch.tidy(() => Object.fromEntries(Object.entries(model.loss(batch)).map(([k, v]) => [k, v.item() as number]))));
      }
    } finally {
      await data.close?.();
      model.detector.dispose();
    }
    compareLosses(losses, lossRef, `${NAME} (training pipeline)`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
