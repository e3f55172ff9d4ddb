// COCO evaluation through the API on tiny hand-made cases, and the errors bad input raises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot, sharedDir } from '../helpers/paths';
import { CocoDataset, CocoFormatError, COCO_KEYPOINT_SIGMAS, evaluateCoco, loadResults, type CocoJson, type CocoResult } from '../../src/evaluation';

/** Precision at one tp and no fp is 1 / (1 + eps) in the reference (np.spacing(1) in the denominator). */
const near = (actual: number | undefined, expected: number): void => {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `expected ${expected}, got ${actual}`);
};

function tinyGt(): CocoJson {
  return {
    images: [{ id: 1, width: 100, height: 100 }, { id: 2, width: 100, height: 100 }],
    categories: [{ id: 1, name: 'a' }, { id: 7, name: 'b' }],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 },
      { id: 2, image_id: 2, category_id: 1, bbox: [50, 50, 40, 40], area: 1600, iscrowd: 0 },
      { id: 3, image_id: 2, category_id: 7, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 },
    ],
  };
}

test('perfect detections give AP 1; a category without detections gives AP 0', () => {
  const gt = new CocoDataset(tinyGt());
  const dt: CocoResult[] = [
    { image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], score: 0.9 },
    { image_id: 2, category_id: 1, bbox: [50, 50, 40, 40], score: 0.8 },
  ];
  const res = evaluateCoco(gt, dt, { iouType: 'bbox' });
  near(res.perCategoryAp.get(1), 1);
  assert.equal(res.perCategoryAp.get(7), 0);
  near(res.stats[0], 0.5);
  assert.equal(res.stats.length, 12);
  assert.equal(res.summary.length, 12);
  assert.match(res.summary[0], /^ Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = 0\.500$/);
  // Restricting catIds drops category 7; restricting imgIds keeps only image 1.
  near(evaluateCoco(gt, dt, { iouType: 'bbox', catIds: [1] }).stats[0], 1);
  const oneImage = evaluateCoco(gt, dt, { iouType: 'bbox', imgIds: [1] }).perCategoryAp;
  near(oneImage.get(1), 1);
  assert.equal(oneImage.get(7), -1);
});

test('a half-overlapping detection counts at IoU .50 only; score ties keep file order', () => {
  const gt = new CocoDataset(tinyGt());
  const dt: CocoResult[] = [
    { image_id: 2, category_id: 1, bbox: [50, 50, 40, 20], score: 0.5 }, // IoU 0.5 with gt 2
    { image_id: 2, category_id: 1, bbox: [50, 50, 40, 40], score: 0.5 }, // exact, same score, later
  ];
  const res = evaluateCoco(gt, dt, { iouType: 'bbox', catIds: [1], imgIds: [2] });
  // The first (file order) takes gt 2 at IoU .50 only; the exact one matches at every other threshold.
  near(res.stats[1], 1);
  // At .55 the first detection is a false positive ranked first: precision 1/2 from recall 0 to 1.
  near(res.precision[(1 * 101 + 50) * 4 * 3 + 2], 0.5); // [t=.55, r=.50, k=0, area all, maxDets 100]
  assert.equal(res.recall[(1 * 4 + 0) * 3 + 2], 1); // [t=.55, area all, maxDets 100]
});

test('keypoint sigmas are a parameter: other keypoint sets evaluate with their own sigmas', () => {
  const kp = [10, 10, 2, 20, 20, 2, 30, 10, 2];
  const gt = new CocoDataset({
    images: [{ id: 1, width: 64, height: 64 }],
    categories: [{ id: 1, name: 'hand', keypoints: ['a', 'b', 'c'] }],
    annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 10], area: 2000, iscrowd: 0, keypoints: kp, num_keypoints: 3 }],
  });
  const dt = [{ image_id: 1, category_id: 1, keypoints: kp.map((v, i) => (i % 3 === 2 ? 0.9 : v)), score: 1 }];
  const res = evaluateCoco(gt, dt, { iouType: 'keypoints', kptOksSigmas: [0.025, 0.025, 0.025] });
  assert.equal(res.stats.length, 10);
  near(res.stats[0], 1);
  assert.throws(() => evaluateCoco(gt, dt, { iouType: 'keypoints' }), /keypoints must have 51 numbers|kptOksSigmas has 17|keypoints must be 51/);
  assert.equal(COCO_KEYPOINT_SIGMAS.length, 17);
});

test('bad input fails with the file and the record named', () => {
  const gt = new CocoDataset(tinyGt(), 'gt.json');
  const bad = (records: unknown[], iouType: 'bbox' | 'segm' | 'keypoints', re: RegExp): void => {
    assert.throws(() => loadResults(gt, records as CocoResult[], { iouType, source: 'results.json' }), (err: Error) => {
      assert.ok(err instanceof CocoFormatError, String(err));
      assert.match(err.message, re);
      return true;
    });
  };
  const ok = { image_id: 1, category_id: 1, bbox: [1, 1, 2, 2], score: 0.5 };
  bad([ok, { ...ok, image_id: 42 }], 'bbox', /^results\.json: result 1 \(image_id 42\): image_id is not in the ground truth$/);
  bad([ok, ok, { ...ok, category_id: 99 }], 'bbox', /^results\.json: result 2 \(image_id 1\): unknown category_id 99$/);
  bad([{ ...ok, bbox: [1, 1, -2, 2] }], 'bbox', /result 0 .*negative size/);
  bad([{ ...ok, bbox: [1, NaN, 2, 2] }], 'bbox', /result 0 .*bbox must be 4 finite numbers/);
  bad([{ ...ok, score: NaN }], 'bbox', /result 0 .*score/);
  bad([ok], 'segm', /result 0 .*segm evaluation needs a segmentation/);
  bad([{ ...ok, segmentation: { size: [100, 100], counts: [1, 2] } }], 'segm', /result 0 .*malformed segmentation/);
  bad([{ ...ok, segmentation: { size: [100], counts: 'abc' } }], 'segm', /result 0 .*malformed segmentation/);
  bad([{ image_id: 1, category_id: 1, keypoints: [1, 2, 3], score: 1 }], 'keypoints', /result 0 .*keypoints must have 51 numbers/);
  // found by the fuzz harness: a first record that is no object read `.bbox` of null
  bad([null, ok], 'bbox', /^results\.json: result 0: not an object, got null$/);
  bad([ok, 7], 'bbox', /^results\.json: result 1: not an object, got 7$/);
  assert.throws(() => new CocoDataset({ ...tinyGt(), annotations: [{ id: 5, image_id: 1, category_id: 3, bbox: [0, 0, 1, 1], area: 1 }] }, 'gt.json'),
    /^CocoFormatError: gt\.json: annotations\[0\] \(id 5, image 1\): category_id 3 is not in 'categories'$/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coco-eval-'));
  const file = path.join(dir, 'broken.json');
  fs.writeFileSync(file, '[{"image_id": 1,');
  assert.throws(() => loadResults(gt, file, { iouType: 'bbox' }), new RegExp(`^CocoFormatError: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: invalid JSON`));
  fs.rmSync(dir, { recursive: true });
});

test('CLI: --json prints exactly one JSON object; errors name the file and exit 1', () => {
  const dir = path.join(sharedDir, 'fixtures', 'coco-eval', 'bbox-seed1');
  const cli = path.join(repoRoot, 'bin', 'tsvision');
  const r = spawnSync(process.execPath, [cli, 'coco-eval', '--gt', path.join(dir, 'gt.json'), '--results', path.join(dir, 'dt.json'), '--type', 'bbox', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { stats: number[]; per_category_ap: Record<string, number> };
  assert.deepEqual(Object.keys(out), ['stats', 'per_category_ap']);
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
  assert.deepEqual(out.stats, expected.stats);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coco-eval-'));
  const badFile = path.join(tmp, 'dt.json');
  fs.writeFileSync(badFile, JSON.stringify([{ image_id: 1000, category_id: 12345, bbox: [0, 0, 1, 1], score: 1 }]));
  const e = spawnSync(process.execPath, [cli, 'coco-eval', '--gt', path.join(dir, 'gt.json'), '--results', badFile, '--type', 'bbox', '--json'], { encoding: 'utf8' });
  assert.equal(e.status, 1);
  assert.equal(e.stdout, '');
  assert.match(e.stderr, /dt\.json: result 0 \(image_id 1000\): unknown category_id 12345/);
  const u = spawnSync(process.execPath, [cli, 'coco-eval', '--gt', 'x.json', '--results', badFile, '--type', 'mask'], { encoding: 'utf8' });
  assert.equal(u.status, 2);
  fs.rmSync(tmp, { recursive: true });
});
