import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { CocoDetection } from '../../src/data/datasets/coco';
import type { CocoFile } from '../../src/data/datasets/coco-format';
import { DataLoader } from '../../src/data/loader';
import { generateShapes } from '../../src/data/synthetic/shapes';
import { detTrainPipeline } from '../../src/data/transforms';
import { decodeRle, polygonArea, type Rle } from '../../src/structures/masks';
import { tempDir } from './helpers';

let dir: string;
const annFile = () => path.join(dir, 'annotations', 'instances_train.json');
const readCoco = async (): Promise<CocoFile> => JSON.parse(await fs.readFile(annFile(), 'utf8'));

before(async () => {
  dir = await tempDir('coco');
  await generateShapes({ out: dir, images: 24, seed: 5, shapes: { minSize: 96, maxSize: 160, crowdProb: 0.5 } });
});
after(() => fs.rm(dir, { recursive: true, force: true }));

test('shapes: deterministic from the seed, COCO layout, polygon areas and boxes agree', async () => {
  const again = await tempDir('coco2');
  try {
    await generateShapes({ out: again, images: 24, seed: 5, shapes: { minSize: 96, maxSize: 160, crowdProb: 0.5 } });
    assert.equal(await fs.readFile(path.join(again, 'annotations', 'instances_val.json'), 'utf8'), await fs.readFile(path.join(dir, 'annotations', 'instances_val.json'), 'utf8'));
    assert.deepEqual(await fs.readFile(path.join(again, 'train', '000003.jpg')), await fs.readFile(path.join(dir, 'train', '000003.jpg')));
  } finally {
    await fs.rm(again, { recursive: true, force: true });
  }
  const coco = await readCoco();
  assert.deepEqual(coco.categories.map((c) => c.name), ['circle', 'rectangle', 'triangle', 'star']);
  assert.equal(coco.images.length, 19); // 24 images, 20% val
  let crowds = 0;
  for (const a of coco.annotations) {
    const im = coco.images.find((i) => i.id === a.image_id)!;
    assert.ok(a.bbox[0] >= 0 && a.bbox[1] >= 0 && a.bbox[0] + a.bbox[2] <= im.width + 0.01 && a.bbox[1] + a.bbox[3] <= im.height + 0.01);
    if (a.iscrowd) {
      crowds++;
      const rle = a.segmentation as Rle;
      assert.deepEqual(rle.size, [im.height, im.width]);
      assert.equal(decodeRle(rle).reduce((s, v) => s + v, 0), a.area);
    } else {
      const poly = (a.segmentation as number[][])[0];
      assert.ok(Math.abs(polygonArea(poly) - a.area) < 1);
      assert.ok(a.bbox[2] >= 4 && a.bbox[3] >= 4);
    }
  }
  assert.ok(crowds > 0, 'some crowd regions');
});

test('CocoDetection: crowd annotations become ignore boxes, empty images are filtered in training', async () => {
  const ds = await CocoDetection.load({ annFile: annFile(), imgDir: path.join(dir, 'train'), filterEmpty: true });
  assert.deepEqual(ds.classes, ['circle', 'rectangle', 'triangle', 'star']);
  const coco = await readCoco();
  const crowdImages = new Set(coco.annotations.filter((a) => a.iscrowd).map((a) => a.image_id));
  for (let i = 0; i < ds.length; i++) {
    const info = ds.info(i);
    assert.ok(info.labels.length > 0);
    assert.equal(info.boxes.length, info.labels.length * 4);
    assert.equal(info.masks!.length, info.labels.length);
    assert.equal(info.ignoreBoxes!.length > 0, crowdImages.has(info.imgId));
  }
  // One image with only a crowd annotation is kept for testing, dropped for training.
  coco.annotations = coco.annotations.filter((a) => a.image_id !== 1 || a.iscrowd);
  const test = CocoDetection.fromJson({ annFile: 'x.json', imgDir: dir }, coco);
  const train = CocoDetection.fromJson({ annFile: 'x.json', imgDir: dir, filterEmpty: true }, coco);
  assert.equal(test.length - train.length, 1);
});

test('a config class list that disagrees with the file is an error naming the file', async () => {
  await assert.rejects(
    CocoDetection.load({ annFile: annFile(), imgDir: dir, classes: ['circle', 'square', 'triangle', 'star'] }),
    (err: Error) => err.message.includes('instances_train.json') && err.message.includes('disagree'),
  );
});

test('malformed annotation files: the error names the file and the record', async () => {
  const coco = await readCoco();
  const bad = structuredClone(coco);
  bad.annotations[2].bbox = [1, 2, -3, 4];
  const id = bad.annotations[2].id;
  assert.throws(() => CocoDetection.fromJson({ annFile: 'bad.json', imgDir: dir }, bad), new RegExp(`^AnnotationError: bad\\.json: annotations\\[2\\] \\(id ${id}, image \\d+\\): bbox`));
  const bad2 = structuredClone(coco);
  bad2.annotations[0].category_id = 99;
  assert.throws(() => CocoDetection.fromJson({ annFile: 'bad.json', imgDir: dir }, bad2), /bad\.json: annotations\[0\] \(id 1, .*category_id 99/);
  const bad3 = structuredClone(coco);
  (bad3.annotations[1] as unknown as { segmentation: unknown }).segmentation = { counts: 5 };
  assert.throws(() => CocoDetection.fromJson({ annFile: 'bad.json', imgDir: dir }, bad3), /bad\.json: annotations\[1\] \(id 2, .*segmentation/);
  const file = path.join(dir, 'broken.json');
  await fs.writeFile(file, '{"images": [');
  await assert.rejects(CocoDetection.load({ annFile: file, imgDir: dir }), (err: Error) => err.message.startsWith(`${file}: JSON:`));
});

test('loader: batches are identical with 0 and 2 workers; boxes stay on the resized image', async () => {
  const ds = await CocoDetection.load({ annFile: annFile(), imgDir: path.join(dir, 'train'), filterEmpty: true });
  const run = async (workers: number) => {
    const loader = new DataLoader({ dataset: ds, pipeline: detTrainPipeline([320, 192]), batchSize: 3, workers, seed: 7, groupByAspectRatio: true, prefetch: 2 });
    const out: { sum: number; shape: number[]; boxes: number[]; flips: boolean[] }[] = [];
    try {
      for await (const b of loader.epoch(1)) {
        let sum = 0;
        for (let i = 0; i < b.inputs.length; i += 97) sum += b.inputs[i];
        out.push({ sum, shape: b.shape, boxes: b.items.flatMap((it) => [...it.targets.boxes!]), flips: b.items.map((it) => it.meta.flip) });
        for (const it of b.items) {
          const [h, w] = it.meta.imgShape;
          const bx = it.targets.boxes!;
          for (let k = 0; k < bx.length; k += 4) assert.ok(bx[k] >= 0 && bx[k + 2] <= w && bx[k + 3] <= h && bx[k + 2] > bx[k]);
          assert.equal(it.meta.padShape[0] % 32, 0);
          assert.ok(b.shape[2] >= it.meta.padShape[0] && b.shape[3] >= it.meta.padShape[1]);
        }
      }
    } finally {
      await loader.close();
    }
    return out;
  };
  const inline = await run(0);
  const threaded = await run(2);
  assert.equal(inline.reduce((n, b) => n + b.shape[0], 0), ds.length);
  assert.deepEqual(threaded, inline);
  assert.ok(inline.some((b) => b.flips.includes(true)) && inline.some((b) => b.flips.includes(false)));
});

test('loader with workers 0: libvips\' operation cache is off, as in the worker threads (no RSS growth from it)', () => {
  // In a child process: libvips' cache settings are per process, and a worker thread of another test turns it off.
  const dist = path.resolve(__dirname, '..', '..', 'src', 'data');
  const script = `
    const sharp = require('sharp');
    const { CocoDetection } = require(${JSON.stringify(path.join(dist, 'datasets', 'coco'))});
    const { DataLoader } = require(${JSON.stringify(path.join(dist, 'loader'))});
    const { detTrainPipeline } = require(${JSON.stringify(path.join(dist, 'transforms'))});
    (async () => {
      const ds = await CocoDetection.load({ annFile: ${JSON.stringify(annFile())}, imgDir: ${JSON.stringify(path.join(dir, 'train'))}, filterEmpty: true });
      const before = sharp.cache();
      const loader = new DataLoader({ dataset: ds, pipeline: detTrainPipeline([160, 96]), batchSize: 4, workers: 0 });
      let n = 0;
      for await (const b of loader.epoch()) n += b.shape[0];
      await loader.close();
      console.log(JSON.stringify({ n, before, after: sharp.cache() }));
    })().catch((e) => { console.error(e); process.exit(3); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { n, before, after } = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.ok(n > 0);
  assert.equal(before.items.max, 100, 'sharp\'s default cache is on before the loader runs');
  assert.deepEqual([after.memory.max, after.files.max, after.items.max], [0, 0, 0]);
});

test('corrupt and truncated images: the error names the file; skipCorrupt drops and counts them', async () => {
  const ds = await CocoDetection.load({ annFile: annFile(), imgDir: path.join(dir, 'train'), filterEmpty: true });
  const victim = ds.info(1).imgPath;
  const bytes = await fs.readFile(victim);
  await fs.writeFile(victim, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const garbage = ds.info(2).imgPath;
  await fs.writeFile(garbage, 'not an image');
  try {
    const strict = new DataLoader({ dataset: ds, pipeline: detTrainPipeline([160, 96]), batchSize: 4, shuffle: false, workers: 1 });
    await assert.rejects(async () => {
      for await (const _ of strict.epoch()) void _;
    }, (err: Error) => err.message.includes(path.basename(victim)) || err.message.includes(path.basename(garbage)));
    await strict.close();
    const lenient = new DataLoader({ dataset: ds, pipeline: detTrainPipeline([160, 96]), batchSize: 4, shuffle: false, skipCorrupt: true });
    let n = 0;
    for await (const b of lenient.epoch()) n += b.shape[0];
    assert.equal(lenient.skipped, 2);
    assert.equal(n, ds.length - 2);
    assert.ok(lenient.skippedErrors.some((m) => m.startsWith(victim)));
  } finally {
    await fs.writeFile(victim, bytes);
  }
});
