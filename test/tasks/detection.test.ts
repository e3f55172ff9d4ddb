/** The detection task's glue: Fast R-CNN proposal files, and COCO results from detections. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import sharp from 'sharp';
import { batchProposals, CocoDetectionEvaluator, detectionTask, loadProposals, withModelPreprocessing, type DetectionConfig } from '../../src/tasks/detection/task';
import { categoriesOf, prepareImage } from '../../src/apis/detection';
import { resolveConfig } from '../../src/config';
import { config as fasterCoco } from '../../configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco';
import { config as fasterShapes } from '../../configs/faster_rcnn/faster-rcnn_r18_fpn_shapes';
import { toCocoResults } from '../../src/tasks/detection/data';
import type { Batch } from '../../src/data/collate';

function meta(imgId: number, flip: boolean): Batch['items'][number]['meta'] {
  return { imgId, imgPath: `${imgId}.jpg`, oriShape: [100, 200], imgShape: [50, 100], padShape: [64, 128], scaleFactor: [0.5, 0.5], flip, flipDirection: flip ? 'horizontal' : null };
}

test('proposal files: sorted by score per image, mapped into the resized and flipped image', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-props-'));
  try {
    const file = path.join(dir, 'props.json');
    fs.writeFileSync(file, JSON.stringify([
      { image_id: 1, bbox: [10, 20, 30, 40], score: 0.2 },
      { image_id: 1, bbox: [0, 0, 100, 50], score: 0.9 },
      { image_id: 2, bbox: [20, 10, 40, 20], score: 0.5 },
    ]));
    const index = loadProposals(file);
    assert.deepEqual(Array.from(index.get(1)!), [0, 0, 100, 50, 10, 20, 40, 60]);
    const batch = { inputs: new Float32Array(0), shape: [2, 3, 64, 128], items: [{ meta: meta(1, false), targets: {} }, { meta: meta(2, true), targets: {} }] } as unknown as Batch;
    torch.tidy(() => {
      const [a, b] = batchProposals(batch, index);
      assert.deepEqual(a.tolist(), [[0, 0, 50, 25], [5, 10, 20, 30]]);
      // image 2 scaled by 0.5 → [10, 5, 30, 15], then flipped in a 100-wide image
      assert.deepEqual(b.tolist(), [[70, 5, 90, 15]]);
    });
    fs.writeFileSync(file, JSON.stringify([{ image_id: 1, bbox: [1, 2, 3] }]));
    assert.throws(() => loadProposals(file), /props\.json: proposal 0: expected \{image_id: number, bbox: \[x, y, w, h\], score\}/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('detections become COCO results with the dataset category ids and xywh boxes', () => {
  torch.tidy(() => {
    const dets = [{ boxes: torch.tensor([[10, 20, 30, 60]]), scores: torch.tensor([0.75]), labels: torch.tensor([1], { dtype: 'int64' }) }];
    const r = toCocoResults(dets, [{ meta: meta(7, false) }], [3, 8]);
    assert.deepEqual(r, [{ image_id: 7, category_id: 8, bbox: [10, 20, 20, 40], score: 0.75 }]);
    assert.throws(() => toCocoResults(dets, [{ meta: meta(7, false) }], [3]), /label 1 has no category id/);
  });
});

test('Fast R-CNN proposals: numMaxProposals keeps the best per image (MMDetection LoadProposals)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-props-'));
  try {
    const file = path.join(dir, 'props.json');
    fs.writeFileSync(file, JSON.stringify([0.1, 0.9, 0.5, 0.7].map((score, i) => ({ image_id: 1, bbox: [i, 0, 10, 10], score }))));
    assert.deepEqual(Array.from(loadProposals(file, 2).get(1)!), [1, 0, 11, 10, 3, 0, 13, 10]);
    assert.equal(loadProposals(file, null).get(1)!.length, 16);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the model dataPreprocessor is appended to the pipelines; a Normalize/Pad left in a pipeline is an error', () => {
  const dp = { mean: [1, 2, 3] as [number, number, number], std: [4, 5, 6] as [number, number, number], order: 'bgr' as const, padSizeDivisor: 32 };
  const out = withModelPreprocessing([{ type: 'Resize', scales: [[64, 48]], keepRatio: true }], dp, 'data.testPipeline');
  assert.deepEqual(out, [
    { type: 'Resize', scales: [[64, 48]], keepRatio: true },
    { type: 'Normalize', mean: [1, 2, 3], std: [4, 5, 6], order: 'bgr' },
    { type: 'Pad', sizeDivisor: 32 },
  ]);
  assert.throws(() => withModelPreprocessing([{ type: 'Resize', scales: [[64, 48]], keepRatio: true }, { type: 'Pad', sizeDivisor: 32 }], dp, 'data.trainPipeline'),
    /data\.trainPipeline\[1\]: Pad belongs to model\.dataPreprocessor/);
  // the shipped detection configs leave preprocessing to the model
  for (const c of [fasterCoco, fasterShapes]) {
    for (const p of [c.data.trainPipeline, c.data.testPipeline]) assert.ok(!p.some((s) => s.type === 'Normalize' || s.type === 'Pad'));
  }
});

test('--cfg-options model.dataPreprocessor.* changes what the model is fed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-dp-'));
  try {
    // a 64×32 image, kept at scale 1 by a 64-px test scale
    const img = path.join(dir, 'img.png');
    const raw = Buffer.alloc(32 * 64 * 3);
    for (let i = 0; i < raw.length; i += 3) { raw[i] = 200; raw[i + 1] = 100; raw[i + 2] = 50; }
    await sharp(raw, { raw: { width: 64, height: 32, channels: 3 } }).png().toFile(img);
    const opts = ['data.testPipeline=[{"type":"Resize","scales":[[64,32]],"keepRatio":true}]'];
    const first = (cfgOpts: string[]) => prepareImage(resolveConfig('faster_rcnn/faster-rcnn_r18_fpn_shapes', [...opts, ...cfgOpts]).config as DetectionConfig, img)
      .then((b) => { const plane = b.shape[2] * b.shape[3]; return [b.inputs[0], b.inputs[plane], b.inputs[2 * plane], b.shape[2], b.shape[3]]; });
    const base = fasterShapes.model.dataPreprocessor;
    const a = await first([]);
    base.mean.forEach((m, c) => assert.ok(Math.abs(a[c] - ([200, 100, 50][c] - m) / base.std[c]) < 1e-4, `channel ${c} with the config's mean/std`));
    const b = await first(['model.dataPreprocessor.mean=[10,20,30]', 'model.dataPreprocessor.std=[2,2,2]', 'model.dataPreprocessor.order="bgr"', 'model.dataPreprocessor.padSizeDivisor=48']);
    assert.deepEqual(b, [(50 - 10) / 2, (100 - 20) / 2, (200 - 30) / 2, 48, 96]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('COCO configs label with COCO category ids (label 29 → 34, frisbee), shapes configs with the generator\'s', () => {
  const coco = categoriesOf(fasterCoco);
  assert.equal(coco.ids.length, 80);
  assert.equal(coco.ids[29], 34);
  assert.equal(coco.names.get(34), 'frisbee');
  assert.equal(coco.ids[79], 90);
  assert.deepEqual(categoriesOf(fasterShapes).ids, [1, 2, 3, 4]);
});

test('proposals are clipped to the resized image before the flip (MMDetection Resize on ProposalBroadcaster)', () => {
  const index = new Map([[1, Float32Array.from([150, 80, 250, 120, -10, -4, 20, 10])]]);
  const batch = { inputs: new Float32Array(0), shape: [2, 3, 64, 128], items: [{ meta: meta(1, false), targets: {} }, { meta: meta(1, true), targets: {} }] } as unknown as Batch;
  torch.tidy(() => {
    const [plain, flipped] = batchProposals(batch, index);
    // ×0.5 then clipped to 100 × 50
    assert.deepEqual(plain.tolist(), [[75, 40, 100, 50], [0, 0, 10, 5]]);
    assert.deepEqual(flipped.tolist(), [[0, 40, 25, 50], [90, 0, 100, 5]]);
  });
});

test("metric 'segm': mask AP of the predictions' RLE segmentations (1 for the gt masks, lower for a shrunk one); errors name the key", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-segm-'));
  try {
    // one 40 × 60 image with two rectangles (gt boxes = their masks' boxes)
    const poly = (x1: number, y1: number, x2: number, y2: number) => [[x1, y1, x2, y1, x2, y2, x1, y2]];
    const gt = {
      images: [{ id: 1, file_name: 'a.png', height: 40, width: 60 }],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, iscrowd: 0, bbox: [5, 5, 20, 20], area: 400, segmentation: poly(5, 5, 25, 25) },
        { id: 2, image_id: 1, category_id: 2, iscrowd: 0, bbox: [30, 10, 20, 20], area: 400, segmentation: poly(30, 10, 50, 30) },
      ],
      categories: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }],
    };
    const annFile = path.join(tmp, 'gt.json');
    fs.writeFileSync(annFile, JSON.stringify(gt));
    const evaluator = new CocoDetectionEvaluator(annFile, ['bbox', 'segm']);
    const rect = (x1: number, y1: number, x2: number, y2: number) => torch.F.pad(torch.ones([y2 - y1, x2 - x1], { dtype: 'bool' }), [x1, 60 - x2, y1, 40 - y2]);
    const run = (second: [number, number, number, number]) => torch.tidy(() => {
      evaluator.reset();
      const dets = [{
        boxes: torch.tensor([[5, 5, 25, 25], [30, 10, 50, 30]]), scores: torch.tensor([0.9, 0.8]), labels: torch.tensor([0, 1], { dtype: 'int64' }),
        masks: torch.stack([rect(5, 5, 25, 25), rect(...second)]),
      }];
      const m = { ...meta(1, false), oriShape: [40, 60] as [number, number] };
      evaluator.process({ items: [{ meta: m }] } as unknown as Batch, dets);
      return evaluator.evaluate();
    });
    const one = (v: number) => Math.abs(v - 1) < 1e-9; // COCO's mean of 101 recall thresholds
    const perfect = run([30, 10, 50, 30]);
    assert.ok(one(perfect.bbox_mAP) && one(perfect.segm_mAP), JSON.stringify(perfect));
    // the second mask covers half its gt (IoU 0.5): box AP stays 1, mask AP drops
    const half = run([30, 10, 40, 30]);
    assert.ok(one(half.bbox_mAP) && one(half.segm_mAP_50), JSON.stringify(half));
    assert.ok(half.segm_mAP < 0.8 && half.segm_mAP > 0.5, `segm_mAP ${half.segm_mAP}`);
    // a model without a mask branch cannot be evaluated for masks
    assert.throws(() => detectionTask.buildEvaluator!({ ...fasterShapes, evaluation: { metrics: ['segm'] } }), /evaluation\.metrics: 'segm' needs a model with a mask branch/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
