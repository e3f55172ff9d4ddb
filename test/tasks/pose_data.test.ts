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
import { CocoKeypoints } from '../../src/data/datasets/coco-keypoints';
import { loadSample } from '../../src/data/load';
import { Rng } from '../../src/data/rng';
import { generatePeople } from '../../src/data/synthetic/people';
import { buildPipeline } from '../../src/data/transforms';
import { CocoDataset } from '../../src/evaluation/coco/dataset';
import { TopdownCocoMetric, topdownPrediction, topdownTestPipeline, topdownTrainPipeline } from '../../src/tasks/pose';
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

test('topdownTrainPipeline is MMPose train_pipeline; GenerateTarget needs the codec builder', () => {
  const specs = topdownTrainPipeline({ inputSize: [192, 256], encoder: { type: 'MSRAHeatmap', sigma: 2 } });
  assert.deepEqual(specs.map((s) => s.type), ['GetBBoxCenterScale', 'TopdownRandomFlip', 'RandomHalfBody', 'RandomBBoxTransform', 'TopdownAffine', 'GenerateTarget']);
  assert.throws(() => buildPipeline(specs), /GenerateTarget \(encoder 'MSRAHeatmap'\) needs a keypoint encoder builder/);
  const built = buildPipeline(specs, { buildKeypointEncoder: () => ({ encode: (_xy, vis, k) => ({ heatmaps: new Float32Array(k), heatmapSize: [1, 1], keypointWeights: vis }) }) });
  assert.equal(built.transforms.length, 6);
  assert.throws(() => topdownPrediction({ meta: { imgPath: 'x.jpg' } as never, targets: {}, pose: undefined }, [], []), /x\.jpg: the sample has no instanceId/);
});
