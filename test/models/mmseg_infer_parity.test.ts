/**
 * End-to-end inference against MMSegmentation 1.2's `inference_model` (issue 16's bar), on the checkpoints of
 * test/fixtures/mmseg/ and the PNGs and predictions of test/fixtures/mmseg-infer/
 * (scripts/reference/mmseg_infer_fixtures.py; its README.md):
 *  - each tiny segmentor of mmseg_parity.test.ts with its base's data preprocessor (mean, std, bgr→rgb) and the
 *    test pipeline Resize(scale, keepRatio) of the fixture, in whole and slide mode, loaded strictly from mmseg's
 *    checkpoint by `loadSegmentor`, run by `predictSegImage` (what `inferSegmentation` and `tsvision infer` run)
 *    on an image the Resize leaves at its size and one it shrinks (logits resized back to the image);
 *  - logits: max |ours − mmseg| / max |mmseg| ≤ 1e-4 (where the fixture holds them: whole mode for every model,
 *    slide mode for two); labels: ≥ 99.5% equal to mmseg's pred_sem_seg in every case;
 *  - `tsvision infer CONFIG.js --checkpoint mmseg.pth --image IMG --out pred.png`: a single-channel PNG of the
 *    image's size whose labels are mmseg's (≥ 99.5%).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import * as torch from '../../src/torch';
import { loadConfig, resolveConfig } from '../../src/config';
import { loadSegmentor, predictSegImage } from '../../src/apis/segmentation';
import { readLabelPng } from '../../src/data/png';
import { mmsegModel, mmsegTransforms } from '../../src/tasks/segmentation/mmseg_config';
import type { SegTestConfig } from '../../src/models/segmentors/config';
import type { SegmentationConfig } from '../../src/tasks/segmentation/task';
import { repoRoot } from '../helpers/paths';
import { assertMaxRelErr } from '../helpers/close';
import { assertLabels, labelAgreement, tinySegmentors, type PyTinyModel } from '../helpers/mmseg_seg';

const DIR = path.join(repoRoot, 'test/fixtures/mmseg-infer');
const CKPT = path.join(repoRoot, 'test/fixtures/mmseg');
const TOL = 1e-4;
const MIN_AGREE = 0.995;
/** The config our test models are set in (its data preprocessor is mmseg's base one; the model is replaced). */
const BASE_CONFIG = 'fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024';

type Dict = Record<string, unknown>;
interface Manifest {
  scale: [number, number];
  slide_cfg: { crop_size: [number, number]; stride: [number, number] };
  images: Record<string, { file: string; width: number; height: number }>;
  models: Record<string, PyTinyModel & { model: Dict & { data_preprocessor: Dict; decode_head: { num_classes: number } }; test_pipeline: Dict[]; keys: string[] }>;
}
const man = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Manifest;
const K = man.models.fcn_r50v1c.model.decode_head.num_classes;
const CASES = tinySegmentors(man.models, K);
const MODES: Record<'whole' | 'slide', SegTestConfig> = {
  whole: { mode: 'whole' },
  slide: { mode: 'slide', cropSize: man.slide_cfg.crop_size, stride: man.slide_cfg.stride },
};
const base = loadConfig(BASE_CONFIG).config as SegmentationConfig;
const testPipeline = [{ type: 'Resize' as const, scales: [man.scale], keepRatio: true }];

/** Our config of one case: the tiny model with the base's data preprocessor, a test mode, the fixture's pipeline. */
function configOf(name: string, mode: keyof typeof MODES): SegmentationConfig {
  return {
    ...base,
    model: { ...CASES[name](), dataPreprocessor: base.model.dataPreprocessor, testCfg: MODES[mode] },
    data: { ...base.data, testPipeline },
  };
}

/** Our config's preprocessing and test pipeline are the ones mmseg ran (mapped to mmseg's keys). */
function assertSameSetup(name: string, cfg: SegmentationConfig): void {
  const ref = man.models[name];
  const { mean, std, bgr_to_rgb, pad_val } = mmsegModel(cfg.model).data_preprocessor as Dict;
  const theirs = ref.model.data_preprocessor;
  assert.deepEqual({ mean, std, bgr_to_rgb, pad_val }, { mean: theirs.mean, std: theirs.std, bgr_to_rgb: theirs.bgr_to_rgb, pad_val: theirs.pad_val }, `${name}: data preprocessor`);
  const pipeline = ref.test_pipeline.filter((t) => t.type !== 'LoadImageFromFile' && t.type !== 'PackSegInputs');
  assert.deepEqual(mmsegTransforms(cfg.data.testPipeline), pipeline, `${name}: test pipeline`);
}

const figures: string[] = [];

for (const name of Object.keys(CASES)) {
  for (const mode of ['whole', 'slide'] as const) {
    test(`${name}, ${mode}: tsvision's inference from the image file equals mmseg's inference_model`, async () => {
      const cfg = configOf(name, mode);
      assertSameSetup(name, cfg);
      const seg = loadSegmentor(cfg, path.join(CKPT, `${name}.pth`), { strict: true });
      const ref = torch.loadStateDict(path.join(DIR, `${name}.pth`));
      const lines: string[] = [];
      try {
        for (const [key, im] of Object.entries(man.images)) {
          const pred = await predictSegImage(seg, path.join(DIR, im.file));
          try {
            assert.deepEqual(pred.labels.shape, [im.height, im.width], `${key}: label map at the image's size`);
            const what = `${name} ${mode} ${key}.png (${im.width}x${im.height})`;
            const refLogits = ref.get(`${mode}.${key}.logits`);
            const e = refLogits ? assertMaxRelErr(pred.logits.contiguous(), refLogits, TOL, `${what}: logits`) : null;
            const f = assertLabels(pred.labels, ref.get(`${mode}.${key}.labels`)!, MIN_AGREE, what);
            lines.push(`${key}: logits ${e === null ? 'not stored' : e.toExponential(1)}, labels ${(100 * f).toFixed(2)}%`);
          } finally {
            torch.dispose([pred.logits, pred.labels]);
          }
        }
        assert.equal(lines.length, 2);
        figures.push(`${name} ${mode}: ${lines.join('; ')}`);
        console.log(figures[figures.length - 1]);
      } finally {
        torch.dispose([...ref.values()]);
        seg.model.dispose();
      }
    });
  }
}

test('tsvision infer CONFIG.js --checkpoint <mmseg .pth> --out pred.png writes mmseg\'s label map', async () => {
  const name = 'fcn_r50v1c', mode = 'slide', key = 'resize';
  const im = man.images[key];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-mmseg-infer-'));
  try {
    // a JavaScript config module (a JSON config may only set keys its base spells, and the base ResNet has no
    // stemChannels): the base config with the tiny model, slide mode and the fixture's test pipeline
    const file = path.join(dir, 'tiny.js');
    const req = (m: string) => JSON.stringify(path.join(repoRoot, 'dist', m));
    fs.writeFileSync(file, [
      `const { defineConfig } = require(${req('src/config')});`,
      `const { segmentationTask } = require(${req('src/tasks/segmentation/task')});`,
      `module.exports = defineConfig(segmentationTask, ${JSON.stringify(configOf(name, mode))});`,
    ].join('\n'));
    const loaded = resolveConfig(file).config as SegmentationConfig;
    assertSameSetup(name, loaded);
    assert.deepEqual(loaded.model.testCfg, MODES[mode]);

    const out = path.join(dir, 'pred.png');
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'tsvision'), 'infer', file, '--checkpoint', path.join(CKPT, `${name}.pth`), '--image', path.join(DIR, im.file), '--out', out],
      { encoding: 'utf8', env: { ...process.env, TSVISION_NUM_THREADS: '1' } });
    assert.equal(r.status, 0, r.stderr);
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', im.width, im.height, 1]);
    const pred = readLabelPng(fs.readFileSync(out), out)!;
    const ref = torch.loadStateDict(path.join(DIR, `${name}.pth`));
    try {
      const ours = torch.fromTypedArray(pred.data, [pred.height, pred.width]);
      const f = assertLabels(ours, ref.get(`${mode}.${key}.labels`)!, MIN_AGREE, `tsvision infer ${name} ${mode} ${key}.png`);
      // not a map that agrees with anything: mmseg's whole-mode labels of the same image differ somewhere
      const other = labelAgreement(ours, ref.get(`whole.${key}.labels`)!, 'whole');
      console.log(`tsvision infer ${name} ${mode} ${key}.png: labels ${(100 * f).toFixed(2)}% (vs mmseg's whole mode ${(100 * other).toFixed(2)}%)`);
      ours.dispose();
    } finally {
      torch.dispose([...ref.values()]);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
