/** Layer outputs against python3-torch 1.13 with the same weights and inputs (passed from our side). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { Conv2d, ConvTranspose2d, Linear, BatchNorm2d, GroupNorm, LayerNorm, Module, init } from '../../src/nn';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';

interface Arr { shape: number[]; data: number[] }
const arr = (t: Tensor): Arr => ({ shape: t.shape, data: t.toArray() });
const stateOf = (m: Module): Record<string, Arr> => Object.fromEntries([...m.stateDict()].map(([k, t]) => [k, arr(t)]));

function assertClose(actual: Tensor, expected: Arr, what: string, tol = 1e-5): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.toArray();
  let worst = 0;
  a.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - expected.data[i])); });
  assert.ok(worst <= tol, `${what}: max abs difference ${worst} > ${tol}`);
}

const PY = `
import torch.nn as nn
def T(a, dtype=torch.float32):
    return torch.tensor(a['data'], dtype=dtype).reshape(a['shape'])
def load(m, sd):
    m.load_state_dict({k: T(v, torch.int64 if k.endswith('num_batches_tracked') else torch.float32) for k, v in sd.items()})
    return m
def A(t):
    t = t.detach()
    return {'shape': list(t.shape), 'data': t.flatten().tolist()}
x = T(inp['x'])
out = {}
with torch.no_grad():
    c = load(nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=1, groups=2), inp['conv'])
    out['conv'] = A(c(x))
    cd = load(nn.Conv2d(4, 4, 3, padding=2, dilation=2, bias=False), inp['convDil'])
    out['convDil'] = A(cd(x))
    ct = load(nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1), inp['convT'])
    out['convT'] = A(ct(x))
    l = load(nn.Linear(5, 3), inp['linear'])
    out['linear'] = A(l(x))
    bn = load(nn.BatchNorm2d(4), inp['bn'])
    bn.train()
    out['bnTrain'] = A(bn(x))
    out['bnTrain2'] = A(bn(x * 2 + 1))
    out['bnState'] = {k: A(v.float()) for k, v in bn.state_dict().items()}
    bn.eval()
    out['bnEval'] = A(bn(x))
    gn = load(nn.GroupNorm(2, 4), inp['gn'])
    out['gn'] = A(gn(x))
    ln = load(nn.LayerNorm([5, 5]), inp['ln'])
    out['ln'] = A(ln(x))
`;

test('Conv2d, ConvTranspose2d, Linear, BatchNorm2d, GroupNorm, LayerNorm match python3-torch', { skip: hasReference() ? false : NO_REFERENCE }, () => {
  torch.manualSeed(0);
  const x = torch.randn([2, 4, 5, 5]);
  const conv = new Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2 });
  const convDil = new Conv2d(4, 4, 3, { padding: 2, dilation: 2, bias: false });
  const convT = new ConvTranspose2d(4, 2, 4, { stride: 2, padding: 1 });
  const linear = new Linear(5, 3);
  const bn = new BatchNorm2d(4);
  const gn = new GroupNorm(2, 4);
  const ln = new LayerNorm([5, 5]);
  // Non-trivial affine parameters for the norms.
  for (const m of [bn, gn, ln]) {
    init.normal_(m.weight!, 1, 0.5);
    init.normal_(m.bias!, 0, 0.5);
  }
  const ref = python<Record<string, Arr> & { bnState: Record<string, Arr> }>(PY, {
    x: arr(x), conv: stateOf(conv), convDil: stateOf(convDil), convT: stateOf(convT), linear: stateOf(linear),
    bn: stateOf(bn), gn: stateOf(gn), ln: stateOf(ln),
  });
  torch.tidy(() => {
    assertClose(conv.forward(x), ref.conv, 'conv');
    assertClose(convDil.forward(x), ref.convDil, 'dilated conv');
    assertClose(convT.forward(x), ref.convT, 'transposed conv');
    assertClose(linear.forward(x), ref.linear, 'linear');
    bn.train();
    assertClose(bn.forward(x), ref.bnTrain, 'bn train');
    assertClose(bn.forward(x.mul(2).add(1)), ref.bnTrain2, 'bn train (2nd batch)');
    for (const [k, t] of bn.stateDict()) assertClose(t.float(), ref.bnState[k], `bn ${k}`);
    bn.eval();
    assertClose(bn.forward(x), ref.bnEval, 'bn eval');
    assertClose(gn.forward(x), ref.gn, 'gn');
    assertClose(ln.forward(x), ref.ln, 'ln');
  });
  for (const m of [conv, convDil, convT, linear, bn, gn, ln]) m.dispose();
});

test('default and MMCV initializers draw from the documented ranges', () => {
  torch.manualSeed(1);
  const conv = new Conv2d(16, 32, 3);
  const fanIn = 16 * 9;
  const maxAbs = (t: Tensor) => torch.tidy(() => t.abs().max().item());
  // PyTorch default: kaiming_uniform a=√5 → bound 1/√fan_in; bias ±1/√fan_in.
  assert.ok(maxAbs(conv.weight) <= 1 / Math.sqrt(fanIn) && maxAbs(conv.weight) > 0.9 / Math.sqrt(fanIn));
  assert.ok(maxAbs(conv.bias!) <= 1 / Math.sqrt(fanIn));
  // Caffe2 XavierFill: uniform ±√(3 / fan_in), bias 0.
  init.caffe2XavierInit(conv);
  assert.ok(maxAbs(conv.weight) <= Math.sqrt(3 / fanIn) && maxAbs(conv.weight) > 0.9 * Math.sqrt(3 / fanIn));
  assert.equal(maxAbs(conv.bias!), 0);
  // normal_init std 0.01, bias from prior probability 0.01.
  init.normalInit(conv, { std: 0.01, bias: init.biasInitWithProb(0.01) });
  const std = torch.tidy(() => conv.weight.std().item());
  assert.ok(Math.abs(std - 0.01) < 0.001, `std ${std}`);
  assert.ok(Math.abs(torch.tidy(() => conv.bias!.mean().item()) - Math.log(0.01 / 0.99)) < 1e-6);
  // kaiming_init (MMCV: fan_out, relu, normal): std √2/√fan_out.
  init.kaimingInit(conv);
  const kstd = torch.tidy(() => conv.weight.std().item());
  assert.ok(Math.abs(kstd - Math.SQRT2 / Math.sqrt(32 * 9)) < 0.01, `kaiming std ${kstd}`);
  init.constantInit(conv, 1, 0.5);
  assert.deepEqual([maxAbs(conv.weight), maxAbs(conv.bias!)], [1, 0.5]);
  assert.equal(init.calculateGain('leaky_relu', 1), 1);
  assert.throws(() => init.biasInitWithProb(0), /priorProb must be in \(0, 1\)/);
  conv.dispose();
});
