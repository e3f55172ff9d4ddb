/** SGD, Adam, AdamW and clipGradNorm_ against python3-torch 1.13 on the same tiny problem. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { SGD, Adam, AdamW, clipGradNorm_, buildParamGroups, type Optimizer, type BaseOptions } from '../../src/optim';
import { Module, Linear, BatchNorm2d, Conv2d } from '../../src/nn';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';

const skip = hasReference() ? false : NO_REFERENCE;
const STEPS = 10;

/** The problem: y ≈ linear(x; W, b), mean squared error. */
function problem() {
  torch.manualSeed(3);
  return {
    W: torch.randn([3, 4]).toArray(),
    b: torch.randn([3]).toArray(),
    x: torch.randn([5, 4]).toArray(),
    y: torch.randn([5, 3]).toArray(),
  };
}
type Problem = ReturnType<typeof problem>;

interface Case {
  name: string;
  /** Python constructor call, with `groups` the param groups. */
  py: string;
  build: (W: Tensor, b: Tensor) => Optimizer<BaseOptions>;
}

const CASES: Case[] = [
  {
    name: 'SGD momentum + nesterov + weight decay, two groups',
    py: "torch.optim.SGD([{'params': [W]}, {'params': [b], 'lr': 0.05, 'weight_decay': 0}], lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2, foreach=False)",
    build: (W, b) => new SGD([{ params: [W] }, { params: [b], lr: 0.05, weightDecay: 0 }], { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-2 }),
  },
  {
    name: 'SGD momentum + dampening',
    py: 'torch.optim.SGD([W, b], lr=0.05, momentum=0.8, dampening=0.3, weight_decay=1e-3, foreach=False)',
    build: (W, b) => new SGD([W, b], { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 1e-3 }),
  },
  {
    name: 'Adam with L2 weight decay, two groups',
    py: "torch.optim.Adam([{'params': [W]}, {'params': [b], 'lr': 0.02}], lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, foreach=False)",
    build: (W, b) => new Adam([{ params: [W] }, { params: [b], lr: 0.02 }], { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }),
  },
  {
    name: 'AdamW',
    py: 'torch.optim.AdamW([W, b], lr=0.01, weight_decay=0.05, foreach=False)',
    build: (W, b) => new AdamW([W, b], { lr: 0.01, weightDecay: 0.05 }),
  },
  {
    name: 'AdamW amsgrad',
    py: "torch.optim.AdamW([{'params': [W], 'weight_decay': 0}, {'params': [b]}], lr=0.03, amsgrad=True, foreach=False)",
    build: (W, b) => new AdamW([{ params: [W], weightDecay: 0 }, { params: [b] }], { lr: 0.03, amsgrad: true }),
  },
];

const PY = `
import torch.nn.functional as F
out = []
for ctor in inp['ctors']:
    p = inp['problem']
    W = torch.tensor(p['W']).reshape(3, 4).requires_grad_()
    b = torch.tensor(p['b']).requires_grad_()
    x = torch.tensor(p['x']).reshape(5, 4)
    y = torch.tensor(p['y']).reshape(5, 3)
    opt = eval(ctor)
    for _ in range(inp['steps']):
        opt.zero_grad()
        loss = (F.linear(x, W, b) - y).pow(2).mean()
        loss.backward()
        opt.step()
    out.append({'W': W.detach().flatten().tolist(), 'b': b.detach().tolist()})
`;

function train(p: Problem, build: Case['build'], steps: number, resumeAt?: number): { W: number[]; b: number[] } {
  const W = torch.tensor(Float32Array.from(p.W), { shape: [3, 4] }).requiresGrad_(true);
  const b = torch.tensor(p.b).requiresGrad_(true);
  const x = torch.tensor(Float32Array.from(p.x), { shape: [5, 4] });
  const y = torch.tensor(Float32Array.from(p.y), { shape: [5, 3] });
  let opt = build(W, b);
  for (let i = 0; i < steps; i++) {
    if (i === resumeAt) {
      // Save, rebuild from scratch and load: the trajectory must not change.
      const sd = opt.stateDict();
      const next = build(W, b);
      next.loadStateDict({ state: sd.state, paramGroups: JSON.parse(JSON.stringify(sd.paramGroups)) });
      opt.dispose();
      opt = next;
    }
    opt.zeroGrad();
    const loss = torch.tidy(() => torch.F.linear(x, W, b).sub(y).pow(2).mean());
    loss.backward();
    loss.dispose();
    opt.step();
  }
  opt.dispose();
  return { W: W.toArray(), b: b.toArray() };
}

function assertClose(a: number[], e: number[], what: string, tol = 1e-6): void {
  assert.equal(a.length, e.length, `${what}: length`);
  const worst = Math.max(...a.map((v, i) => Math.abs(v - e[i])));
  assert.ok(worst <= tol, `${what}: max abs difference ${worst} > ${tol}`);
}

test('SGD / Adam / AdamW: 10 steps equal python3-torch 1.13 (and resume mid-way)', { skip }, () => {
  const p = problem();
  const ref = python<{ W: number[]; b: number[] }[]>(PY, { problem: p, steps: STEPS, ctors: CASES.map((c) => c.py) });
  CASES.forEach((c, i) => {
    const ours = train(p, c.build, STEPS);
    assertClose(ours.W, ref[i].W, `${c.name}: W`);
    assertClose(ours.b, ref[i].b, `${c.name}: b`);
    const resumed = train(p, c.build, STEPS, 4);
    assert.deepEqual(resumed, ours, `${c.name}: resumed run differs`);
  });
});

test('clipGradNorm_ equals torch.nn.utils.clip_grad_norm_ (L2 and inf)', { skip }, () => {
  torch.manualSeed(5);
  const gA = torch.randn([4, 3]).mul(3);
  const gB = torch.randn([7]);
  const ref = python<{ norm: number; grads: number[][] }[]>(`
out = []
for norm_type in [2.0, float('inf')]:
    ps = [torch.zeros(4, 3, requires_grad=True), torch.zeros(7, requires_grad=True), torch.zeros(2, requires_grad=True)]
    ps[0].grad = torch.tensor(inp['a']).reshape(4, 3)
    ps[1].grad = torch.tensor(inp['b'])
    n = torch.nn.utils.clip_grad_norm_(ps, 1.5, norm_type)
    out.append({'norm': n.item(), 'grads': [ps[0].grad.flatten().tolist(), ps[1].grad.tolist()]})
`, { a: gA.toArray(), b: gB.toArray() });
  [2, Infinity].forEach((normType, k) => {
    const ps = [torch.zeros([4, 3], { requiresGrad: true }), torch.zeros([7], { requiresGrad: true }), torch.zeros([2], { requiresGrad: true })];
    ps[0].grad = gA.clone(); // clipping rewrites the gradient in place
    ps[1].grad = gB.clone();
    const n = clipGradNorm_(ps, 1.5, normType);
    assert.ok(Math.abs(n - ref[k].norm) <= 1e-5 * ref[k].norm, `norm ${n} vs ${ref[k].norm}`);
    torch.tidy(() => {
      assertClose(ps[0].grad!.toArray(), ref[k].grads[0], `grad 0 (p=${normType})`);
      assertClose(ps[1].grad!.toArray(), ref[k].grads[1], `grad 1 (p=${normType})`);
    });
    assert.equal(ps[2].grad, null);
  });
  assert.equal(clipGradNorm_([torch.zeros([1], { requiresGrad: true })], 1), 0);
});

class Backbone extends Module {
  readonly conv = this.registerModule('conv', new Conv2d(3, 4, 3));
}

class Detector extends Module {
  readonly backbone = this.registerModule('backbone', new Backbone());
  readonly head = this.registerModule('head', new Linear(4, 2));
  readonly neckConv = this.registerModule('neckConv', new Conv2d(4, 4, 1));
  readonly norm = this.registerModule('norm', new BatchNorm2d(4));
}

test('buildParamGroups: no decay on norms and biases, lr multiplier for the backbone', () => {
  const net = new Detector();
  const groups = buildParamGroups(net, { lr: 0.02, weightDecay: 1e-4, normDecayMult: 0, biasDecayMult: 0, custom: { backbone: { lrMult: 0.1 } } });
  const summary = groups.map((g) => ({ lr: g.lr, weightDecay: g.weightDecay, names: g.names }));
  assert.deepEqual(summary, [
    { lr: 0.002, weightDecay: 1e-4, names: ['backbone.conv.weight', 'backbone.conv.bias'] },
    { lr: 0.02, weightDecay: 1e-4, names: ['head.weight', 'neckConv.weight'] },
    { lr: 0.02, weightDecay: 0, names: ['head.bias', 'neckConv.bias', 'norm.weight', 'norm.bias'] },
  ]);
  const opt = new SGD(groups, { lr: 0.02, momentum: 0.9, weightDecay: 1e-4 });
  assert.equal(opt.paramGroups.length, 3);
  assert.equal(opt.paramGroups[0].lr, 0.002);
  assert.equal(opt.paramGroups[2].weightDecay, 0);
  assert.equal(opt.paramGroups[2].momentum, 0.9);
  assert.deepEqual(opt.stateDict().paramGroups.map((g) => g.params), [[0, 1], [2, 3], [4, 5, 6, 7]]);
  assert.throws(() => new SGD([{ params: [net.head.weight] }, { params: [net.head.weight] }], { lr: 1 }), /more than one parameter group/);
  // Frozen parameters keep the base options.
  net.backbone.freeze();
  assert.equal(buildParamGroups(net, { lr: 0.02, custom: { backbone: { lrMult: 0.1 } } })[0].lr, 0.02);
  net.dispose();
});
