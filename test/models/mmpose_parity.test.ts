/**
 * Top-down pose estimators against MMPose 1.3, on checkpoints and outputs it wrote
 * (scripts/reference/mmpose_fixtures.py → test/fixtures/mmpose/):
 *  - SimpleBaseline on a slim ResNet-18 (widths /8, deconvs 16 ch) and HRNet at widths [4, 8, 16, 32]:
 *    strict loads of mmpose's state dicts;
 *  - eval heatmaps, flip-test heatmaps (shifted and not), and model.predict() keypoints / scores in image
 *    pixels through MSRAHeatmap, DARK and UDP (flip test on), for two crops of different centre / scale;
 *  - one training step: loss_kpt, acc_pose and gradients of a few parameters (BN in train mode);
 *  - the state-dict keys and shapes of mmpose's full-width SimpleBaseline R-50/101/152 and HRNet-W32/W48 rows.
 * Closeness: heatmaps and gradients max|ours − ref| / max|ref| ≤ 1e-4; keypoints ≤ 0.5 px (the figures are
 * printed; they are far below); scores ≤ 1e-4; loss ≤ 1e-4 relative.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { buildPoseEstimator, posePckAccuracy, type TopdownPoseEstimatorConfig, type PoseBackboneConfig, type PoseSampleMeta } from '../../src/models/pose_estimators';
import type { HRNetStageConfig } from '../../src/models/segmentors/config';
import type { TopdownPoseEstimator } from '../../src/models/pose_estimators/topdown';
import type { CodecConfig } from '../../src/models/codecs';
import { repoRoot } from '../helpers/paths';
import { assertMaxRelErr } from '../helpers/close';

const DIR = process.env.TSVISION_MMPOSE_FIXTURES ?? path.join(repoRoot, 'test/fixtures/mmpose');
const TOL = 1e-4;

interface PyStage { num_modules: number; num_branches: number; block: 'BASIC' | 'BOTTLENECK'; num_blocks: number[]; num_channels: number[] }
type PyExtra = Record<'stage1' | 'stage2' | 'stage3' | 'stage4', PyStage>;
interface PyCodec { type: 'MSRAHeatmap' | 'UDPHeatmap'; input_size: [number, number]; heatmap_size: [number, number]; sigma: number; unbiased?: boolean }

/** mmpose's codec dict (snake_case) as our CodecConfig. */
function codecOf(c: PyCodec): CodecConfig {
  if (c.type === 'MSRAHeatmap') return { type: 'MSRAHeatmap', inputSize: c.input_size, heatmapSize: c.heatmap_size, sigma: c.sigma, unbiased: c.unbiased ?? false };
  return { type: 'UDPHeatmap', inputSize: c.input_size, heatmapSize: c.heatmap_size, sigma: c.sigma };
}
interface Manifest {
  num_keypoints: number; input_center: [number, number][]; input_scale: [number, number][]; flip_indices: number[];
  tiny_extra: PyExtra; codecs: Record<string, PyCodec>; shift_heatmap: Record<string, boolean>;
}
const man = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Manifest;

const extraOf = (py: PyExtra) => {
  const st = (s: PyStage): HRNetStageConfig => ({
    numModules: s.num_modules, numBranches: s.num_branches, block: s.block, numBlocks: [...s.num_blocks], numChannels: [...s.num_channels],
  });
  return { stage1: st(py.stage1), stage2: st(py.stage2), stage3: st(py.stage3), stage4: st(py.stage4) };
};

/** The tiny models of the fixture script, as our configs (mmpose's dicts in camelCase). */
function tinyCfg(kind: 'sb_tiny' | 'hrnet_tiny', codec = 'msra'): TopdownPoseEstimatorConfig {
  const backbone: PoseBackboneConfig = kind === 'sb_tiny'
    ? { type: 'ResNet', depth: 18, baseChannels: 8, stemChannels: 8, outIndices: [3] }
    : { type: 'HRNet', inChannels: 3, extra: extraOf(man.tiny_extra) };
  return {
    type: 'TopdownPoseEstimator',
    backbone,
    head: {
      type: 'HeatmapHead',
      inChannels: kind === 'sb_tiny' ? 64 : 4,
      outChannels: man.num_keypoints,
      deconvOutChannels: kind === 'sb_tiny' ? [16, 16, 16] : null,
      deconvKernelSizes: kind === 'sb_tiny' ? [4, 4, 4] : null,
      loss: { type: 'KeypointMSELoss', useTargetWeight: true },
      decoder: codecOf(man.codecs[codec]),
    },
    testCfg: { flipTest: true, flipMode: 'heatmap', shiftHeatmap: man.shift_heatmap[codec] },
  };
}

function load(kind: 'sb_tiny' | 'hrnet_tiny', codec = 'msra'): TopdownPoseEstimator {
  const model = buildPoseEstimator(tinyCfg(kind, codec));
  const sd = torch.loadStateDict(path.join(DIR, `${kind}.pth`));
  try {
    const res = model.loadStateDict(sd, { strict: true });
    assert.deepEqual([res.missingKeys, res.unexpectedKeys], [[], []], `${kind}: strict load`);
  } finally {
    for (const t of sd.values()) t.dispose();
  }
  return model;
}

const metas = (): PoseSampleMeta[] => man.input_center.map((c, i) => ({ inputCenter: c, inputScale: man.input_scale[i], flipIndices: man.flip_indices }));

function maxAbs(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

for (const kind of ['sb_tiny', 'hrnet_tiny'] as const) {
  test(`${kind}: strict load; heatmaps, flip-test heatmaps and predictions (MSRA, DARK, UDP) equal mmpose 1.3`, () => {
    const io = torch.loadStateDict(path.join(DIR, `${kind}.io.pth`));
    try {
      const x = io.get('input')!;
      for (const codec of Object.keys(man.codecs)) {
        const model = load(kind, codec).eval();
        const live = torch.liveTensors();
        const plain = torch.noGrad(() => torch.tidy(() => model.head.forward(model.backbone.forward(x))));
        const eHm = assertMaxRelErr(plain, io.get('heatmaps')!, TOL, `${kind} heatmaps`);
        plain.dispose();
        const flip = torch.noGrad(() => model.forwardHeatmaps(x, man.flip_indices));
        const ref = io.get(`flip_heatmaps.${man.shift_heatmap[codec] ? 'shift' : 'noshift'}`)!;
        const eFlip = assertMaxRelErr(flip, ref, TOL, `${kind} flip heatmaps (${codec})`);
        flip.dispose();
        const preds = model.predict({ images: x, metas: metas() });
        assert.equal(torch.liveTensors(), live, 'predict leaves no tensor alive');
        const refKp = io.get(`pred.${codec}.keypoints`)!.toTypedArray() as Float32Array;
        const refSc = io.get(`pred.${codec}.scores`)!.toTypedArray() as Float32Array;
        const K = man.num_keypoints;
        const kp = new Float32Array(preds.length * K * 2), sc = new Float32Array(preds.length * K);
        preds.forEach((p, i) => {
          kp.set(p.keypoints, i * K * 2);
          sc.set(p.scores, i * K);
        });
        const dKp = maxAbs(kp, refKp), dSc = maxAbs(sc, refSc);
        assert.ok(dKp <= 0.5, `${kind} ${codec}: keypoints max|Δ| ${dKp} px`);
        assert.ok(dSc <= 1e-4, `${kind} ${codec}: scores max|Δ| ${dSc}`);
        // the predictions are spread over the crops, not a degenerate constant
        assert.ok(new Set(Array.from(refKp, (v) => Math.round(v))).size > K, `${kind} ${codec}: degenerate reference keypoints`);
        console.log(`${kind} ${codec}: heatmaps ${eHm.toExponential(2)}, flip ${eFlip.toExponential(2)} (rel); keypoints max|Δ| ${dKp.toExponential(2)} px; scores ${dSc.toExponential(2)}`);
        model.dispose();
      }
    } finally {
      for (const t of io.values()) t.dispose();
    }
  });

  test(`${kind}: one training step's loss_kpt, acc_pose and gradients equal mmpose 1.3`, () => {
    const model = load(kind).train();
    const io = torch.loadStateDict(path.join(DIR, `${kind}.io.pth`));
    try {
      const live = torch.liveTensors();
      const losses = model.loss({
        images: io.get('input')!,
        metas: metas(),
        targets: { heatmaps: io.get('train.heatmaps')!, keypointWeights: io.get('train.weights')! },
      });
      const loss = losses.loss_kpt, lossRef = io.get('train.loss_kpt')!.item();
      const rel = Math.abs(loss.item() - lossRef) / Math.abs(lossRef);
      assert.ok(rel <= TOL, `loss_kpt ${loss.item()} vs ${lossRef}`);
      assert.equal(losses.acc_pose.item(), io.get('train.acc_pose')!.item(), 'acc_pose');
      const acc = posePckAccuracy(io.get('acc.moved')!, io.get('train.heatmaps')!, io.get('train.weights')!);
      const accRef = io.get('acc.value')!.item();
      assert.ok(accRef > 0 && accRef < 1, `the moved-targets case is not trivial (${accRef})`);
      assert.ok(Math.abs(acc - accRef) <= 1e-6, `pose_pck_accuracy of moved targets: ${acc} vs ${accRef}`);
      loss.backward();
      const params = new Map(model.namedParameters());
      let worst = 0, count = 0;
      for (const [key, ref] of io) {
        if (!key.startsWith('grad.')) continue;
        const p = params.get(key.slice('grad.'.length));
        assert.ok(p, `no parameter ${key}`);
        const g = p.grad;
        assert.ok(g, `${key}: no gradient`);
        worst = Math.max(worst, assertMaxRelErr(g, ref, TOL, key));
        g.dispose();
        count++;
      }
      assert.ok(count >= 4, `expected the fixture's gradients, got ${count}`);
      console.log(`${kind} train: loss_kpt ${loss.item()} vs ${lossRef} (rel ${rel.toExponential(2)}); acc_pose ${losses.acc_pose.item()}, moved targets ${acc} vs ${accRef}; ${count} gradients, worst ${worst.toExponential(2)}`);
      torch.dispose(Object.values(losses) as Tensor[]);
      model.zeroGrad();
      assert.equal(torch.liveTensors(), live, 'nothing of the training step outlives it');
    } finally {
      for (const t of io.values()) t.dispose();
      model.dispose();
    }
  });
}

test('full-width SimpleBaseline R-50/101/152 and HRNet-W32/W48: state-dict keys and shapes equal mmpose models', () => {
  type Row = { backbone: { type: 'ResNet'; depth: 50 | 101 | 152 } | { type: 'HRNet'; in_channels: number; extra: PyExtra }; head: { in_channels: number; out_channels: number; deconv_out_channels: number[] | null }; keys: Record<string, number[]> };
  const rows = JSON.parse(fs.readFileSync(path.join(DIR, 'keys.json'), 'utf8')) as Record<string, Row>;
  assert.equal(Object.keys(rows).length, 5);
  for (const [row, r] of Object.entries(rows)) {
    const b = r.backbone;
    const model = buildPoseEstimator({
      type: 'TopdownPoseEstimator',
      backbone: b.type === 'ResNet' ? { type: 'ResNet', depth: b.depth } : { type: 'HRNet', inChannels: b.in_channels, extra: extraOf(b.extra) },
      head: {
        type: 'HeatmapHead', inChannels: r.head.in_channels, outChannels: r.head.out_channels, deconvOutChannels: r.head.deconv_out_channels,
        decoder: { type: 'MSRAHeatmap', inputSize: [192, 256], heatmapSize: [48, 64], sigma: 2 },
      },
    });
    try {
      const ours: Record<string, number[]> = {};
      for (const [k, t] of model.stateDict()) ours[k] = t.shape;
      assert.deepEqual(ours, r.keys, `${row}: state-dict keys and shapes`);
      console.log(`${row}: ${Object.keys(ours).length} keys equal`);
    } finally {
      model.dispose();
    }
  }
});
