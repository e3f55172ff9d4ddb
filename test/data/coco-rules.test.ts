/**
 * Issue 14 item 6: one set of COCO annotation rules for the training datasets and the evaluator
 * (duplicate ids, same messages), annotation image sizes checked against the files, and
 * MMDetection's rule for instances whose polygons are all invalid.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { LocalBackend } from '../../src/data/backends/local';
import { CocoDetection } from '../../src/data/datasets/coco';
import type { CocoFile } from '../../src/data/datasets/coco-format';
import { loadSample } from '../../src/data/load';
import { CocoDataset, CocoFormatError } from '../../src/evaluation';
import { halfImage, pngBytes, tempDir } from './helpers';

let dir: string;

before(async () => {
  dir = await tempDir('coco-rules');
  await fs.writeFile(path.join(dir, 'a.png'), await pngBytes(halfImage(40, 30), 40, 30));
});
after(() => fs.rm(dir, { recursive: true, force: true }));

/** A valid two-image file (images 1 and 2, categories 1 and 2, annotations 10, 11, 12). */
function cocoFile(): CocoFile {
  const box = { bbox: [2, 2, 10, 8], area: 80, iscrowd: 0 as const, segmentation: [[2, 2, 12, 2, 12, 10, 2, 10]] };
  return {
    images: [{ id: 1, file_name: 'a.png', width: 40, height: 30 }, { id: 2, file_name: 'a.png', width: 40, height: 30 }],
    categories: [{ id: 1, name: 'cat', supercategory: 'x' }, { id: 2, name: 'dog', supercategory: 'x' }],
    annotations: [
      { id: 10, image_id: 1, category_id: 1, ...box },
      { id: 11, image_id: 1, category_id: 2, ...box },
      { id: 12, image_id: 2, category_id: 1, ...box },
    ],
  };
}

/** The message each reader gives for a file, or null when it accepts it. */
function messages(json: CocoFile): { dataset: string | null; evaluator: string | null } {
  let dataset: string | null = null;
  let evaluator: string | null = null;
  try {
    CocoDetection.fromJson({ annFile: 'ann.json', imgDir: dir }, structuredClone(json));
  } catch (err) {
    dataset = (err as Error).message;
  }
  try {
    new CocoDataset(structuredClone(json), 'ann.json');
  } catch (err) {
    assert.ok(err instanceof CocoFormatError, String(err));
    evaluator = err.message;
  }
  return { dataset, evaluator };
}

test('duplicate image, annotation and category ids: the dataset and the evaluator reject them with the same message', () => {
  const cases: [string, (j: CocoFile) => void, RegExp][] = [
    ['image', (j) => { j.images[1].id = 1; j.annotations[2].image_id = 1; }, /^ann\.json: images\[1\] \(id 1\): duplicate id: images\[0\] has id 1 too$/],
    ['annotation', (j) => { j.annotations[2].id = 10; }, /^ann\.json: annotations\[2\] \(id 10\): duplicate id: annotations\[0\] has id 10 too$/],
    ['category', (j) => { j.categories[1].id = 1; }, /^ann\.json: categories\[1\] \(id 1\): duplicate id: categories\[0\] has id 1 too$/],
  ];
  for (const [what, edit, expected] of cases) {
    const json = cocoFile();
    edit(json);
    const m = messages(json);
    assert.ok(m.dataset !== null, `duplicate ${what} id accepted by the training dataset`);
    assert.match(m.dataset, expected, what);
    assert.equal(m.evaluator, m.dataset, `duplicate ${what} id: the evaluator says something else`);
  }
});

test('the other COCO rules give the same message from the dataset and the evaluator', () => {
  const cases: [(j: CocoFile) => void, RegExp][] = [
    [(j) => { j.annotations[1].category_id = 7; }, /^ann\.json: annotations\[1\] \(id 11, image 1\): category_id 7 is not in 'categories'$/],
    [(j) => { j.annotations[0].image_id = 9; }, /^ann\.json: annotations\[0\] \(id 10, image 9\): image_id 9 is not in 'images'$/],
    [(j) => { j.annotations[2].bbox = [0, 0, -1, 2]; }, /^ann\.json: annotations\[2\] \(id 12, image 2\): bbox must be \[x, y, w, h\] with w, h >= 0, got \[0,0,-1,2\]$/],
    [(j) => { (j.images[0] as { id: unknown }).id = '1'; }, /^ann\.json: images\[0\]: id must be an integer, got "1"$/],
    [(j) => { j.images[1].width = 0; }, /^ann\.json: images\[1\] \(id 2\): width must be a positive number, got 0$/],
    [(j) => { (j.categories[0] as { name: unknown }).name = 3; }, /^ann\.json: categories\[0\] \(id 1\): name must be a string, got 3$/],
    [(j) => { (j as { images: unknown }).images = {}; }, /^ann\.json: top level: 'images' must be an array, got \{\}$/],
    // the form of a segmentation is a file rule (whether masks are loaded or not); found by the fuzz harness
    [(j) => { (j.annotations[0] as { segmentation: unknown }).segmentation = [[2, 'a', 12, 2, 12, 10]]; },
      /^ann\.json: annotations\[0\] \(id 10, image 1\): segmentation\[0\] must be a polygon \(an array of numbers\), got \[2,"a",12,2,12,10\]$/],
    [(j) => { (j.annotations[1] as { segmentation: unknown }).segmentation = {}; },
      /^ann\.json: annotations\[1\] \(id 11, image 1\): segmentation must be polygons or an RLE \{size, counts\}, got \{\}$/],
    [(j) => { (j.annotations[1] as { segmentation: unknown }).segmentation = null; },
      /^ann\.json: annotations\[1\] \(id 11, image 1\): segmentation must be polygons or an RLE \{size, counts\}, got null$/],
    [(j) => { j.annotations[2].segmentation = { size: [40, 30], counts: 'abc' }; },
      /^ann\.json: annotations\[2\] \(id 12, image 2\): RLE segmentation size must be the image's \[height, width\] = \[30, 40\], got \[40,30\]$/],
  ];
  for (const [edit, expected] of cases) {
    const json = cocoFile();
    edit(json);
    const m = messages(json);
    assert.match(m.dataset ?? '<accepted>', expected);
    assert.equal(m.evaluator, m.dataset);
  }
  assert.deepEqual(messages(cocoFile()), { dataset: null, evaluator: null });
});

test('a UTF-8 byte-order mark: both readers accept the file (found by the fuzz harness: only the dataset did)', async () => {
  const file = path.join(dir, 'bom.json');
  await fs.writeFile(file, `\ufeff${JSON.stringify(cocoFile())}`);
  const ds = await CocoDetection.load({ annFile: file, imgDir: dir });
  assert.equal(ds.length, 2);
  assert.deepEqual(CocoDataset.fromFile(file).imageIds, [1, 2]);
});

test("an annotation's image size that differs from the file's is an error naming the file, the image id and both sizes", async () => {
  const backend = new LocalBackend();
  for (const [w, h] of [[20, 15], [80, 60], [40, 31]]) {
    const json = cocoFile();
    json.images[0].width = w;
    json.images[0].height = h;
    const ds = CocoDetection.fromJson({ annFile: 'ann.json', imgDir: dir }, json);
    const file = path.join(dir, 'a.png');
    await assert.rejects(loadSample(ds.info(0), backend), (err: Error) => {
      assert.equal(err.message, `${file}: image id 1: the annotation gives its size as ${w}x${h} (width x height), the file is 40x30`);
      return true;
    }, `${w}x${h}`);
  }
  // The right size loads, masks at the file's size.
  const ok = CocoDetection.fromJson({ annFile: 'ann.json', imgDir: dir }, cocoFile());
  const s = await loadSample(ok.info(0), backend);
  assert.deepEqual(s.meta.oriShape, [30, 40]);
  assert.equal(s.targets.masks!.height, 30);
});

test('instances whose polygons all have fewer than 3 points (or odd lengths) are ignored, as MMDetection 3.3 does', () => {
  const json = cocoFile();
  json.annotations[0].segmentation = [[2, 2, 12, 2], [1, 2, 3, 4, 5]]; // 2 points; odd length: no valid polygon
  json.annotations[1].segmentation = [[2, 2, 12], [2, 2, 12, 2, 12, 10]]; // one invalid, one valid polygon
  const ds = CocoDetection.fromJson({ annFile: 'ann.json', imgDir: dir }, json);
  const info = ds.info(0);
  assert.deepEqual(info.annIds, [11], 'the instance with no valid polygon is not a training target');
  assert.deepEqual(info.labels, [1]);
  assert.deepEqual(info.boxes, [2, 2, 12, 10]);
  assert.deepEqual(info.masks, [[[2, 2, 12, 2, 12, 10]]]);
  assert.deepEqual(info.ignoreBoxes, [2, 2, 12, 10], 'it becomes an ignored region (ignore_flag)');
  assert.ok(info.masks!.every((m) => !Array.isArray(m) || m.length > 0), 'no empty masks');
  // Without masks the polygons are not read (MMDetection's with_mask=False): the box stays a target.
  const boxesOnly = CocoDetection.fromJson({ annFile: 'ann.json', imgDir: dir, withMasks: false }, json);
  assert.deepEqual(boxesOnly.info(0).annIds, [10, 11]);
  // An image whose only instance is ignored this way has no target: training (filterEmpty) drops it.
  json.annotations[2].segmentation = [[1, 1]];
  const train = CocoDetection.fromJson({ annFile: 'ann.json', imgDir: dir, filterEmpty: true }, json);
  assert.deepEqual(Array.from({ length: train.length }, (_, i) => train.info(i).imgId), [1]);
});
