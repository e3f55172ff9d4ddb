/**
 * Test-time augmentation against MMSegmentation 1.2's SegTTAModel (test/fixtures/mmseg-tta/, written by
 * scripts/reference/mmseg_tta_fixtures.py): two tiny segmentors loaded strictly from mmseg's checkpoints, run
 * through the segmentation task's `buildTta` (what `tsvision test --tta` runs: the test pipeline's Resize
 * replaced by Resize(scaleFactor r) per ratio, each view also flipped, the views zipped per image and their
 * softmax probabilities averaged) on a 113x77 image whose ratios 0.5 and 1.25 resize it to 57x39 and 141x96:
 *  - each view's resized shape equals mmseg's, and its logits at the image's size (flip undone) equal mmseg's
 *    view to 1e-4 relative;
 *  - the merged labels equal SegTTAModel's pred_sem_seg on ≥ 99.5% of pixels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { loadConfig } from '../../src/config';
import { loadSegmentor } from '../../src/apis/segmentation';
import { iteratorOf } from '../../src/engine/types';
import type { Batch } from '../../src/data/collate';
import type { AugBatch } from '../../src/tasks/tta';
import { SegmentationModel, segmentationTask, type SegmentationConfig } from '../../src/tasks/segmentation/task';
import { repoRoot } from '../helpers/paths';
import { assertMaxRelErr } from '../helpers/close';
import { assertLabels, tinySegmentors, type PyTinyModel } from '../helpers/mmseg_seg';

const DIR = path.join(repoRoot, 'test/fixtures/mmseg-tta');
const CKPT = path.join(repoRoot, 'test/fixtures/mmseg');
const IMAGE = path.join(repoRoot, 'test/fixtures/mmseg-infer/resize.png');
const TOL = 1e-4;

interface Manifest {
  ratios: number[];
  views: { ratio: number; flip: boolean }[];
  models: Record<string, { base: string; keys: string[] }>;
}
const man = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Manifest;
const tiny = JSON.parse(fs.readFileSync(path.join(CKPT, 'manifest.json'), 'utf8')) as { models: Record<string, PyTinyModel & { model: { decode_head: { num_classes: number } } }> };
const CASES = tinySegmentors(tiny.models, tiny.models.fcn_r50v1c.model.decode_head.num_classes);
const base = loadConfig('fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024').config as SegmentationConfig;

for (const name of Object.keys(man.models)) {
  test(`${name}: tsvision test --tta's views and merge equal mmseg's SegTTAModel`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-mmseg-tta-'));
    fs.mkdirSync(path.join(dir, 'img'));
    fs.mkdirSync(path.join(dir, 'ann'));
    fs.copyFileSync(IMAGE, path.join(dir, 'img', 'resize.png'));
    // a label map only so that the folder dataset has its pair; the test compares predictions, not metrics
    fs.copyFileSync(IMAGE, path.join(dir, 'ann', 'resize.png'));
    const cfg: SegmentationConfig = {
      ...base,
      model: { ...CASES[name](), dataPreprocessor: base.model.dataPreprocessor, testCfg: { mode: 'whole' } },
      data: {
        ...base.data,
        val: { kind: 'folder', imgDir: path.join(dir, 'img'), annDir: path.join(dir, 'ann'), imgSuffix: '.png', segMapSuffix: '.png', reduceZeroLabel: false },
        testPipeline: [{ type: 'Resize', scales: [[96, 72]], keepRatio: true }],
        classes: ['c0', 'c1', 'c2', 'c3', 'c4'],
        valBatchSize: 1,
        workers: 0,
      },
      tta: { imgRatios: man.ratios, flip: true },
    };
    const seg = loadSegmentor(cfg, path.join(CKPT, `${name}.pth`), { strict: true });
    const ref = torch.loadStateDict(path.join(DIR, `${name}.pth`));
    const model = new SegmentationModel(seg.model, null);
    const { model: ttaModel, valData } = segmentationTask.buildTta!(cfg, model);
    const it = iteratorOf(valData.epoch(0));
    try {
      const first = await it.next();
      assert.equal(first.done, false);
      const batch = first.value as AugBatch;
      assert.equal(batch.views.length, man.views.length);
      const errs: string[] = [];
      for (const [i, v] of man.views.entries()) {
        const view: Batch = batch.views[i];
        const meta = view.items[0].meta;
        assert.equal(meta.flip === true, v.flip, `view ${i}: flip`);
        assert.deepEqual(meta.imgShape, [...ref.get(`view${i}.shape`)!.toTypedArray()].map(Number), `view ${i} (ratio ${v.ratio}): resized shape`);
        const [pred] = model.predict(view);
        try {
          errs.push(assertMaxRelErr(pred.logits.contiguous(), ref.get(`view${i}.logits`)!, TOL, `${name} view ${i} (ratio ${v.ratio}${v.flip ? ', flipped' : ''}): logits`).toExponential(1));
        } finally {
          torch.dispose(pred);
        }
      }
      const [merged] = ttaModel.predict(batch);
      try {
        assert.deepEqual(merged.labels.shape, [77, 113]);
        const f = assertLabels(merged.labels, ref.get('labels')!, 0.995, `${name} merged`);
        console.log(`${name}: view logits rel. err ${errs.join(', ')}; merged labels ${(100 * f).toFixed(2)}% equal`);
      } finally {
        torch.dispose(merged);
      }
      assert.equal((await it.next()).done, true, 'one image, one batch');
    } finally {
      await it.return?.(undefined);
      await valData.close?.();
      torch.dispose([...ref.values()]);
      seg.model.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
