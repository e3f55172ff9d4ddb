/**
 * Whole segmentors against MMSegmentation 1.2's own, on checkpoints it wrote
 * (scripts/reference/mmseg_fixtures.py; test/fixtures/mmseg/README.md). Each tiny model is one of our model
 * bases (configs/_base_/models/*) with the same width overrides as the script applies to mmseg's:
 *  - strict load of mmseg's state dict;
 *  - eval: encode_decode logits of a 2×3×64×64 batch; predict() in whole mode with padded, flipped images whose
 *    original size differs (crop, flip back, resize); predict() in slide mode (crop 32×32, stride 24×24) on
 *    1×3×60×75 resized back to 45×56;
 *  - train: every loss term (decode.loss_ce, decode.acc_seg, aux.*) on random label maps with ignored pixels, and
 *    the gradients of the parameters the script recorded;
 *  - the state-dict keys and shapes of our full-width configs equal those of mmseg's configs, exactly.
 * Closeness: max |ours − ref| / max |ref| ≤ 1e-4 per tensor; losses within 1e-4 relative; labels ≥ 99.9% equal.
 * Gradients: ≤ 3e-4 — float32's own noise on them: mmseg in float32 differs from mmseg in float64 by up to
 * 2.2e-4 on the recorded gradients of sepaspp_r18v1c and uper_r18v1c (BN biases and shortcut convs, sums over
 * every pixel with cancellation), and ours differ from mmseg's float32 by up to 1.6e-4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { loadConfig } from '../../src/config';
import { buildSegmentor } from '../../src/models/segmentors/build';
import type { EncoderDecoder } from '../../src/models/segmentors/encoder_decoder';
import type { SegTestConfig } from '../../src/models/segmentors/config';
import type { SegImageMeta } from '../../src/models/segmentors/types';
import type { SegmentationConfig } from '../../src/tasks/segmentation/task';
import { repoRoot } from '../helpers/paths';
import { assertMaxRelErr } from '../helpers/close';
import { assertLabels as assertLabelsAtLeast, tinySegmentors, type PyTinyModel } from '../helpers/mmseg_seg';

const DIR = process.env.TSVISION_MMSEG_FIXTURES ?? path.join(repoRoot, 'test/fixtures/mmseg');
const TOL = 1e-4;
const GRAD_TOL = 3e-4;

interface PyMeta { ori_shape: [number, number]; img_shape: [number, number]; pad_shape: [number, number]; flip: boolean; flip_direction?: 'horizontal' | 'vertical' }
interface Manifest {
  num_classes: number;
  slide_cfg: { crop_size: [number, number]; stride: [number, number] };
  meta_whole: PyMeta[];
  meta_slide: PyMeta[];
  models: Record<string, PyTinyModel & { losses: Record<string, number>; grads: string[] }>;
}
type KeyFile = Record<string, { config: string; keys: Record<string, number[]> }>;

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const man = readJson<Manifest>(path.join(DIR, 'manifest.json'));
const K = man.num_classes;

const CASES = tinySegmentors(man.models, K);

/** max |ours − ref| / max |ref| ≤ TOL (ours may be a strided view: a crop or a flip). */
const assertClose = (a: Tensor, b: Tensor, what: string): number => assertMaxRelErr(a.contiguous(), b, TOL, what);

const assertLabels = (a: Tensor, b: Tensor, what: string): number => assertLabelsAtLeast(a, b, 0.999, what);

const metaOf = (m: PyMeta): SegImageMeta => ({
  oriShape: [...m.ori_shape], imgShape: [...m.img_shape], padShape: [...m.pad_shape], flip: m.flip ? m.flip_direction ?? 'horizontal' : null,
});

/** Builds a case's model with a test mode and loads mmseg's checkpoint strictly; null when a head is not implemented. */
function load(name: string, testCfg: SegTestConfig): EncoderDecoder | null {
  let model: EncoderDecoder;
  try {
    model = buildSegmentor({ ...CASES[name](), testCfg }) as EncoderDecoder;
  } catch (e) {
    if (/not implemented/.test((e as Error).message)) return null;
    throw e;
  }
  const sd = torch.loadStateDict(path.join(DIR, `${name}.pth`));
  try {
    model.loadStateDict(sd, { strict: true });
  } finally {
    torch.dispose([...sd.values()]);
  }
  return model;
}

const inputs = torch.loadStateDict(path.join(DIR, 'inputs.pth'));
const slideCfg: SegTestConfig = { mode: 'slide', cropSize: man.slide_cfg.crop_size, stride: man.slide_cfg.stride };

for (const name of Object.keys(CASES)) {
  test(`${name}: strict load of mmseg's checkpoint; encode_decode, whole and slide predictions equal mmseg`, (t) => {
    const whole = load(name, { mode: 'whole' });
    if (!whole) return t.skip(`${name}: a decode head of this model is not implemented yet`);
    const slide = load(name, slideCfg)!;
    const io = torch.loadStateDict(path.join(DIR, `${name}.io.pth`));
    try {
      whole.eval();
      slide.eval();
      const errs: string[] = [];
      torch.noGrad(() => torch.tidy(() => {
        const x = inputs.get('inputs.eval')!;
        errs.push(`encode_decode ${assertClose(whole.encodeDecode(x), io.get('eval.logits')!, 'eval.logits').toExponential(1)}`);
        const preds = whole.predict({ images: x, metas: man.meta_whole.map(metaOf) });
        preds.forEach((p, i) => {
          const e = assertClose(p.logits, io.get(`whole.logits.${i}`)!, `whole.logits.${i}`);
          const f = assertLabels(p.labels, io.get(`whole.labels.${i}`)!, `whole.labels.${i}`);
          errs.push(`whole[${i}] ${e.toExponential(1)}, labels ${(100 * f).toFixed(2)}%`);
        });
        const [p] = slide.predict({ images: inputs.get('inputs.slide')!, metas: man.meta_slide.map(metaOf) });
        const e = assertClose(p.logits, io.get('slide.logits.0')!, 'slide.logits.0');
        const f = assertLabels(p.labels, io.get('slide.labels.0')!, 'slide.labels.0');
        errs.push(`slide ${e.toExponential(1)}, labels ${(100 * f).toFixed(2)}%`);
      }));
      console.log(`${name}: ${errs.join('; ')}`);
    } finally {
      torch.dispose([...io.values()]);
      whole.dispose();
      slide.dispose();
    }
  });

  test(`${name}: train-mode losses and gradients equal mmseg`, (t) => {
    const model = load(name, { mode: 'whole' });
    if (!model) return t.skip(`${name}: a decode head of this model is not implemented yet`);
    const io = torch.loadStateDict(path.join(DIR, `${name}.io.pth`));
    const ref = man.models[name];
    try {
      model.train();
      const x = inputs.get('inputs.eval')!;
      const metas = man.meta_whole.map(() => ({ oriShape: [64, 64], imgShape: [64, 64] }) as SegImageMeta);
      const losses = model.loss({ images: x, metas, gtSegMaps: inputs.get('gt')! });
      assert.deepEqual(Object.keys(losses).sort(), Object.keys(ref.losses).sort(), 'loss keys');
      const deltas: string[] = [];
      for (const [k, v] of Object.entries(losses)) {
        const ours = v.item() as number;
        const theirs = io.get(`loss.${k}`)!.item() as number;
        assert.ok(Math.abs(ours - theirs) <= TOL * Math.abs(theirs), `${k}: ${ours} vs mmseg ${theirs}`);
        deltas.push(`${k} Δ${Math.abs(ours - theirs).toExponential(1)}`);
      }
      const total = torch.tidy(() => Object.entries(losses).filter(([k]) => k.includes('loss')).map(([, v]) => v).reduce((a, b) => a.add(b)));
      total.backward();
      const params = new Map(model.namedParameters());
      let worst = 0, worstName = '';
      for (const name of ref.grads) {
        const p = params.get(name);
        assert.ok(p, `no parameter ${name}`);
        const grad = p.grad;
        assert.ok(grad, `${name}: no gradient`);
        const e = assertMaxRelErr(grad, io.get(`grad.${name}`)!, GRAD_TOL, `grad ${name}`);
        grad.dispose();
        if (e > worst) [worst, worstName] = [e, name];
      }
      assert.ok(ref.grads.length >= 4, `expected the fixture's gradients, got ${ref.grads.length}`);
      console.log(`${name}: ${deltas.join(', ')}; ${ref.grads.length} gradients, worst ${worst.toExponential(1)} (${worstName})`);
      total.dispose();
      torch.dispose(Object.values(losses));
    } finally {
      torch.dispose([...io.values()]);
      model.dispose();
    }
  });
}

/** Our full-width configs whose key sets mmseg's configs give (keys.json). */
const FULL: Record<string, string> = {
  fcn_r50_d8: 'fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024',
  pspnet_r50_d8: 'pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024',
  deeplabv3_r101_d8: 'deeplabv3/deeplabv3_r101-d8_4xb2-40k_cityscapes-512x1024',
  deeplabv3plus_r50_d8: 'deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024',
  upernet_r50: 'upernet/upernet_r50_4xb2-40k_cityscapes-512x1024',
  fcn_hr18: 'hrnet/fcn_hr18_4xb2-40k_cityscapes-512x1024',
};
const keyFile = readJson<KeyFile>(path.join(DIR, 'keys.json'));

for (const [key, config] of Object.entries(FULL)) {
  test(`${config}: the state-dict keys and shapes of mmseg's ${keyFile[key].config}`, (t) => {
    const cfg = loadConfig(config).config as SegmentationConfig;
    let model;
    try {
      model = buildSegmentor(cfg.model);
    } catch (e) {
      if (/not implemented/.test((e as Error).message)) return t.skip(`${config}: a decode head is not implemented yet`);
      throw e;
    }
    try {
      const ours = Object.fromEntries([...model.stateDict()].map(([k, v]) => [k, v.shape]));
      const theirs = keyFile[key].keys;
      const missing = Object.keys(theirs).filter((k) => !(k in ours));
      const extra = Object.keys(ours).filter((k) => !(k in theirs));
      assert.deepEqual({ missing: missing.slice(0, 10), extra: extra.slice(0, 10) }, { missing: [], extra: [] }, `${config}: ${missing.length} keys missing, ${extra.length} extra`);
      for (const [k, shape] of Object.entries(theirs)) assert.deepEqual(ours[k], shape, `${k}: shape`);
    } finally {
      model.dispose();
    }
  });
}
