/**
 * The segmentation task's glue: batches → SegBatch (label maps padded with 255), the model's
 * preprocessing, the IoU evaluator against hand-computed values, the segmentor contract through
 * the task (written against what every EncoderDecoder satisfies, not a particular model's
 * numbers), and pretrained init names / a missing network.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Batch } from '../../src/data/collate';
import { loadConfig } from '../../src/config';
import { resolveCheckpoint } from '../../src/zoo';
import { loadPretrained } from '../../src/zoo/pretrained';
import { stackSegMaps, toSegBatch, withSegPreprocessing } from '../../src/tasks/segmentation/data';
import { formatPerClassTable, segmentationTask, SegmentationModel, type SegmentationConfig } from '../../src/tasks/segmentation/task';
import type { ImageMeta } from '../../src/data/sample';
import { writeGreyPng, writeImage } from '../helpers/seg_files';

function meta(imgId: number, ori: [number, number], img: [number, number], pad: [number, number]): ImageMeta {
  return { imgId, imgPath: `img${imgId}.png`, oriShape: ori, imgShape: img, padShape: pad, scaleFactor: [1, 1], flip: false, flipDirection: null };
}

test('stackSegMaps pads every map with 255 to the batch size; toSegBatch gives int64 [N, H, W]', () => {
  const batch: Batch = {
    inputs: new Float32Array(2 * 3 * 3 * 4),
    shape: [2, 3, 3, 4],
    items: [
      { meta: meta(0, [2, 3], [2, 3], [2, 3]), targets: { segMap: Uint8Array.from([0, 1, 2, 3, 4, 5]) } },
      { meta: meta(1, [3, 4], [3, 4], [3, 4]), targets: { segMap: new Uint8Array(12).fill(7) } },
    ],
  };
  assert.deepEqual([...stackSegMaps(batch)].slice(0, 12), [0, 1, 2, 255, 3, 4, 5, 255, 255, 255, 255, 255]);
  const b = toSegBatch(batch, { withTargets: true });
  try {
    assert.deepEqual(b.gtSegMaps!.shape, [2, 3, 4]);
    assert.equal(b.gtSegMaps!.dtype, 'int64');
    assert.deepEqual(b.metas[0], { oriShape: [2, 3], imgShape: [2, 3], padShape: [2, 3], flip: null });
    assert.deepEqual(b.gtSegMaps!.select(0, 1).toArray().flat(), new Array(12).fill(7));
  } finally {
    torch.dispose(b);
  }
  const noMap: Batch = { ...batch, items: [{ meta: meta(0, [2, 3], [2, 3], [2, 3]), targets: {} }] };
  assert.throws(() => stackSegMaps(noMap), /img0.png has no label map/);
});

test("withSegPreprocessing: Normalize + Pad from model.dataPreprocessor, training padded to size [h, w] with segPadVal", () => {
  const dp = { mean: [1, 2, 3], std: [4, 5, 6], order: 'rgb', size: [512, 1024], padVal: 0, segPadVal: 255 } as const;
  const train = withSegPreprocessing([{ type: 'RandomFlip', prob: 0.5 }], { ...dp, mean: [1, 2, 3], std: [4, 5, 6], size: [512, 1024] }, 'data.trainPipeline', true);
  assert.deepEqual(train.slice(1), [
    { type: 'Normalize', mean: [1, 2, 3], std: [4, 5, 6], order: 'rgb' },
    { type: 'Pad', size: [1024, 512], padValue: 0, segPadValue: 255 },
  ]);
  const test_ = withSegPreprocessing([], { ...dp, mean: [1, 2, 3], std: [4, 5, 6], size: [512, 1024] }, 'data.testPipeline', false);
  assert.deepEqual(test_[1], { type: 'Pad', sizeDivisor: 1, padValue: 0, segPadValue: 255 });
  assert.throws(() => withSegPreprocessing([{ type: 'Pad', sizeDivisor: 32 }], { ...dp, mean: [1, 2, 3], std: [4, 5, 6], size: null }, 'data.trainPipeline', true),
    /^Error: data.trainPipeline\[0\]: Pad belongs to model.dataPreprocessor/);
});

/** A 'folder' dataset on disk: 4x2 images x0.png, x1.png, ... with the label maps `gts` (one: x.png). */
async function folderConfig(...gts: number[][]): Promise<SegmentationConfig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-segtask-'));
  for (const [i, gt] of gts.entries()) {
    const name = gts.length === 1 ? 'x.png' : `x${i}.png`;
    await writeImage(path.join(dir, 'img', name), 4, 2);
    await writeGreyPng(path.join(dir, 'ann', name), gt, 4, 2);
  }
  const base = loadConfig('fcn/fcn_r18-d8_shapes-seg').config as SegmentationConfig;
  const split = { kind: 'folder' as const, imgDir: path.join(dir, 'img'), annDir: path.join(dir, 'ann'), imgSuffix: '.png', segMapSuffix: '.png', reduceZeroLabel: false };
  return {
    ...base,
    model: { ...base.model, decodeHead: { ...base.model.decodeHead, numClasses: 3 }, auxiliaryHead: null },
    data: { ...base.data, train: split, val: split, classes: ['a', 'b', 'c'], generate: null, workers: 0 },
  };
}

test('the evaluator: mIoU, mAcc, aAcc and per-class IoU / Acc against hand counts, ground truth read at the original size', async () => {
  // gt and prediction (pixel 6 ignored):
  //   gt   0 0 1 1 | 2 2 255 0      intersections 2, 2, 1; predicted 3, 3, 1; labelled 3, 2, 2
  //   pred 0 1 1 1 | 2 0  2  0      unions 4, 3, 2 -> IoU 1/2, 2/3, 1/2; Acc 2/3, 1, 1/2; aAcc 5/7
  const cfg = await folderConfig([0, 0, 1, 1, 2, 2, 255, 0]);
  const ev = segmentationTask.buildEvaluator(cfg);
  ev.reset();
  const batch = { inputs: new Float32Array(0), shape: [1, 3, 2, 4], items: [{ meta: meta(0, [2, 4], [2, 4], [2, 4]), targets: {} }] } as Batch;
  const labels = torch.tensor([[0, 1, 1, 1], [2, 0, 2, 0]], { dtype: 'int64' });
  ev.process(batch, [{ logits: torch.zeros([3, 2, 4]), labels }]);
  const m = await ev.evaluate();
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  near(m.mIoU, (1 / 2 + 2 / 3 + 1 / 2) / 3);
  near(m.mAcc, (2 / 3 + 1 + 1 / 2) / 3);
  near(m.aAcc, 5 / 7);
  near(m['IoU.b'], 2 / 3);
  near(m['Acc.c'], 1 / 2);
  assert.deepEqual(Object.keys(m).slice(0, 3), ['aAcc', 'mIoU', 'mAcc']);
  assert.match(formatPerClassTable([{ class: 'b', IoU: 2 / 3, Acc: 1 }, { class: 'c', IoU: NaN, Acc: NaN }]), /^Class +IoU +Acc\nb +66\.67 +100\.00\nc +nan +nan$/);

  // a prediction not at the original size is refused with the image's name
  ev.reset();
  assert.throws(() => ev.process(batch, [{ logits: torch.zeros([3, 1, 2]), labels: torch.zeros([1, 2], { dtype: 'int64' }) }]), /prediction for img0.png is 1x2, the image 2x4/);
  assert.throws(() => segmentationTask.buildEvaluator(cfg, { metrics: ['bbox'] }), /segmentation: unknown metric 'bbox' \(mIoU, mDice, mFscore\)/);
});

test('distributed evaluation\'s state() and merge(): one image\'s sums, JSON round-tripped, merged into the other\'s give both images\' metrics', async () => {
  // two images: the hand-counted pair of the test above, and a second one
  const cfg = await folderConfig([0, 0, 1, 1, 2, 2, 255, 0], [1, 1, 1, 0, 0, 2, 2, 2]);
  const batchOf = (id: number) => ({ inputs: new Float32Array(0), shape: [1, 3, 2, 4], items: [{ meta: meta(id, [2, 4], [2, 4], [2, 4]), targets: {} }] } as Batch);
  const preds = [[[0, 1, 1, 1], [2, 0, 2, 0]], [[1, 1, 0, 0], [0, 2, 2, 1]]];
  const run = (ev: ReturnType<typeof segmentationTask.buildEvaluator>, ids: number[]) => {
    ev.reset();
    for (const id of ids) torch.tidy(() => ev.process(batchOf(id), [{ logits: torch.zeros([3, 2, 4]), labels: torch.tensor(preds[id], { dtype: 'int64' }) }]));
  };
  const [whole, a, b, none] = [0, 1, 2, 3].map(() => segmentationTask.buildEvaluator(cfg));
  run(whole, [0, 1]);
  run(a, [0]);
  run(b, [1]);
  run(none, []);
  const stateB = JSON.parse(JSON.stringify(await b.state!()));
  assert.equal(stateB.count, 1);
  a.merge!(stateB);
  a.merge!(await none.state!()); // a rank without images sends null
  const [m, expected] = [await a.evaluate(), await whole.evaluate()];
  assert.deepEqual(m, expected);
  // by hand, the second image: intersections 2, 2, 2; unions 3, 4, 3. Both: 4/7, 4/7, 3/5
  assert.ok(Math.abs(m.mIoU - (4 / 7 + 4 / 7 + 3 / 5) / 3) < 1e-12, `mIoU ${m.mIoU}`);
  a.reset();
  run(a, [0]);
  a.merge!({ ...stateB, areaIntersect: [1, 2] });
  await assert.rejects(async () => a.evaluate(), /segmentation evaluator: merge expects per-class sums of 3 classes, got 2/);
});

test('through the task: loss terms named *loss*, finite; predictions at each image\'s original size', async () => {
  const cfg = await folderConfig([0, 0, 1, 1, 2, 2, 255, 0]);
  const small: SegmentationConfig = {
    ...cfg,
    model: { ...cfg.model, dataPreprocessor: { ...cfg.model.dataPreprocessor, size: [32, 32] } },
    data: { ...cfg.data, trainPipeline: [{ type: 'Resize', scales: [[32, 16]], keepRatio: false }, { type: 'RandomFlip', prob: 0.5 }], testPipeline: [{ type: 'Resize', scales: [[32, 16]], keepRatio: false }], batchSize: 1 },
  };
  const model = segmentationTask.buildModel(small) as SegmentationModel;
  assert.equal(model.segmentor.numClasses, 3);
  const train = segmentationTask.buildTrainData(small);
  const val = segmentationTask.buildValData(small);
  try {
    model.train();
    for await (const batch of train.epoch(0)) {
      assert.deepEqual(batch.shape, [1, 3, 32, 32]); // padded to dataPreprocessor.size
      const losses = model.loss(batch);
      const keys = Object.keys(losses);
      assert.ok(keys.length > 0 && keys.some((k) => k.includes('loss')), keys.join());
      for (const [k, v] of Object.entries(losses)) {
        assert.ok(Number.isFinite(v.item()), `${k}: ${v.item()}`);
        v.dispose();
      }
    }
    model.eval();
    for await (const batch of val.epoch(0)) {
      const [p] = torch.noGrad(() => model.predict(batch));
      assert.deepEqual(p.labels.shape, [2, 4]);
      assert.equal(p.labels.dtype, 'int64');
      assert.deepEqual(p.logits.shape, [3, 2, 4]);
      torch.dispose(p);
    }
  } finally {
    await train.close?.();
    await val.close?.();
  }
});

test("pretrained backbones: mmseg's open-mmlab names resolve to mmengine's URLs; an unreachable server is a one-line error naming URL and cache file", async () => {
  assert.equal(resolveCheckpoint('open-mmlab://resnet50_v1c'), 'https://download.openmmlab.com/pretrain/third_party/resnet50_v1c-2cccc1ad.pth');
  assert.equal(resolveCheckpoint('open-mmlab://resnet101_v1c'), 'https://download.openmmlab.com/pretrain/third_party/resnet101_v1c-e67eebb6.pth');
  assert.equal(resolveCheckpoint('open-mmlab://msra/hrnetv2_w18'), 'https://download.openmmlab.com/pretrain/third_party/hrnetv2_w18-00eb2006.pth');
  assert.equal(resolveCheckpoint('open-mmlab://msra/hrnetv2_w48'), 'https://download.openmmlab.com/pretrain/third_party/hrnetv2_w48-d2186c55.pth');
  for (const row of ['fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024', 'upernet/upernet_r101_4xb4-80k_ade20k-512x512', 'hrnet/fcn_hr48_4xb2-40k_cityscapes-512x1024']) {
    const init = (loadConfig(row).config as SegmentationConfig).model.backbone.initCfg;
    assert.ok(init, row);
    resolveCheckpoint(init.checkpoint); // known to the zoo
  }
  const cfg = await folderConfig([0, 0, 0, 0, 1, 1, 1, 1]);
  const model = segmentationTask.buildModel(cfg) as SegmentationModel;
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-segzoo-'));
  const url = 'http://127.0.0.1:9/pretrain/third_party/resnet50_v1c-2cccc1ad.pth';
  await assert.rejects(loadPretrained(model.segmentor.backbone, { type: 'Pretrained', checkpoint: url }, { cacheDir, attempts: 1, quiet: true }), (e: Error) => {
    assert.match(e.message, /^download http:\/\/127\.0\.0\.1:9\/\S+resnet50_v1c-2cccc1ad\.pth → \S+resnet50_v1c-2cccc1ad\.pth: .*ECONNREFUSED/);
    assert.equal(e.message.split('\n').length, 1);
    return true;
  });
});
