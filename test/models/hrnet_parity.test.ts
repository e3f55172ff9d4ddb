/**
 * HRNet against MMSegmentation 1.2's and MMPose 1.3's own HRNet backbones, on checkpoints they wrote
 * (scripts/reference/mmseg_hrnet_fixtures.py; test/fixtures/mmseg-hrnet/README.md):
 *  - strict load of the mmseg tiny checkpoint (W18's structure at widths [4, 8, 16, 32]);
 *  - eval-mode outputs (4 branches) on 2×3×64×96 and on the odd 1×3×61×83, where the fuse layers'
 *    bilinear upsampling must be resized to the higher branch's size;
 *  - one train-mode forward (BN batch statistics): outputs, loss Σ_k Σ out_k², gradients of the recorded
 *    parameters, and the running statistics it leaves behind;
 *  - the mmpose tiny checkpoint with flavor 'mmpose' (nearest fuse upsampling, one output);
 *  - the state-dict keys and shapes of the full-width mmseg W18 / W48 and mmpose W32 / W48, exactly.
 * Closeness: max |ours − ref| / max |ref| ≤ 1e-4 over each tensor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { HRNet, buildHRNet } from '../../src/models/backbones/hrnet';
import type { HRNetConfig, HRNetStageConfig } from '../../src/models/segmentors/config';
import { repoRoot } from '../helpers/paths';
import { assertMaxRelErr } from '../helpers/close';

const DIR = process.env.TSVISION_MMSEG_HRNET_FIXTURES ?? path.join(repoRoot, 'test/fixtures/mmseg-hrnet');
const TOL = 1e-4;

interface PyStage { num_modules: number; num_branches: number; block: 'BASIC' | 'BOTTLENECK'; num_blocks: number[]; num_channels: number[] }
type PyExtra = Record<'stage1' | 'stage2' | 'stage3' | 'stage4', PyStage>;
interface Manifest { tiny_extra: PyExtra; eval_sizes: number[][]; train_size: number[] }
type KeyFile = Record<string, { config: string; extra: PyExtra; keys: Record<string, number[]> }>;

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const man = readJson<Manifest>(path.join(DIR, 'manifest.json'));

/** mmseg's extra (snake_case) as our HRNetConfig.extra. */
function extraOf(py: PyExtra): HRNetConfig['extra'] {
  const st = (s: PyStage): HRNetStageConfig => ({
    numModules: s.num_modules, numBranches: s.num_branches, block: s.block, numBlocks: [...s.num_blocks], numChannels: [...s.num_channels],
  });
  return { stage1: st(py.stage1), stage2: st(py.stage2), stage3: st(py.stage3), stage4: st(py.stage4) };
}

const assertClose = (a: Tensor, b: Tensor, what: string): number => assertMaxRelErr(a, b, TOL, what);

function loadTiny(file: string, cfg: Partial<HRNetConfig> = {}): HRNet {
  const model = buildHRNet({ type: 'HRNet', extra: extraOf(man.tiny_extra), ...cfg });
  const sd = torch.loadStateDict(path.join(DIR, file));
  try {
    model.loadStateDict(sd, { strict: true });
  } finally {
    for (const t of sd.values()) t.dispose();
  }
  return model;
}

const sizeName = (s: number[]) => s.join('x');

test('HRNet (mmseg): strict load of an mmseg checkpoint; eval outputs equal mmseg on even and odd sizes', () => {
  const model = loadTiny('mmseg_hrnet_tiny.pth').eval();
  const io = torch.loadStateDict(path.join(DIR, 'mmseg_hrnet_tiny.io.pth'));
  try {
    for (const s of man.eval_sizes) {
      const n = sizeName(s);
      const live = torch.liveTensors();
      const outs = torch.noGrad(() => model.forward(io.get(`eval.${n}.input`)!));
      assert.equal(torch.liveTensors(), live + outs.length, 'forward keeps only its outputs alive');
      assert.equal(outs.length, 4, 'four branches (multiscaleOutput)');
      const errs = outs.map((o, k) => assertClose(o, io.get(`eval.${n}.out${k}`)!, `eval ${n} out${k}`));
      console.log(`eval ${n}: max|Δ|/max|ref| per branch ${errs.map((e) => e.toExponential(2)).join(' ')}`);
      for (const o of outs) o.dispose();
    }
  } finally {
    for (const t of io.values()) t.dispose();
    model.dispose();
  }
});

test('HRNet (mmseg): a train-mode forward/backward equals mmseg (outputs, loss, gradients, running stats)', () => {
  const model = loadTiny('mmseg_hrnet_tiny.pth').train();
  const io = torch.loadStateDict(path.join(DIR, 'mmseg_hrnet_tiny.io.pth'));
  try {
    const live = torch.liveTensors();
    const outs = model.forward(io.get('train.input')!);
    const loss = torch.tidy(() => {
      let total: Tensor | null = null;
      for (const o of outs) {
        const s = o.square().sum();
        total = total === null ? s : total.add(s);
      }
      return total!;
    });
    outs.forEach((o, k) => assertClose(o, io.get(`train.out${k}`)!, `train out${k}`));
    const lossRef = io.get('train.loss')!.item();
    assert.ok(Math.abs(loss.item() - lossRef) <= TOL * Math.abs(lossRef), `loss ${loss.item()} vs ${lossRef}`);
    loss.backward();

    const params = new Map(model.namedParameters());
    let worst = 0, worstName = '', count = 0;
    for (const [key, ref] of io) {
      if (!key.startsWith('grad.')) continue;
      const name = key.slice('grad.'.length);
      const p = params.get(name);
      assert.ok(p, `no parameter ${name}`);
      const grad = p.grad; // a new handle each read: disposed below
      assert.ok(grad, `${name}: no gradient`);
      const e = assertClose(grad, ref, `grad ${name}`);
      grad.dispose();
      if (e > worst) [worst, worstName] = [e, name];
      count++;
    }
    assert.ok(count > 200, `expected the fixture's gradients, got ${count}`);
    const buffers = new Map(model.namedBuffers());
    let nStats = 0;
    for (const [key, ref] of io) {
      if (!key.startsWith('train_running.')) continue;
      assertClose(buffers.get(key.slice('train_running.'.length))!, ref, key);
      nStats++;
    }
    assert.ok(nStats > 100);
    console.log(`train: loss ${loss.item()} vs ${lossRef}; ${count} gradients, worst max|Δ|/max|ref| ${worst.toExponential(2)} (${worstName}); ${nStats} running stats`);
    loss.dispose();
    for (const o of outs) o.dispose();
    model.zeroGrad();
    assert.equal(torch.liveTensors(), live, 'nothing of the training step outlives its outputs and gradients');
  } finally {
    for (const t of io.values()) t.dispose();
    model.dispose();
  }
});

test("HRNet (mmpose flavor): strict load of an mmpose checkpoint; its single output equals mmpose's", () => {
  const model = loadTiny('mmpose_hrnet_tiny.pth', { flavor: 'mmpose' }).eval();
  const io = torch.loadStateDict(path.join(DIR, 'mmpose_hrnet_tiny.io.pth'));
  try {
    const n = sizeName(man.train_size);
    const outs = torch.noGrad(() => model.forward(io.get(`eval.${n}.input`)!));
    assert.equal(outs.length, 1, "mmpose's default multiscale_output false: one output");
    const e = assertClose(outs[0], io.get(`eval.${n}.out0`)!, 'mmpose out0');
    console.log(`mmpose eval ${n}: max|Δ|/max|ref| ${e.toExponential(2)}`);
    for (const o of outs) o.dispose();
    // mmpose adds the upsampled branches without resizing: an input not divisible by 32 cannot work
    const odd = torch.zeros([1, 3, 61, 83]);
    assert.throws(() => torch.noGrad(() => model.forward(odd)), /flavor 'mmpose'.*divisible by 32/s);
    odd.dispose();
  } finally {
    for (const t of io.values()) t.dispose();
    model.dispose();
  }
});

const keys = readJson<KeyFile>(path.join(DIR, 'keys.json'));
for (const [name, flavor] of [['mmseg_w18', 'mmseg'], ['mmseg_w48', 'mmseg'], ['mmpose_w32', 'mmpose'], ['mmpose_w48', 'mmpose']] as const) {
  test(`HRNet: state-dict keys and shapes equal ${name} (${keys[name].config})`, () => {
    const model = new HRNet({ type: 'HRNet', extra: extraOf(keys[name].extra), flavor });
    try {
      const ours = new Map([...model.stateDict()].map(([k, t]) => [k, t.shape]));
      const ref = keys[name].keys;
      const missing = Object.keys(ref).filter((k) => !ours.has(k));
      const extra = [...ours.keys()].filter((k) => !(k in ref));
      assert.deepEqual({ missing: missing.slice(0, 10), extra: extra.slice(0, 10) }, { missing: [], extra: [] });
      for (const [k, shape] of Object.entries(ref)) assert.deepEqual(ours.get(k), shape, `${k}: shape`);
      assert.deepEqual([...ours.keys()], Object.keys(ref), 'key order');
      const outCh = keys[name].extra.stage4.num_channels;
      assert.deepEqual(model.outChannels, flavor === 'mmseg' ? outCh : outCh.slice(0, 1));
    } finally {
      model.dispose();
    }
  });
}

test('HRNet: frozenStages and normEval as mmseg', () => {
  const model = new HRNet({ type: 'HRNet', extra: extraOf(man.tiny_extra), frozenStages: 2, normEval: true });
  try {
    for (const [name, p] of model.namedParameters()) {
      const frozen = /^(conv[12]|bn[12]|layer1|transition[12]|stage2)\./.test(name);
      assert.equal(p.requiresGrad, !frozen, `${name}: requiresGrad`);
    }
    // normEval: training mode leaves every running statistic untouched
    const stats = [...model.namedBuffers()].filter(([k]) => /running_(mean|var)$/.test(k));
    const copies = stats.map(([, b]) => b.clone());
    model.train();
    const x = torch.randn([2, 3, 64, 64]);
    const outs = torch.noGrad(() => model.forward(x));
    stats.forEach(([k, b], i) => assert.deepEqual(b.toArray(), copies[i].toArray(), `${k} changed`));
    for (const t of [...outs, ...copies, x]) t.dispose();
  } finally {
    model.dispose();
  }
});

test('HRNet: config errors name the key', () => {
  const extra = extraOf(man.tiny_extra);
  const bad = (cfg: Partial<HRNetConfig>, re: RegExp) => assert.throws(() => new HRNet({ type: 'HRNet', extra, ...cfg } as HRNetConfig), re);
  bad({ extra: { ...extra, stage3: { ...extra.stage3, numChannels: [4, 8] } } }, /backbone\.extra\.stage3\.numChannels: expected 3 positive integers/);
  bad({ extra: { ...extra, stage2: { ...extra.stage2, block: 'BOTTLE' as 'BASIC' } } }, /backbone\.extra\.stage2\.block/);
  bad({ extra: { ...extra, upsample: { mode: 'nearest' } } }, /backbone\.extra\.upsample: only mmpose/);
  bad({ frozenStages: 5 }, /backbone\.frozenStages/);
  bad({ flavor: 'mmdet' as 'mmseg' }, /backbone\.flavor/);
});
