import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { LocalBackend } from '../../src/data/backends';
import { CocoKeypoints } from '../../src/data/datasets/coco-keypoints';
import type { CocoFile } from '../../src/data/datasets/coco-format';
import { SegmentationDataset, shapesSegOptions } from '../../src/data/datasets/segmentation';
import { loadSample } from '../../src/data/load';
import { Rng } from '../../src/data/rng';
import { generatePeople } from '../../src/data/synthetic/people';
import { generateShapesSeg } from '../../src/data/synthetic/shapes-seg';
import { buildPipeline, flipIndicesFromPairs } from '../../src/data/transforms';
import { boxToCenterScale, gaussianHeatmaps, warpMatrix } from '../../src/data/transforms/topdown';
import { decodeRle, encodeRle } from '../../src/structures/masks';
import { rleFromString, rleToString } from '../../src/evaluation/coco/mask';
import { close, tempDir } from './helpers';

let dir: string;
before(async () => {
  dir = await tempDir('kpseg');
  await generatePeople({ out: path.join(dir, 'people'), images: 10, seed: 2, size: { minSize: 128, maxSize: 192 } });
  await generateShapesSeg({ out: path.join(dir, 'seg'), images: 6, seed: 2, shapes: { minSize: 96, maxSize: 128, crowdProb: 0.5 } });
});
after(() => fs.rm(dir, { recursive: true, force: true }));

const annFile = () => path.join(dir, 'people', 'annotations', 'person_keypoints_train.json');

test('people: COCO keypoints with 17 names, 1-based skeleton, visibility flags consistent with num_keypoints', async () => {
  const coco: CocoFile = JSON.parse(await fs.readFile(annFile(), 'utf8'));
  assert.equal(coco.categories[0].keypoints!.length, 17);
  assert.ok(coco.categories[0].skeleton!.flat().every((i) => i >= 1 && i <= 17));
  for (const a of coco.annotations) {
    const v = a.keypoints!.filter((_, i) => i % 3 === 2);
    assert.equal(a.num_keypoints, v.filter((x) => x > 0).length);
    for (let j = 0; j < 17; j++) {
      const [x, y, vis] = a.keypoints!.slice(3 * j, 3 * j + 3);
      if (vis === 0) assert.deepEqual([x, y], [0, 0]);
    }
  }
});

test('CocoKeypoints: top-down gives one sample per person, bottom-up one per image, detections filtered by score', async () => {
  const coco: CocoFile = JSON.parse(await fs.readFile(annFile(), 'utf8'));
  const opts = { annFile: annFile(), imgDir: path.join(dir, 'people', 'train') };
  const td = CocoKeypoints.fromJson({ ...opts, mode: 'topdown' }, coco);
  assert.equal(td.length, coco.annotations.filter((a) => a.num_keypoints! > 0).length);
  assert.equal(td.info(0).keypoints!.length, 51);
  assert.deepEqual(td.keypointInfo.flipPairs, [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]]);
  const bu = CocoKeypoints.fromJson({ ...opts, mode: 'bottomup' }, coco);
  assert.equal(bu.length, coco.images.length);
  const dets = [
    { image_id: 1, category_id: 1, bbox: [1, 2, 30, 60], score: 0.9 },
    { image_id: 1, category_id: 1, bbox: [5, 5, 30, 60], score: 0.2 },
  ];
  const fromDet = CocoKeypoints.fromJson({ ...opts, mode: 'topdown', detections: 'dets.json', bboxScoreThr: 0.5 }, coco, dets);
  assert.equal(fromDet.length, 1);
  assert.deepEqual(fromDet.info(0).boxes, [1, 2, 31, 62]);
  assert.throws(() => CocoKeypoints.fromJson({ ...opts, mode: 'topdown', detections: 'dets.json' }, coco, [{ image_id: 999, bbox: [0, 0, 1, 1], score: 1 }]), /dets\.json: detection #0: image_id 999/);
  const bad = structuredClone(coco);
  bad.annotations[0].keypoints = [1, 2, 3];
  assert.throws(() => CocoKeypoints.fromJson({ ...opts, mode: 'topdown' }, bad), /person_keypoints_train\.json: annotation 1 \(image 1\): keypoints must have 51 numbers/);
});

test('top-down: centre/scale with padding 1.25 and aspect 192:256, warp, heatmaps at 1/4 with weights', () => {
  const { center, scale } = boxToCenterScale([10, 20, 110, 220], 192 / 256);
  assert.deepEqual(center, [60, 120]);
  assert.deepEqual(scale, [187.5, 250]); // h = 200 * 1.25; w = h * 0.75
  const m = warpMatrix(center, scale, 0, [192, 256]);
  const s = 192 / 187.5;
  assert.ok(close(m, [s, 0, 96 - s * 60, 0, s, 128 - s * 120]));
  // Keypoints: at the centre, at the box top, unlabelled, far outside.
  const kps = new Float32Array([96, 128, 2, 96, 25.6, 1, 0, 0, 0, 1000, 1000, 2]);
  const { heatmaps, weights } = gaussianHeatmaps(kps, [192, 256], [48, 64], 2);
  assert.deepEqual([...weights], [1, 1, 0, 0]);
  assert.equal(heatmaps[0 * 64 * 48 + 32 * 48 + 24], 1);
  assert.ok(Math.abs(heatmaps[32 * 48 + 25] - Math.exp(-1 / 8)) < 1e-6);
  assert.equal(heatmaps[1 * 64 * 48 + 6 * 48 + 24], 1); // 25.6 / 4 -> row 6
  assert.equal(heatmaps.subarray(2 * 64 * 48).reduce((a, b) => a + b, 0), 0);
});

test('top-down pipeline on a real sample: keypoints land inside the 192x256 crop, flip swaps left/right', async () => {
  const coco: CocoFile = JSON.parse(await fs.readFile(annFile(), 'utf8'));
  const ds = CocoKeypoints.fromJson({ annFile: annFile(), imgDir: path.join(dir, 'people', 'train'), mode: 'topdown' }, coco);
  const pipeline = buildPipeline([
    { type: 'GetBBoxCenterScale' },
    { type: 'TopdownRandomFlip', prob: 1, flipIndices: flipIndicesFromPairs(ds.keypointInfo.flipPairs, 17) },
    { type: 'TopdownAffine', inputSize: [192, 256] },
    { type: 'GenerateHeatmap', heatmapSize: [48, 64], sigma: 2 },
  ]);
  const info = ds.info(0);
  const s = await pipeline.apply(await loadSample(info, new LocalBackend()), new Rng(0));
  assert.deepEqual([s.img.width, s.img.height, s.img.data.length], [192, 256, 192 * 256 * 3]);
  const k = s.targets.keypoints!;
  for (let j = 0; j < 17; j++) if (k[3 * j + 2] > 0) assert.ok(k[3 * j] >= 0 && k[3 * j] <= 192 && k[3 * j + 1] >= 0 && k[3 * j + 1] <= 256);
  // After a flip, the keypoint called left_shoulder is the original right_shoulder.
  assert.equal(k[5 * 3 + 2], info.keypoints![6 * 3 + 2]);
  assert.equal(s.pose!.targetWeights.length, 17);
  assert.deepEqual([...s.pose!.targetWeights], Array.from({ length: 17 }, (_, j) => (k[3 * j + 2] > 0 ? 1 : 0)));
});

test('segmentation: shapes-seg label maps load with class list from classes.json; reduce-zero-label and label maps', async () => {
  const opts = await shapesSegOptions(path.join(dir, 'seg'), 'train');
  const ds = await SegmentationDataset.load(opts, ['background', 'circle', 'rectangle', 'triangle', 'star']);
  assert.equal(ds.length, 5);
  const s = await loadSample(ds.info(0), new LocalBackend(), { segMap: ds.segMap });
  assert.equal(s.targets.segMap!.length, s.img.width * s.img.height);
  assert.ok(s.targets.segMap!.some((v) => v >= 1 && v <= 4));
  assert.ok(s.targets.segMap!.every((v) => v <= 4 || v === 255));
  await assert.rejects(SegmentationDataset.load(opts, ['background', 'circle']), /ann_dir.*disagree/);
  const reduced = await loadSample(ds.info(0), new LocalBackend(), { segMap: { reduceZeroLabel: true } });
  for (let i = 0; i < reduced.targets.segMap!.length; i++) {
    const v = s.targets.segMap![i];
    assert.equal(reduced.targets.segMap![i], v === 0 || v === 255 ? 255 : v - 1);
  }
  const mapped = await loadSample(ds.info(0), new LocalBackend(), { segMap: { labelMap: { 1: 7 } } });
  for (let i = 0; i < mapped.targets.segMap!.length; i++) assert.equal(mapped.targets.segMap![i], s.targets.segMap![i] === 1 ? 7 : 255);
  // A missing label map is an error that names the image.
  await fs.rm(path.join(opts.annDir, '000002.png'));
  await assert.rejects(SegmentationDataset.load(opts), /000002\.jpg: no label map 000002\.png/);
});

test('RLE: encode/decode round trip, compressed strings as pycocotools writes them', () => {
  // 3 x 2 mask, column-major runs: column 0 = [0,1,1], column 1 = [1,0,0]
  const bitmap = new Uint8Array([0, 1, 1, 0, 1, 0]);
  const rle = encodeRle(bitmap, 3, 2);
  assert.deepEqual(rle.counts, [1, 3, 2]);
  assert.deepEqual(decodeRle(rle), bitmap);
  for (const counts of [[0, 5], [10, 200, 3000, 40000, 5], [7, 1, 1, 1, 1, 300]]) {
    const n = counts.reduce((a, b) => a + b, 0);
    assert.deepEqual(Array.from(rleFromString(rleToString({ h: n, w: 1, counts: Uint32Array.from(counts) }), n, 1).counts), counts);
  }
  assert.equal(rleToString({ h: 5, w: 1, counts: Uint32Array.from([0, 5]) }), '05'); // pycocotools: {'counts': b'05'} for a 5-pixel all-ones mask
});
