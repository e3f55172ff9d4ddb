/**
 * The pose task's glue end to end on the synthetic `people` dataset: top-down records through
 * loadSample and MMPose's val pipeline, predictions made from the ground truth scored by
 * TopdownCocoMetric (AP 1), perturbed ones score lower; the train pipeline's specs build.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { LocalBackend } from '../../src/data/backends';
import { DataLoader } from '../../src/data/loader';
import { CocoKeypoints } from '../../src/data/datasets/coco-keypoints';
import { loadSample } from '../../src/data/load';
import { Rng } from '../../src/data/rng';
import { generatePeople } from '../../src/data/synthetic/people';
import { buildPipeline } from '../../src/data/transforms';
import { CocoDataset } from '../../src/evaluation/coco/dataset';
import { TopdownCocoMetric, topdownPrediction, topdownTestPipeline, topdownTrainPipeline } from '../../src/tasks/pose';
import { PoseEvaluator } from '../../src/tasks/pose/task';
import type { Batch } from '../../src/data/collate';
import { tempDir } from '../data/helpers';

let dir: string;
before(async () => {
  dir = await tempDir('posedata');
  await generatePeople({ out: path.join(dir, 'people'), images: 6, seed: 5, size: { minSize: 128, maxSize: 160 } });
});
after(() => fs.rm(dir, { recursive: true, force: true }));

test('people val set: ground-truth keypoints as predictions give AP 1; noisy ones less; ids and scores flow from the records', async () => {
  const annFile = path.join(dir, 'people', 'annotations', 'person_keypoints_val.json');
  const ds = await CocoKeypoints.load({ annFile, imgDir: path.join(dir, 'people', 'val'), mode: 'topdown' });
  assert.ok(ds.length > 0);
  const pipeline = buildPipeline(topdownTestPipeline({ inputSize: [48, 64] }));
  const exact = new TopdownCocoMetric(CocoDataset.fromFile(annFile));
  const noisy = new TopdownCocoMetric(CocoDataset.fromFile(annFile));
  const rng = new Rng(1);
  for (let i = 0; i < ds.length; i++) {
    const info = ds.info(i);
    const s = await pipeline.apply(await loadSample(info, new LocalBackend()), new Rng(i));
    assert.deepEqual([s.img.width, s.img.height], [48, 64]);
    assert.equal(s.meta.instanceId, info.annIds![0]);
    const k = info.keypoints!;
    const xy = Array.from({ length: 34 }, (_, j) => k[3 * (j >> 1) + (j & 1)]);
    const scores = Array.from({ length: 17 }, (_, j) => (k[3 * j + 2] > 0 ? 0.9 : 0.1));
    const p = topdownPrediction(s, xy, scores);
    assert.equal(p.bboxScore, 1);
    assert.deepEqual(p.bboxScale, s.pose!.scale);
    exact.process([p]);
    noisy.process([{ ...p, keypoints: xy.map((v) => v + rng.normal(0, 6)) }]);
  }
  const a = exact.compute().metrics, b = noisy.compute().metrics;
  assert.equal(a.AP, 1);
  assert.ok(b.AP < a.AP, `noisy AP ${b.AP}`);
});

test('distributed evaluation\'s state() and merge(): the crops of odd ids, JSON round-tripped, merged into the even ones\' give the whole set\'s metrics', async () => {
  const annFile = path.join(dir, 'people', 'annotations', 'person_keypoints_val.json');
  const ds = await CocoKeypoints.load({ annFile, imgDir: path.join(dir, 'people', 'val'), mode: 'topdown' });
  assert.ok(ds.length >= 2, `${ds.length} crops`);
  const pipeline = buildPipeline(topdownTestPipeline({ inputSize: [48, 64] }));
  const [whole, even, odd] = [0, 1, 2].map(() => new PoseEvaluator(annFile, {}));
  const rng = new Rng(2);
  for (let i = 0; i < ds.length; i++) {
    const info = ds.info(i);
    const s = await pipeline.apply(await loadSample(info, new LocalBackend()), new Rng(i));
    const k = info.keypoints!;
    // noisy, so that the AP is neither 0 nor 1 and depends on every crop
    const keypoints = Float32Array.from({ length: 34 }, (_, j) => k[3 * (j >> 1) + (j & 1)] + rng.normal(0, 4));
    const scores = Float32Array.from({ length: 17 }, (_, j) => (k[3 * j + 2] > 0 ? 0.9 : 0.1));
    const batch = { inputs: new Float32Array(0), shape: [1, 3, 64, 48], items: [s] } as unknown as Batch;
    whole.process(batch, [{ keypoints, scores }]);
    (i % 2 === 0 ? even : odd).process(batch, [{ keypoints, scores }]);
  }
  even.merge(JSON.parse(JSON.stringify(odd.state())));
  const m = even.evaluate();
  assert.ok(m['coco/AP'] > 0 && m['coco/AP'] < 1, `AP ${m['coco/AP']}`);
  assert.deepEqual(m, whole.evaluate());
  assert.throws(() => odd.merge({ predictions: [] }), /pose evaluator: merge expects an array of top-down predictions/);
});

test('topdownTrainPipeline is MMPose train_pipeline; GenerateTarget needs the codec builder', () => {
  const specs = topdownTrainPipeline({ inputSize: [192, 256], encoder: { type: 'MSRAHeatmap', sigma: 2 } });
  assert.deepEqual(specs.map((s) => s.type), ['GetBBoxCenterScale', 'TopdownRandomFlip', 'RandomHalfBody', 'RandomBBoxTransform', 'TopdownAffine', 'GenerateTarget']);
  assert.throws(() => buildPipeline(specs), /GenerateTarget \(encoder 'MSRAHeatmap'\) needs a keypoint encoder builder/);
  const built = buildPipeline(specs, { buildKeypointEncoder: () => ({ encode: (_xy, vis, k) => ({ heatmaps: new Float32Array(k), heatmapSize: [1, 1], keypointWeights: vis }) }) });
  assert.equal(built.transforms.length, 6);
  assert.throws(() => topdownPrediction({ meta: { imgPath: 'x.jpg' } as never, targets: {}, pose: undefined }, [], []), /x\.jpg: the sample has no instanceId/);
});

test('DataLoader runs the train pipeline with GenerateTarget in worker threads and inline (pipelineContextModule)', async () => {
  const annFile = path.join(dir, 'people', 'annotations', 'person_keypoints_train.json');
  const ds = await CocoKeypoints.load({ annFile, imgDir: path.join(dir, 'people', 'train'), mode: 'topdown' });
  const pipeline = topdownTrainPipeline({ inputSize: [48, 64], encoder: { type: 'StandIn', inputSize: [48, 64], heatmapSize: [12, 16] } });
  const contextModule = path.join(__dirname, '..', 'helpers', 'pose_stand_in_context.js');
  assert.throws(() => new DataLoader({ dataset: ds, pipeline, batchSize: 2 }), /needs a keypoint encoder builder/);
  const runs: number[][] = [];
  for (const workers of [0, 1]) {
    const loader = new DataLoader({ dataset: ds, pipeline, batchSize: 2, workers, seed: 3, shuffle: false, pipelineContextModule: contextModule });
    const sums: number[] = [];
    try {
      for await (const b of loader.epoch(0)) {
        assert.deepEqual(b.shape.slice(1), [3, 64, 48]);
        for (const it of b.items) {
          assert.deepEqual(it.pose!.heatmapSize, [12, 16]);
          const k = it.targets.keypoints!;
          assert.deepEqual([...it.pose!.targetWeights], Array.from({ length: 17 }, (_, j) => Math.min(1, k[3 * j + 2])));
          sums.push(it.pose!.heatmaps.reduce((a, v) => a + v, 0), it.pose!.center[0], it.pose!.rotation);
        }
      }
    } finally {
      await loader.close();
    }
    runs.push(sums);
  }
  assert.equal(runs[0].length, 3 * ds.length);
  assert.deepEqual(runs[1], runs[0], 'the same draws in a worker thread as inline');
  assert.throws(() => new DataLoader({ dataset: ds, pipeline, batchSize: 2, pipelineContextModule: __filename }), /does not export a pipelineContext object/);
});
