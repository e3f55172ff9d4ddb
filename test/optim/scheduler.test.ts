import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import {
  SGD, ParamSchedulerList, lrAt, lrCurve, legacyLrAt, multiStepSchedule, LegacyLrUpdater,
  SCHEDULE_1X, SCHEDULE_2X, SCHEDULE_CENTERNET_140E, SCHEDULE_CENTERNET_320E, type SchedulerConfig,
} from '../../src/optim';

const near = (a: number, b: number, rel = 1e-12) => assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${a} != ${b}`);

const ONE_X: SchedulerConfig[] = [
  { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 500 },
  { type: 'MultiStepLR', begin: 0, end: 12, byEpoch: true, milestones: [8, 11], gamma: 0.1 },
];

test('1x (MMEngine): linear warmup over 500 iterations from 0.001, ÷10 after epochs 8 and 11', () => {
  const base = 0.02;
  const len = 1000;
  const curve = lrCurve(ONE_X, { baseLr: base, epochLength: len, epochs: 12 });
  // LinearLR: factor at iteration t < 500 is 0.001 + (1 - 0.001) * t / 499.
  for (const t of [0, 1, 100, 250, 498, 499]) near(curve[t], base * (0.001 + 0.999 * t / 499), 1e-9);
  near(curve[500], base, 1e-9);
  near(curve[7 * len + 999], base, 1e-9);
  near(curve[8 * len], base * 0.1, 1e-9);
  near(curve[10 * len + 999], base * 0.1, 1e-9);
  near(curve[11 * len], base * 0.01, 1e-9);
  near(curve[12 * len - 1], base * 0.01, 1e-9);
  // The pure function agrees with the curve.
  for (const [e, i] of [[0, 0], [0, 321], [8, 0], [11, 999]]) assert.equal(lrAt(ONE_X, { epoch: e, iter: i }, { baseLr: base, epochLength: len }), curve[e * len + i]);
  assert.deepEqual(multiStepSchedule(SCHEDULE_1X), ONE_X);
});

test('named step schedules: 2x and CenterNet', () => {
  assert.deepEqual(SCHEDULE_2X, { maxEpochs: 24, milestones: [16, 22] });
  const cases: [typeof SCHEDULE_2X, number[]][] = [
    [SCHEDULE_2X, [1, 1, 0.1, 0.1, 0.01]],
    [SCHEDULE_CENTERNET_140E, [1, 1, 0.1, 0.1, 0.01]],
    [SCHEDULE_CENTERNET_320E, [1, 1, 0.1, 0.1, 0.01]],
  ];
  for (const [s, factors] of cases) {
    const [m1, m2] = s.milestones;
    const epochs = [0, m1 - 1, m1, m2 - 1, m2];
    const cfg = multiStepSchedule(s, { warmupIters: 0 });
    epochs.forEach((e, k) => near(lrAt(cfg, { epoch: e, iter: 0 }, { baseLr: 1, epochLength: 2 }), factors[k], 1e-12));
  }
});

test('mmdet 2.x lr_config: step with linear warmup (ratio 0.001, 500 iterations)', () => {
  const cfg = { policy: 'step' as const, warmup: 'linear' as const, warmupIters: 500, warmupRatio: 0.001, step: [8, 11] };
  const base = 0.02;
  for (const it of [0, 1, 250, 499]) near(legacyLrAt(cfg, { epoch: 0, iter: it }, base), base * (1 - (1 - it / 500) * (1 - 0.001)));
  near(legacyLrAt(cfg, { epoch: 0, iter: 0 }, base), base * 0.001);
  near(legacyLrAt(cfg, { epoch: 0, iter: 500 }, base), base);
  near(legacyLrAt(cfg, { epoch: 8, iter: 8000 }, base), base * 0.1);
  near(legacyLrAt(cfg, { epoch: 11, iter: 11000 }, base), base * 0.1 * 0.1);
  // Warmup multiplies the regular lr of the current epoch (short epochs).
  near(legacyLrAt(cfg, { epoch: 8, iter: 400 }, base), base * 0.1 * (1 - (1 - 400 / 500) * 0.999));
  const poly = { policy: 'poly' as const, power: 0.9, minLr: 1e-4, byEpoch: false };
  near(legacyLrAt(poly, { epoch: 0, iter: 40000, maxIters: 80000 }, 0.01), (0.01 - 1e-4) * 0.5 ** 0.9 + 1e-4);
  const cos = { policy: 'CosineAnnealing' as const, minLrRatio: 0.01 };
  near(legacyLrAt(cos, { epoch: 6, iter: 0, maxEpochs: 12 }, 1), 0.01 + 0.5 * 0.99 * (Math.cos(Math.PI / 2) + 1));
});

test('PolyLR (segmentation): (base - etaMin)(1 - t/T)^power + etaMin, T = end - 1', () => {
  const cfg: SchedulerConfig[] = [{ type: 'PolyLR', etaMin: 1e-4, power: 0.9, begin: 0, end: 1000, byEpoch: false }];
  const curve = lrCurve(cfg, { baseLr: 0.01, epochLength: 1100, epochs: 1 });
  for (const t of [0, 1, 10, 500, 998, 999]) near(curve[t], (0.01 - 1e-4) * (1 - t / 999) ** 0.9 + 1e-4, 1e-9);
  near(curve[1050], 1e-4, 1e-9);
});

test('CosineAnnealingLR: etaMin + (base - etaMin)(1 + cos(pi t / T)) / 2', () => {
  const cfg: SchedulerConfig[] = [{ type: 'CosineAnnealingLR', tMax: 100, etaMin: 0.001, begin: 0, end: 100, byEpoch: false }];
  const curve = lrCurve(cfg, { baseLr: 0.1, epochLength: 120, epochs: 1 });
  for (const t of [0, 1, 37, 50, 99]) near(curve[t], 0.001 + (0.1 - 0.001) * (1 + Math.cos(Math.PI * t / 100)) / 2, 1e-9);
  near(curve[110], curve[99]);
  // by epoch, converted to iterations
  const conv: SchedulerConfig[] = [{ type: 'CosineAnnealingLR', tMax: 10, begin: 0, end: 10, byEpoch: true, convertToIterBased: true }];
  const c2 = lrCurve(conv, { baseLr: 1, epochLength: 10, epochs: 10 });
  for (const t of [0, 5, 42, 99]) near(c2[t], (1 + Math.cos(Math.PI * t / 100)) / 2, 1e-9);
});

test('ConstantLR warmup and per-group lrs', () => {
  const p1 = torch.zeros([1], { requiresGrad: true });
  const p2 = torch.zeros([1], { requiresGrad: true });
  const opt = new SGD([{ params: [p1] }, { params: [p2], lr: 0.01 }], { lr: 0.1 });
  const list = ParamSchedulerList.build(opt, [{ type: 'ConstantLR', factor: 0.5, begin: 0, end: 3, byEpoch: false }]);
  const seen: number[][] = [];
  for (let i = 0; i < 5; i++) {
    seen.push(opt.paramGroups.map((g) => g.lr));
    list.afterTrainIter();
  }
  assert.deepEqual(seen, [[0.05, 0.005], [0.05, 0.005], [0.1, 0.01], [0.1, 0.01], [0.1, 0.01]]);
  assert.equal(opt.paramGroups[1].initialLr, 0.01);
});

test('schedulers resume from state dicts exactly', () => {
  const build = () => {
    const p = torch.zeros([1], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.02, momentum: 0.9 });
    const list = ParamSchedulerList.build(opt, ONE_X, { epochLength: 7 });
    return { opt, list };
  };
  const run = (s: ReturnType<typeof build>, epochs: number[], out: number[]) => {
    for (const _ of epochs) {
      for (let i = 0; i < 7; i++) {
        out.push(s.opt.paramGroups[0].lr);
        s.list.afterTrainIter();
      }
      s.list.afterTrainEpoch();
    }
  };
  const straight: number[] = [];
  run(build(), Array(12).fill(0), straight);
  const resumed: number[] = [];
  const first = build();
  run(first, Array(9).fill(0), resumed);
  const saved = { opt: first.opt.stateDict(), sched: JSON.parse(JSON.stringify(first.list.stateDict())) };
  const second = build(); // building steps once and changes lr; loading restores it (MMEngine's order)
  second.opt.loadStateDict(saved.opt);
  second.list.loadStateDict(saved.sched);
  run(second, Array(3).fill(0), resumed);
  assert.deepEqual(resumed, straight);
});

test('LegacyLrUpdater sets each group from its initial lr', () => {
  const p = torch.zeros([1], { requiresGrad: true });
  const q = torch.zeros([1], { requiresGrad: true });
  const opt = new SGD([{ params: [p] }, { params: [q], lr: 0.002 }], { lr: 0.02 });
  const up = new LegacyLrUpdater(opt, { policy: 'step', warmup: 'linear', warmupIters: 10, warmupRatio: 0.1, step: [1] });
  up.beforeTrainIter({ epoch: 0, iter: 5 });
  near(opt.paramGroups[0].lr, 0.02 * (1 - 0.5 * 0.9));
  near(opt.paramGroups[1].lr, 0.002 * (1 - 0.5 * 0.9));
  up.beforeTrainIter({ epoch: 1, iter: 20 });
  near(opt.paramGroups[0].lr, 0.002);
});
