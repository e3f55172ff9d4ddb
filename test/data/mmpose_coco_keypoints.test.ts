/**
 * Top-down records of CocoKeypoints against MMPose 1.3's CocoDataset on the same files: from
 * ground truth (training filters, clipped boxes) and from person detections (bbox_score_thr).
 * Fixtures: scripts/reference/mmpose_pipeline_fixtures.py -> test/fixtures/mmpose-pipeline/.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { CocoFile } from '../../src/data/datasets/coco-format';
import { CocoKeypoints } from '../../src/data/datasets/coco-keypoints';
import type { DataInfo } from '../../src/data/datasets/dataset';
import { COCO_FLIP_INDICES, COCO_LOWER_BODY_IDS, COCO_UPPER_BODY_IDS, flipIndicesFromPairs } from '../../src/data/transforms';
import { repoRoot } from '../helpers/paths';

const DIR = path.join(repoRoot, 'test', 'fixtures', 'mmpose-pipeline');
const read = (f: string) => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8'));

interface Rec { img_id: number; id: number; img_path: string; bbox: number[]; bbox_score: number[]; keypoints: number[]; keypoints_visible: number[] }

function compare(ours: CocoKeypoints, ref: Rec[], what: string, fromDetections: boolean): void {
  assert.equal(ours.length, ref.length, `${what}: ${ours.length} samples, mmpose ${ref.length}`);
  ref.forEach((r, i) => {
    const info: DataInfo = ours.info(i);
    const at = `${what} sample ${i} (mmpose id ${r.id})`;
    assert.equal(info.imgId, r.img_id, at);
    assert.equal(info.instanceId, r.id, at);
    assert.equal(path.basename(info.imgPath), r.img_path, at);
    assert.deepEqual(info.boxes, r.bbox, `${at}: bbox`);
    assert.deepEqual([info.boxScore ?? 1], r.bbox_score, `${at}: bbox_score`);
    const k = info.keypoints!;
    assert.deepEqual(Array.from({ length: 34 }, (_, j) => k[3 * (j >> 1) + (j & 1)]), r.keypoints, `${at}: keypoints`);
    // Detection samples: MMPose marks the dummy keypoints visible; ours are unlabelled (v = 0), which no test-time step reads.
    if (!fromDetections) assert.deepEqual(Array.from({ length: 17 }, (_, j) => Math.min(1, k[3 * j + 2])), r.keypoints_visible, `${at}: visibility`);
  });
}

test('CocoKeypoints top-down records equal MMPose CocoDataset (ground truth and detections)', () => {
  const fx = read('datasets.json');
  const gt: CocoFile = read('gt.json');
  const opts = { annFile: path.join(DIR, 'gt.json'), imgDir: 'imgs', mode: 'topdown' as const };
  const train = CocoKeypoints.fromJson(opts, gt);
  compare(train, fx.train, 'ground truth', false);
  // The fixture exercises the filters: crowd, no keypoints and a box clipped to zero width are gone.
  const kept = new Set(fx.train.map((r: Rec) => r.id));
  assert.ok(gt.annotations.some((a) => a.iscrowd && !kept.has(a.id)));
  assert.ok(gt.annotations.some((a) => a.num_keypoints === 0 && !a.iscrowd && !kept.has(a.id)));
  const dets = read('detections.json');
  const test_ = CocoKeypoints.fromJson({ ...opts, detections: 'detections.json', bboxScoreThr: fx.testFromDetections.bboxScoreThr }, gt, dets);
  compare(test_, fx.testFromDetections.records, 'detections', true);
  assert.ok(dets.length > test_.length, 'the threshold and the category filter drop detections');
  assert.deepEqual(flipIndicesFromPairs(train.keypointInfo.flipPairs, 17), fx.flipIndices);
  assert.deepEqual(fx.flipIndices, COCO_FLIP_INDICES);
  assert.deepEqual([fx.upperBodyIds, fx.lowerBodyIds], [COCO_UPPER_BODY_IDS, COCO_LOWER_BODY_IDS]);
});

test('CocoKeypoints detections: errors name the file and the detection', () => {
  const gt: CocoFile = read('gt.json');
  const opts = { annFile: 'gt.json', imgDir: 'imgs', mode: 'topdown' as const, detections: 'dets.json' };
  assert.throws(() => CocoKeypoints.fromJson(opts, gt, [{ image_id: 3, category_id: 1, bbox: [0, 0, 'a', 1], score: 1 }]), /dets\.json: detection #0 \(image 3\): expected bbox/);
  assert.throws(() => CocoKeypoints.fromJson(opts, gt, { dets: [] }), /dets\.json: top level: expected an array/);
});
