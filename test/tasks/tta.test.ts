/** Test-time augmentation for detectors: views, the zipped loader, and the merge (hand-derived values). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Batch } from '../../src/data/collate';
import type { TransformSpec } from '../../src/data/transforms';
import { generateShapes } from '../../src/data/synthetic/shapes';
import type { BatchSource, TrainableModel } from '../../src/engine/types';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import { DetectionTtaModel, mergeAugDetections, ttaViews, unflipBoxes, zipViewSources, type AugBatch, type DetectionTtaConfig } from '../../src/tasks/detection/tta';
import type { DetInstances } from '../../src/models/detectors/types';
import { config as fasterCoco } from '../../configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco';
import { config as rpnCoco } from '../../configs/rpn/rpn_r50_fpn_1x_coco';
import { config as rpnShapes } from '../../configs/rpn/rpn_r18_fpn_shapes';

const pipeline: TransformSpec[] = [
  { type: 'Resize', scales: [[64, 48]], keepRatio: true },
  { type: 'Normalize', mean: [0, 0, 0], std: [1, 1, 1], order: 'rgb' },
  { type: 'Pad', sizeDivisor: 32 },
];
const tta: DetectionTtaConfig = { scales: [[64, 48], [96, 72]], flip: true, nms: { iouThreshold: 0.5 }, maxPerImg: 3 };

test('views: every scale, unflipped then flipped, Resize set to that scale and the flip right after it', () => {
  const views = ttaViews(pipeline, tta);
  assert.deepEqual(views.map((v) => [v.scale, v.flip]), [[[64, 48], false], [[64, 48], true], [[96, 72], false], [[96, 72], true]]);
  assert.deepEqual(views[3].pipeline.map((s) => s.type), ['Resize', 'RandomFlip', 'Normalize', 'Pad']);
  assert.deepEqual(views[3].pipeline[0], { type: 'Resize', scales: [[96, 72]], keepRatio: true });
  assert.deepEqual(views[3].pipeline[1], { type: 'RandomFlip', prob: 1 });
  assert.deepEqual(views[0].pipeline.map((s) => s.type), ['Resize', 'Normalize', 'Pad']);
  // no scales given: the test pipeline's own
  assert.deepEqual(ttaViews(pipeline, { ...tta, scales: undefined, flip: false }).map((v) => v.scale), [[64, 48]]);
  assert.deepEqual(pipeline[0], { type: 'Resize', scales: [[64, 48]], keepRatio: true }, 'the test pipeline itself is untouched');

  assert.throws(() => ttaViews(pipeline.slice(1), tta), /tta: test-time augmentation needs a Resize in data.testPipeline \(found Normalize, Pad\)/);
  assert.throws(() => ttaViews([pipeline[0], { type: 'RandomFlip', prob: 0.5 }], tta), /already has a RandomFlip/);
  assert.throws(() => ttaViews(pipeline, { ...tta, scales: [[64, 0]] }), /tta.scales\[0\]: expected \[w, h\] with positive numbers, got \[64,0\]/);
  assert.throws(() => ttaViews(pipeline, { ...tta, scales: [] }), /tta.scales: expected at least one/);
  assert.throws(() => ttaViews(pipeline, { ...tta, nms: { iouThreshold: 0 } }), /tta.nms.iouThreshold: expected a number in \(0, 1\], got 0/);
  assert.throws(() => ttaViews(pipeline, { ...tta, maxPerImg: 2.5 }), /tta.maxPerImg: expected a positive integer, got 2.5/);
});

test('merge: flipped views mapped back, class-wise NMS over all views, best maxPerImg by score', () => {
  torch.tidy(() => {
    // x → 100 - x in a 100-wide original image
    assert.deepEqual(unflipBoxes(torch.tensor([[10, 5, 30, 15]]), 100).tolist(), [[70, 5, 90, 15]]);
    const det = (boxes: number[][], scores: number[], labels: number[]): DetInstances => ({
      boxes: torch.tensor(boxes), scores: torch.tensor(scores), labels: torch.tensor(labels, { dtype: 'int64' }),
    });
    const plain = det([[10, 10, 50, 50], [60, 60, 90, 90]], [0.9, 0.3], [0, 1]);
    // the flipped view sees the first box at [50, 10, 90, 50] (= [10, 10, 50, 50] unflipped; same label, lower score:
    // suppressed), and [0, 0, 20, 20] (→ [80, 0, 100, 20], kept), and a label-1 twin of the first box (kept: other class)
    const flipped = det([[50, 10, 90, 50], [0, 0, 20, 20], [50, 10, 90, 50]], [0.8, 0.5, 0.4], [0, 0, 1]);
    const metas = [{ flip: false, oriShape: [100, 100] as [number, number] }, { flip: true, oriShape: [100, 100] as [number, number] }];
    const out = mergeAugDetections([plain, flipped], metas, { nms: { iouThreshold: 0.5 }, maxPerImg: 3 });
    assert.deepEqual(out.boxes.tolist(), [[10, 10, 50, 50], [80, 0, 100, 20], [10, 10, 50, 50]]);
    assert.deepEqual(Array.from(out.scores.toTypedArray() as Float32Array).map((v) => +v.toFixed(4)), [0.9, 0.5, 0.4]);
    assert.deepEqual(out.labels.toArray(), [0, 0, 1]);
    // maxPerImg cuts the lowest-scored; a looser NMS threshold keeps the near-duplicate
    assert.equal(mergeAugDetections([plain, flipped], metas, { nms: { iouThreshold: 0.5 }, maxPerImg: 2 }).scores.size(0), 2);
    const loose = mergeAugDetections([plain, det([[50, 10, 90, 51]], [0.8], [0])], metas, { nms: { iouThreshold: 0.99 }, maxPerImg: 10 });
    assert.equal(loose.scores.size(0), 3);
  });
});

function arraySource(batches: Batch[]): BatchSource<Batch> {
  return { length: batches.length, epoch: () => batches };
}
function fakeBatch(ids: number[]): Batch {
  return {
    inputs: new Float32Array(0), shape: [ids.length, 3, 0, 0],
    items: ids.map((imgId) => ({ meta: { imgId, imgPath: '', oriShape: [1, 1], imgShape: [1, 1], padShape: [1, 1], scaleFactor: [1, 1], flip: false, flipDirection: null }, targets: {} })),
  };
}

test('zipped views: one batch per step with every view; views out of step are an error', async () => {
  const zipped = zipViewSources([arraySource([fakeBatch([1, 2]), fakeBatch([3])]), arraySource([fakeBatch([1, 2]), fakeBatch([3])])]);
  const got: AugBatch[] = [];
  for await (const b of zipped.epoch(0) as AsyncIterable<Batch>) got.push(b as AugBatch);
  assert.deepEqual(got.map((b) => [b.items.map((i) => i.meta.imgId), b.views.length]), [[[1, 2], 2], [[3], 2]]);
  const drain = async (s: BatchSource<Batch>) => {
    for await (const _ of s.epoch(0) as AsyncIterable<Batch>) void _;
  };
  await assert.rejects(drain(zipViewSources([arraySource([fakeBatch([1])]), arraySource([fakeBatch([1]), fakeBatch([2])])])), /views ran out of batches at different points/);
  await assert.rejects(drain(zipViewSources([arraySource([fakeBatch([1])]), arraySource([fakeBatch([2])])])), /views disagree on the images of a batch/);
});

test('shipped configs: MMDetection\'s default TTA (3 scales × flip, NMS 0.5, 100); RPNs merge with their own test NMS and count', () => {
  assert.deepEqual(fasterCoco.tta, { scales: [[1333, 800], [667, 400], [2000, 1200]], flip: true, nms: { iouThreshold: 0.5 }, maxPerImg: 100 });
  assert.deepEqual(rpnCoco.tta?.nms, { iouThreshold: 0.7 });
  assert.equal(rpnCoco.tta?.maxPerImg, 1000);
  assert.deepEqual(rpnShapes.tta, { scales: [[320, 320], [384, 384]], flip: true, nms: { iouThreshold: 0.95 }, maxPerImg: 1000 });
});

test('the TTA loader and model on a generated dataset: views aligned, flipped planes mirrored, merged per image', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-tta-'));
  try {
    await generateShapes({ out: dir, images: 10, seed: 3, shapes: { minSize: 64, maxSize: 96, objectsPerImage: [1, 2], objectSize: [16, 40], crowdProb: 0 } });
    const cfg = {
      ...rpnShapes,
      data: { ...rpnShapes.data, val: { annFile: path.join(dir, 'annotations/instances_val.json'), imgDir: path.join(dir, 'val') }, testPipeline: pipeline.slice(0, 1), valBatchSize: 1, workers: 0, generate: null },
      tta,
    } as DetectionConfig;
    // A stand-in detector: one box per image, at the same place in the original image
    // whatever the view (as a perfect detector would), reported in the view's own frame.
    const seen: { flip: boolean; scale: [number, number] }[] = [];
    const stub: TrainableModel<Batch, DetInstances[]> = {
      training: false, train: () => undefined, eval: () => undefined, loss: () => ({}), namedParameters: () => [], stateDict: () => new Map(), loadStateDict: () => ({ missingKeys: [], unexpectedKeys: [] }),
      predict: (b) => b.items.map(({ meta }) => {
        seen.push({ flip: meta.flip, scale: meta.scaleFactor });
        const box = meta.flip ? [meta.oriShape[1] - 30, 4, meta.oriShape[1] - 10, 24] : [10, 4, 30, 24];
        return { boxes: torch.tensor([box]), scores: torch.tensor([meta.flip ? 0.6 : 0.7]), labels: torch.tensor([0], { dtype: 'int64' }) };
      }),
    };
    const { model, valData } = detectionTask.buildTta!(cfg, stub);
    let batches = 0;
    try {
      for await (const batch of valData.epoch(0) as AsyncIterable<Batch>) {
        const views = (batch as AugBatch).views;
        assert.equal(views.length, 4);
        assert.deepEqual(views.map((v) => v.items[0].meta.flip), [false, true, false, true]);
        // the flipped view's planes are the plain view's mirrored (within the resized image)
        for (const k of [0, 2]) {
          const [a, b] = [views[k], views[k + 1]];
          assert.deepEqual(a.shape, b.shape);
          const [h, w] = a.items[0].meta.imgShape;
          const W = a.shape[3];
          for (const y of [0, h >> 1, h - 1]) for (const x of [0, w >> 1, w - 1]) assert.ok(Math.abs(b.inputs[y * W + (w - 1 - x)] - a.inputs[y * W + x]) < 1e-3, `pixel (${x}, ${y})`);
        }
        assert.ok(views[2].items[0].meta.scaleFactor[0] > views[0].items[0].meta.scaleFactor[0], 'the second scale is the larger');
        torch.tidy(() => {
          const [merged] = model.predict(batch);
          // four views of the same box: NMS leaves the best-scored one
          assert.deepEqual(merged.boxes.tolist(), [[10, 4, 30, 24]]);
          assert.ok(Math.abs(merged.scores.item() - 0.7) < 1e-6);
        });
        batches++;
      }
    } finally {
      await valData.close?.();
    }
    assert.equal(batches, 2);
    assert.equal(seen.length, 8);
    assert.throws(() => model.predict(fakeBatch([1])), /expected a batch from the test-time augmentation loader/);
    assert.throws(() => model.loss(fakeBatch([1])), /test-time augmentation is for testing/);
    assert.throws(() => detectionTask.buildTta!({ ...cfg, tta: undefined }, stub), /this config has no test-time augmentation settings/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
