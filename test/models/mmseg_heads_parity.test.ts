/**
 * The decode heads, the segmentation cross-entropy, acc_seg and the OHEM pixel sampler against
 * MMSegmentation 1.2's own, on heads it built and ran (scripts/reference/mmseg_head_fixtures.py;
 * test/fixtures/mmseg-heads/README.md). Per case (FCN ×4, PSP, ASPP, DSASPP, UPer):
 *  - strict load of mmseg's state dict (every key used, none missing);
 *  - eval-mode logits: max |ours − ref| / max |ref| ≤ 1e-4;
 *  - one train-mode forward/backward (BN batch statistics, dropout 0): logits, loss_ce (relative 1e-4),
 *    acc_seg (within one pixel: our argmax may break a near-tie the other way), the gradient of every
 *    parameter and the running statistics left behind (≤ 1e-4 relative to the largest reference value);
 *  - loss variants on mmseg's own train logits (OHEM with/without thresh, class weights, avgNonIgnore,
 *    several lossDecode entries): every loss value and acc_seg (relative 1e-4), OHEM's pixel selection
 *    (identical) and d loss / d logits where recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { buildDecodeHead } from '../../src/models/decode_heads';
import type { DecodeHeadConfig, OhemSamplerConfig, SegLossConfig } from '../../src/models/segmentors/config';
import { repoRoot } from '../helpers/paths';
import { assertMaxRelErr } from '../helpers/close';

const DIR = process.env.TSVISION_MMSEG_HEADS_FIXTURES ?? path.join(repoRoot, 'test/fixtures/mmseg-heads');
const TOL = 1e-4;

interface Variant { labels: 'labels' | 'labels_full'; lossDecode: SegLossConfig | SegLossConfig[]; sampler: OhemSamplerConfig | null; kept: number | null; losses: Record<string, number> }
interface Case { cfg: DecodeHeadConfig; input_shapes: number[][]; eval_logits_shape: number[]; train_losses: Record<string, number>; variants: Record<string, Variant> }
interface Manifest { versions: Record<string, string>; cases: Record<string, Case> }

const man = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Manifest;

const assertClose = (a: Tensor, b: Tensor, what: string): number => assertMaxRelErr(a, b, TOL, what);

function assertScalar(ours: number, ref: number, what: string, tol = TOL): number {
  const e = Math.abs(ours - ref) / Math.abs(ref);
  assert.ok(e <= tol, `${what}: ${ours} vs mmseg ${ref} (relative ${e.toExponential(3)})`);
  return e;
}

/** Runs fn with the case's fixture tensors, freed afterwards. */
function withIo<T>(name: string, fn: (io: Map<string, Tensor>, sd: Map<string, Tensor>) => T): T {
  const io = torch.loadStateDict(path.join(DIR, `${name}.io.pth`));
  const sd = torch.loadStateDict(path.join(DIR, `${name}.pth`));
  try {
    return fn(io, sd);
  } finally {
    for (const t of [...io.values(), ...sd.values()]) t.dispose();
  }
}

const get = (io: Map<string, Tensor>, key: string): Tensor => {
  const t = io.get(key);
  assert.ok(t, `fixture has no ${key}`);
  return t;
};
const inputsOf = (io: Map<string, Tensor>, c: Case): Tensor[] => c.input_shapes.map((_, i) => get(io, `input.${i}`));

for (const [name, c] of Object.entries(man.cases)) {
  test(`mmseg ${c.cfg.type} (${name}): strict load; eval logits equal mmseg`, () => withIo(name, (io, sd) => {
    const head = buildDecodeHead(c.cfg);
    try {
      const res = head.loadStateDict(sd, { strict: true });
      assert.deepEqual([res.missingKeys, res.unexpectedKeys], [[], []]);
      assert.equal(head.stateDict().size, sd.size, 'as many keys as mmseg');
      head.eval();
      const live = torch.liveTensors();
      const logits = torch.noGrad(() => head.forward(inputsOf(io, c)));
      assert.equal(torch.liveTensors(), live + 1, 'forward keeps only its output alive');
      assert.deepEqual(logits.shape, c.eval_logits_shape);
      const e = assertClose(logits, get(io, 'eval.logits'), 'eval logits');
      console.log(`${name}: eval logits max|Δ|/max|ref| ${e.toExponential(2)}`);
      logits.dispose();
    } finally {
      head.dispose();
    }
  }));

  test(`mmseg ${c.cfg.type} (${name}): a train-mode forward/backward equals mmseg (logits, losses, gradients, running stats)`, () => withIo(name, (io, sd) => {
    const head = buildDecodeHead({ ...c.cfg, dropoutRatio: 0 });
    try {
      head.loadStateDict(sd, { strict: true });
      head.train();
      const labels = get(io, 'labels');
      const worst = torch.tidy(() => {
        const logits = head.forward(inputsOf(io, c));
        const eLogits = assertClose(logits, get(io, 'train.logits'), 'train logits');
        const losses = head.lossByFeat(logits, labels);
        assert.deepEqual(Object.keys(losses).sort(), Object.keys(c.train_losses).sort());
        const eLoss = assertScalar(losses.loss_ce.item(), get(io, 'train.loss_ce').item(), 'loss_ce');
        const valid = labels.ne(255).sum().item();
        const acc = losses.acc_seg.item(), accRef = get(io, 'train.acc_seg').item();
        assert.ok(Math.abs(acc - accRef) <= 100 / valid + 1e-3, `acc_seg ${acc} vs mmseg ${accRef}`);
        losses.loss_ce.backward();
        return { eLogits, eLoss };
      });
      const params = new Map(head.namedParameters());
      let eGrad = 0, count = 0;
      for (const [key, ref] of io) {
        if (!key.startsWith('grad.')) continue;
        const p = params.get(key.slice(5));
        assert.ok(p, `no parameter ${key.slice(5)}`);
        const g = p.grad;
        assert.ok(g, `${key}: no gradient`);
        eGrad = Math.max(eGrad, assertClose(g, ref, key));
        g.dispose();
        count++;
      }
      assert.equal(count, params.size, 'every parameter has a reference gradient');
      const buffers = new Map(head.namedBuffers());
      let eStats = 0, nStats = 0;
      for (const [key, ref] of io) {
        if (!key.startsWith('train_running.')) continue;
        const b = buffers.get(key.slice('train_running.'.length));
        assert.ok(b, `no buffer ${key}`);
        eStats = Math.max(eStats, assertClose(b, ref, key));
        nStats++;
      }
      assert.equal(nStats, [...buffers.keys()].filter((k) => /running_(mean|var)$/.test(k)).length, 'every running statistic checked');
      console.log(`${name}: train logits ${worst.eLogits.toExponential(2)}, loss_ce ${worst.eLoss.toExponential(2)}, ` +
        `${count} gradients ≤ ${eGrad.toExponential(2)}, ${nStats} running stats ≤ ${eStats.toExponential(2)}`);
    } finally {
      head.dispose();
    }
  }));

  test(`mmseg ${c.cfg.type} (${name}): loss variants on mmseg's logits (OHEM, class weights, avgNonIgnore, several terms)`, () => withIo(name, (io) => {
    const summary: string[] = [];
    for (const [vname, v] of Object.entries(c.variants)) {
      const head = buildDecodeHead({ ...c.cfg, dropoutRatio: 0, lossDecode: v.lossDecode, sampler: v.sampler });
      try {
        torch.tidy(() => {
          const labels = get(io, v.labels);
          const logits = get(io, 'train.logits').clone().requiresGrad_(true);
          if (head.sampler) {
            const [h, w] = labels.shape.slice(1);
            const seg = torch.F.interpolate(logits.detach(), { size: [h, w], mode: 'bilinear', alignCorners: head.alignCorners });
            const weight = head.sampler.sample(seg, labels.long(), head.losses, head.ignoreIndex);
            const ref = get(io, `variant.${vname}.seg_weight`);
            const differ = weight.ne(ref.to({ dtype: 'float32' })).sum().item();
            assert.equal(differ, 0, `${vname}: OHEM keeps other pixels than mmseg (${differ} differ)`);
            assert.equal(weight.sum().item(), v.kept, `${vname}: kept pixels`);
          }
          const losses = head.lossByFeat(logits, labels);
          assert.deepEqual(Object.keys(losses).sort(), Object.keys(v.losses).sort(), `${vname}: loss keys`);
          let worst = 0;
          for (const k of Object.keys(v.losses)) worst = Math.max(worst, assertScalar(losses[k].item(), get(io, `variant.${vname}.${k}`).item(), `${vname}.${k}`));
          const gradRef = io.get(`variant.${vname}.grad_logits`);
          if (gradRef) {
            let total: Tensor | null = null;
            for (const [k, t] of Object.entries(losses)) if (k.startsWith('loss')) total = total ? total.add(t) : t;
            total!.backward();
            worst = Math.max(worst, assertClose(logits.grad!, gradRef, `${vname} d loss / d logits`));
          }
          summary.push(`${vname} ${worst.toExponential(1)}`);
        });
      } finally {
        head.dispose();
      }
    }
    console.log(`${name} variants (max rel. err.): ${summary.join(', ')}`);
  }));
}
