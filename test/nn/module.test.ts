import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { Module, Conv2d, BatchNorm2d, FrozenBatchNorm2d, Linear, ReLU, Sequential, ModuleList, ModuleDict, ConvModule } from '../../src/nn';

/** A tiny ResNet-like block with MMDetection's names. */
class Block extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  constructor(c: number) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(c, c, 3, { padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(c));
    this.relu = this.registerModule('relu', new ReLU());
  }
  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
  }
}

class Net extends Module {
  readonly layer1: Sequential;
  readonly fc: Linear;
  readonly scale: Tensor;
  constructor() {
    super();
    this.layer1 = this.registerModule('layer1', new Sequential(new Block(2), new Block(2)));
    this.fc = this.registerModule('fc', new Linear(2, 3));
    this.scale = this.registerParameter('scale', torch.ones([1]));
    this.registerBuffer('anchors', torch.zeros([4]), { persistent: false });
  }
}

const close = (a: Tensor, b: Tensor, tol = 1e-6) => {
  const d = torch.tidy(() => a.sub(b).abs().max().item());
  assert.ok(d <= tol, `max abs difference ${d} > ${tol}`);
};

test('parameters, buffers and state-dict keys follow PyTorch names and order', () => {
  const net = new Net();
  const params = [...net.namedParameters()].map(([n]) => n);
  assert.deepEqual(params, [
    'scale',
    'layer1.0.conv1.weight', 'layer1.0.bn1.weight', 'layer1.0.bn1.bias',
    'layer1.1.conv1.weight', 'layer1.1.bn1.weight', 'layer1.1.bn1.bias',
    'fc.weight', 'fc.bias',
  ]);
  assert.deepEqual([...net.namedParameters({ recurse: false })].map(([n]) => n), ['scale']);
  const buffers = [...net.namedBuffers()].map(([n]) => n);
  assert.deepEqual(buffers.slice(0, 4), ['anchors', 'layer1.0.bn1.running_mean', 'layer1.0.bn1.running_var', 'layer1.0.bn1.num_batches_tracked']);
  const keys = [...net.stateDict().keys()];
  assert.deepEqual(keys.slice(0, 7), [
    'scale', 'layer1.0.conv1.weight', 'layer1.0.bn1.weight', 'layer1.0.bn1.bias',
    'layer1.0.bn1.running_mean', 'layer1.0.bn1.running_var', 'layer1.0.bn1.num_batches_tracked',
  ]);
  assert.ok(!keys.includes('anchors'), 'non-persistent buffers stay out of the state dict');
  assert.equal(net.stateDict().get('layer1.0.bn1.num_batches_tracked')!.dtype, 'int64');
  assert.equal(net.stateDict().get('fc.weight'), net.fc.weight, 'state dict holds the module tensors, not copies');
  assert.deepEqual([...net.namedModules()].map(([n]) => n), ['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'layer1.0.bn1', 'layer1.0.relu', 'layer1.1', 'layer1.1.conv1', 'layer1.1.bn1', 'layer1.1.relu', 'fc']);
  assert.equal(net.getSubmodule('layer1.1.bn1'), (net.layer1.at(1) as Block).bn1);
  assert.throws(() => net.getSubmodule('layer1.7'), /no child '7'/);
  net.dispose();
});

test('stateDict round-trip copies values in place', () => {
  const a = new Net();
  const b = new Net();
  const bWeight = b.fc.weight;
  const res = b.loadStateDict(a.stateDict());
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  assert.equal(b.fc.weight, bWeight, 'loading keeps the tensor objects');
  for (const [k, t] of a.stateDict()) close(b.stateDict().get(k)!.to('float64'), t.to('float64'), 0);
  assert.equal(b.fc.weight.requiresGrad, true);
  a.dispose();
  b.dispose();
});

test('strict loading lists missing and unexpected keys; non-strict reports them', () => {
  const net = new Net();
  const sd = new Map(net.stateDict());
  sd.delete('fc.bias');
  sd.delete('layer1.1.bn1.num_batches_tracked'); // optional: old checkpoints lack it
  sd.set('head.extra', torch.zeros([1]));
  assert.throws(() => net.loadStateDict(sd), (e: Error) => /missing keys \(1\): fc\.bias/.test(e.message) && /unexpected keys \(1\): head\.extra/.test(e.message));
  const res = net.loadStateDict(sd, { strict: false });
  assert.deepEqual(res, { missingKeys: ['fc.bias'], unexpectedKeys: ['head.extra'] });
  net.dispose();
});

test('shape mismatch always throws, naming the key and both shapes', () => {
  const net = new Net();
  const sd = new Map(net.stateDict());
  sd.set('fc.weight', torch.zeros([4, 2]));
  assert.throws(() => net.loadStateDict(sd, { strict: false }), /fc\.weight: checkpoint has shape \[4, 2\], the module has \[3, 2\]/);
  net.dispose();
});

test('keyMap renames or drops checkpoint keys (converters)', () => {
  const src = new Net();
  const renamed: Record<string, Tensor> = {};
  for (const [k, t] of src.stateDict()) renamed[`backbone.${k}`] = t;
  renamed['backbone.num_classes_hint'] = torch.zeros([1]);
  const dst = new Net();
  const res = dst.loadStateDict(renamed, { keyMap: (k) => (k.endsWith('hint') ? null : k.replace(/^backbone\./, '')) });
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  close(dst.fc.weight, src.fc.weight, 0);
  src.dispose();
  dst.dispose();
});

test('to(dtype) keeps tensor objects, converts floats only; parameters survive tidy', () => {
  const net = torch.tidy(() => new Net());
  const w = net.fc.weight;
  net.to('float64');
  assert.equal(net.fc.weight, w);
  assert.equal(w.dtype, 'float64');
  assert.equal(w.requiresGrad, true);
  assert.equal(net.stateDict().get('layer1.0.bn1.num_batches_tracked')!.dtype, 'int64');
  assert.equal(net.getBuffer('anchors')!.dtype, 'float64');
  net.dispose();
  assert.ok(w.isDisposed);
});

test('train/eval, freeze and zeroGrad', () => {
  const net = new Net();
  net.eval();
  assert.ok([...net.modules()].every((m) => !m.training));
  net.train();
  assert.ok([...net.modules()].every((m) => m.training));
  const block = net.layer1.at(0) as Block;
  block.freeze();
  assert.ok([...block.parameters()].every((p) => !p.requiresGrad));
  net.train();
  assert.equal(block.bn1.training, false, 'frozen BN stays in eval mode');
  assert.equal(block.conv1.training, true);
  const loss = torch.tidy(() => net.fc.forward(torch.ones([1, 2])).sum());
  loss.backward();
  assert.ok(net.fc.weight.grad !== null);
  net.zeroGrad();
  assert.equal(net.fc.weight.grad, null);
  const other = net.layer1.at(1) as Block;
  other.normEval();
  net.train();
  assert.equal(other.bn1.training, false);
  assert.equal(other.bn1.weight!.requiresGrad, true, 'normEval keeps parameters trainable');
  const visited: string[] = [];
  block.apply((m) => visited.push(m.constructor.name));
  assert.deepEqual(visited, ['Conv2d', 'BatchNorm2d', 'ReLU', 'Block']);
  net.dispose();
});

test('BatchNorm2d: training updates running stats like PyTorch, eval uses them', () => {
  const bn = new BatchNorm2d(2, { momentum: 0.1 });
  const x = torch.tensor([[[[1, 2], [3, 4]], [[0, 0], [2, 2]]], [[[5, 6], [7, 8]], [[1, 1], [1, 1]]]]);
  const y = bn.forward(x);
  // channel 0: values 1..8, mean 4.5, biased var 5.25, unbiased var 6
  close(bn.runningMean!, torch.tensor([0.45, 0.1]));
  close(bn.runningVar!, torch.tensor([0.9 + 0.6, 0.9 + 0.1 * (4 / 7)]), 1e-6);
  assert.equal(bn.numBatchesTracked!.item(), 1);
  close(y.select(1, 0).mean(), torch.tensor(0), 1e-6);
  bn.eval();
  const ye = bn.forward(x);
  const expect = torch.tidy(() => x.sub(bn.runningMean!.reshape(1, -1, 1, 1)).div(bn.runningVar!.add(1e-5).sqrt().reshape(1, -1, 1, 1)));
  close(ye, expect, 1e-5);
  assert.equal(bn.numBatchesTracked!.item(), 1, 'eval mode does not count batches');
  // momentum null: cumulative average
  const cum = new BatchNorm2d(2, { momentum: null });
  cum.forward(x);
  cum.forward(x);
  close(cum.runningMean!, torch.tensor([4.5, 1]), 1e-6);
  bn.dispose();
  cum.dispose();
});

test('FrozenBatchNorm2d: torchvision formula, buffers only, ignores num_batches_tracked', () => {
  const fbn = new FrozenBatchNorm2d(3);
  const bn = new BatchNorm2d(3);
  torch.noGrad(() => {
    bn.weight!.copy_(torch.tensor([1, 2, 0.5]));
    bn.bias!.copy_(torch.tensor([0, -1, 3]));
    bn.runningMean!.copy_(torch.tensor([0.1, 0.2, -0.3]));
    bn.runningVar!.copy_(torch.tensor([1.5, 0.25, 4]));
  });
  assert.deepEqual(fbn.loadStateDict(bn.stateDict()), { missingKeys: [], unexpectedKeys: [] });
  assert.equal([...fbn.parameters()].length, 0);
  const x = torch.tidy(() => torch.arange(0, 24).float().reshape(2, 3, 2, 2).div(7));
  const y = fbn.forward(x);
  const expect = torch.tidy(() => {
    const scale = fbn.weight.mul(fbn.runningVar.add(1e-5).rsqrt()).reshape(1, -1, 1, 1);
    return x.mul(scale).add(fbn.bias.reshape(1, -1, 1, 1).sub(fbn.runningMean.reshape(1, -1, 1, 1).mul(scale)));
  });
  close(y, expect, 0);
  bn.eval();
  close(y, bn.forward(x), 1e-5);
  fbn.dispose();
  bn.dispose();
});

test('ConvModule uses MMCV child names and bias auto', () => {
  const bn = new ConvModule(3, 4, 3, { padding: 1, normCfg: { type: 'BN', requiresGrad: false } });
  assert.deepEqual([...bn.stateDict().keys()], ['conv.weight', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
  assert.equal(bn.normName, 'bn');
  assert.equal(bn.norm!.weight!.requiresGrad, false);
  const gn = new ConvModule(4, 8, 1, { normCfg: { type: 'GN', numGroups: 2 }, actCfg: null });
  assert.deepEqual([...gn.stateDict().keys()], ['conv.weight', 'gn.weight', 'gn.bias']);
  const plain = new ConvModule(4, 8, 1, { actCfg: null });
  assert.deepEqual([...plain.stateDict().keys()], ['conv.weight', 'conv.bias']);
  const x = torch.randn([1, 3, 5, 5]);
  const y = bn.forward(x);
  assert.deepEqual(y.shape, [1, 4, 5, 5]);
  assert.ok(torch.tidy(() => y.min().item()) >= 0, 'ReLU applied');
  for (const m of [bn, gn, plain]) m.dispose();
});

test('containers name children by index or key', () => {
  const list = new ModuleList([new Linear(2, 2), new Linear(2, 2)]);
  const dict = new ModuleDict({ cls: new Linear(2, 3), reg: new Linear(2, 4) });
  class Head extends Module {
    constructor() {
      super();
      this.registerModule('convs', list);
      this.registerModule('heads', dict);
    }
  }
  const head = new Head();
  assert.deepEqual([...head.stateDict().keys()], [
    'convs.0.weight', 'convs.0.bias', 'convs.1.weight', 'convs.1.bias',
    'heads.cls.weight', 'heads.cls.bias', 'heads.reg.weight', 'heads.reg.bias',
  ]);
  assert.equal(list.at(-1), [...list][1]);
  assert.equal(dict.get('reg').outFeatures, 4);
  assert.throws(() => dict.get('obj'), /no module 'obj'/);
  const seq = Sequential.fromEntries([['stem', new Linear(2, 2)], ['act', new ReLU()]]);
  assert.deepEqual([...seq.stateDict().keys()], ['stem.weight', 'stem.bias']);
  head.dispose();
  seq.dispose();
});
