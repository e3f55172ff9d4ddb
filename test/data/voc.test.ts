/**
 * Pascal VOC 2012 (mmseg's PascalVOCDataset) on a tiny generated VOCdevkit/VOC2012 layout:
 * JPEGImages, palette-PNG SegmentationClass, SegmentationClassAug, ImageSets/Segmentation lists.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalBackend } from '../../src/data/backends';
import { SegmentationDataset, VOC_CLASSES, vocOptions } from '../../src/data/datasets/segmentation';
import { loadSample } from '../../src/data/load';
import { loadSplit, type SegmentationConfig } from '../../src/tasks/segmentation/task';
import { palettePng, writeGreyPng, writeImage } from '../helpers/seg_files';

// a: person (15) on background with a 255 border pixel; b: aeroplane (1); c (aug): cat (8)
const A = [0, 0, 15, 15, 255, 0, 15, 15];
const B = [1, 1, 1, 1, 0, 0, 0, 0];
const C = [8, 8, 0, 0, 8, 8, 0, 0];

async function vocTree(): Promise<string> {
  const root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-voc-')), 'VOCdevkit', 'VOC2012');
  for (const n of ['a', 'b', 'c', 'd']) await writeImage(path.join(root, 'JPEGImages', `${n}.jpg`), 4, 2);
  fs.mkdirSync(path.join(root, 'SegmentationClass'), { recursive: true });
  fs.writeFileSync(path.join(root, 'SegmentationClass', 'a.png'), palettePng(A, 4, 2));
  fs.writeFileSync(path.join(root, 'SegmentationClass', 'b.png'), palettePng(B, 4, 2));
  await writeGreyPng(path.join(root, 'SegmentationClassAug', 'c.png'), C, 4, 2);
  const lists = path.join(root, 'ImageSets', 'Segmentation');
  fs.mkdirSync(lists, { recursive: true });
  fs.writeFileSync(path.join(lists, 'train.txt'), 'b\na\n');
  fs.writeFileSync(path.join(lists, 'val.txt'), 'a\n');
  fs.writeFileSync(path.join(lists, 'aug.txt'), 'c\n');
  fs.writeFileSync(path.join(lists, 'missing.txt'), 'a\nzz\n');
  fs.writeFileSync(path.join(lists, 'nolabel.txt'), 'd\n');
  return root;
}

test('VOC: the list file picks and orders the images; palette indices are the classes, 255 kept', async () => {
  const root = await vocTree();
  const ds = await SegmentationDataset.load(vocOptions(root, 'train'));
  assert.equal(ds.length, 2);
  assert.deepEqual(ds.classes, [...VOC_CLASSES]);
  assert.equal(ds.classes.length, 21);
  assert.deepEqual([ds.info(0).imgPath, ds.info(1).imgPath], [path.join(root, 'JPEGImages', 'b.jpg'), path.join(root, 'JPEGImages', 'a.jpg')]);
  assert.equal(ds.info(1).segMapPath, path.join(root, 'SegmentationClass', 'a.png'));
  const s = await loadSample(ds.info(1), new LocalBackend(), { segMap: ds.segMap });
  assert.deepEqual([...s.targets.segMap!], A);
});

test('VOC aug: train + aug concatenated (mmseg ConcatDataset), ids renumbered', async () => {
  const root = await vocTree();
  const ds = SegmentationDataset.concat([await SegmentationDataset.load(vocOptions(root, 'train')), await SegmentationDataset.load(vocOptions(root, 'aug', 'SegmentationClassAug'))]);
  assert.equal(ds.length, 3);
  assert.deepEqual([0, 1, 2].map((i) => ds.info(i).imgId), [0, 1, 2]);
  assert.equal(ds.info(2).segMapPath, path.join(root, 'SegmentationClassAug', 'c.png'));
  const s = await loadSample(ds.info(2), new LocalBackend(), { segMap: ds.segMap });
  assert.deepEqual([...s.targets.segMap!], C);
  // through the task's config: a list of train splits
  const cfg = {
    model: { decodeHead: { numClasses: 21 } },
    data: {
      train: [
        { kind: 'voc', dataRoot: root, list: 'train', annDir: 'SegmentationClass' },
        { kind: 'voc', dataRoot: root, list: 'aug', annDir: 'SegmentationClassAug' },
      ],
      val: { kind: 'voc', dataRoot: root, list: 'val', annDir: 'SegmentationClass' },
      classes: [...VOC_CLASSES],
      generate: null,
    },
  } as unknown as SegmentationConfig;
  assert.equal((await loadSplit(cfg, 'train')).length, 3);
  assert.equal((await loadSplit(cfg, 'val')).length, 1);
  const wrong = { ...cfg, model: { decodeHead: { numClasses: 19 } } } as unknown as SegmentationConfig;
  await assert.rejects(loadSplit(wrong, 'val'), /model.decodeHead.numClasses is 19, the val dataset .* has 21 classes/);
});

test('VOC errors name the list file, the line and the missing file', async () => {
  const root = await vocTree();
  const list = path.join(root, 'ImageSets', 'Segmentation', 'missing.txt');
  await assert.rejects(SegmentationDataset.load(vocOptions(root, 'missing')), (e: Error) => {
    assert.ok(e.message.includes(list) && e.message.includes("line 2 ('zz')") && e.message.includes(path.join(root, 'JPEGImages', 'zz.jpg')), e.message);
    return true;
  });
  await assert.rejects(SegmentationDataset.load(vocOptions(root, 'nolabel')), /no label map d\.png for image .*d\.jpg/);
  await assert.rejects(SegmentationDataset.load(vocOptions(root, 'absent')), /absent\.txt/);
});
