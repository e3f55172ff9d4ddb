/**
 * TopdownCocoMetric against MMPose 1.3's CocoMetric (score_mode bbox_keypoint, keypoint_score_thr
 * 0.2, oks_nms 0.9) on the same predictions: the same kept instances with the same scores, and
 * AP/AR within 1e-6. Fixtures: scripts/reference/mmpose_pipeline_fixtures.py ->
 * test/fixtures/mmpose-pipeline/ (gt.json, metric.json, datasets.json for the sigmas).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CocoDataset } from '../../src/evaluation/coco/dataset';
import { COCO_KEYPOINT_SIGMAS } from '../../src/evaluation/coco/params';
import { TopdownCocoMetric, type TopdownPrediction } from '../../src/tasks/pose/evaluator';
import { oksIou, oksNms } from '../../src/tasks/pose/oks_nms';
import { repoRoot } from '../helpers/paths';

const DIR = path.join(repoRoot, 'test', 'fixtures', 'mmpose-pipeline');
const read = (f: string) => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8'));

interface RefPred { id: number; img_id: number; keypoints: number[][]; keypoint_scores: number[]; bbox_score: number; bbox_scale: [number, number] }
interface Kept { image_id: number; category_id: number; keypoints: number[]; score: number }

const fx = read('metric.json') as { options: Record<string, unknown>; predictions: RefPred[]; kept: Kept[]; stats: Record<string, number> };
const sigmas: number[] = read('datasets.json').sigmas;
const preds: TopdownPrediction[] = fx.predictions.map((p) => ({
  id: p.id, imageId: p.img_id, keypoints: p.keypoints.flat(), keypointScores: p.keypoint_scores, bboxScore: p.bbox_score, bboxScale: p.bbox_scale,
}));

test('the fixture exercises OKS-NMS, duplicate sample ids and zero rescoring', () => {
  const ids = new Set(fx.predictions.map((p) => p.id));
  assert.ok(ids.size < fx.predictions.length, 'a repeated sample id');
  assert.ok(fx.kept.length < ids.size, `mmpose kept ${fx.kept.length} of ${ids.size}: NMS removed some`);
  assert.ok(fx.kept.some((k) => k.score === 0), 'an instance with no keypoint score above the threshold');
  assert.deepEqual(fx.options, { scoreMode: 'bbox_keypoint', keypointScoreThr: 0.2, nmsMode: 'oks_nms', nmsThr: 0.9, useArea: true });
  assert.ok(Math.max(...sigmas.map((s, i) => Math.abs(s - COCO_KEYPOINT_SIGMAS[i]))) < 1e-8);
});

test('TopdownCocoMetric equals MMPose CocoMetric: kept instances, scores, AP/AR', () => {
  const metric = new TopdownCocoMetric(CocoDataset.fromFile(path.join(DIR, 'gt.json')), { sigmas });
  // Two process() calls, as batches arrive.
  metric.process(preds.slice(0, 10));
  metric.process(preds.slice(10));
  const { results, metrics } = metric.compute();
  assert.equal(results.length, fx.kept.length, `kept ${results.length}, mmpose ${fx.kept.length}`);
  fx.kept.forEach((ref, i) => {
    const r = results[i];
    const at = `kept #${i} (image ${ref.image_id})`;
    assert.equal(r.image_id, ref.image_id, at);
    assert.equal(r.category_id, ref.category_id, at);
    assert.ok(Math.abs(r.score - ref.score) <= 1e-12 * Math.max(1, ref.score), `${at}: score ${r.score} vs ${ref.score}`);
    const d = Math.max(...r.keypoints!.map((v, j) => Math.abs(v - ref.keypoints[j])));
    assert.ok(d <= 1e-4, `${at}: keypoints differ by ${d}`);
  });
  for (const [name, v] of Object.entries(fx.stats)) {
    assert.ok(Math.abs(metrics[name] - v) <= 1e-6, `${name}: ${metrics[name]} vs mmpose ${v}`);
  }
  assert.deepEqual(Object.keys(metrics).sort(), Object.keys(fx.stats).sort());
});

test('without NMS every unique sample is kept, and the AP changes', () => {
  const gt = CocoDataset.fromFile(path.join(DIR, 'gt.json'));
  const none = new TopdownCocoMetric(gt, { sigmas, nmsMode: 'none' });
  none.process(preds);
  const out = none.compute();
  assert.equal(out.results.length, new Set(preds.map((p) => p.id)).size);
  assert.notEqual(out.metrics.AP, fx.stats.AP);
  assert.throws(() => new TopdownCocoMetric(gt, { nmsMode: 'soft_oks_nms' as 'none' }), /TopdownCocoMetric\.nmsMode/);
  const bad = new TopdownCocoMetric(gt);
  assert.throws(() => bad.process([{ ...preds[0], keypointScores: [1, 2] }]), /prediction for sample \d+ \(image \d+\): expected 34 coordinates and 17 scores/);
});

test('oksIou / oksNms by hand: identical instances overlap 1, far ones 0; the higher score survives', () => {
  const k = 17;
  const base = Array.from({ length: 3 * k }, (_, i) => (i % 3 === 2 ? 1 : 10 + i));
  const far = base.map((v, i) => (i % 3 === 2 ? v : v + 500));
  const a = { keypoints: base, score: 0.5, area: 100 };
  const b = { keypoints: base, score: 0.9, area: 100 };
  const c = { keypoints: far, score: 0.7, area: 100 };
  assert.deepEqual([...oksIou(a, [b, c], COCO_KEYPOINT_SIGMAS)], [1, 0]);
  assert.deepEqual(oksNms([a, b, c], 0.9, COCO_KEYPOINT_SIGMAS), [1, 2]);
  // Equal scores: the later instance first, as numpy's argsort()[::-1].
  assert.deepEqual(oksNms([{ ...a, score: 0.9 }, b], 0.9, COCO_KEYPOINT_SIGMAS), [1]);
  assert.throws(() => oksNms([{ ...a, keypoints: [1, 2, 3] }], 0.9, COCO_KEYPOINT_SIGMAS), /oksNms: instance 0 has 1 keypoints, sigmas has 17/);
});
