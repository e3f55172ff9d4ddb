import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { native } from '../../src/torch/native';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';

/** [dtype, shape, sha256 of the contiguous little-endian bytes] */
type Digest = [string, number[], string];

interface Reference {
  resnet50: { keys: string[]; digests: Record<string, Digest> };
  mmdet: {
    sd: Record<string, Digest>;
    momentum: Record<string, Digest>;
    paramGroups: unknown[];
  };
  dtypes: Record<string, Digest>;
  views: Record<string, Digest>;
}

const skip = hasReference() ? false : NO_REFERENCE;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-pth-'));
const f = (name: string) => path.join(dir, name);
let ref: Reference;

before(() => {
  if (skip) return;
  ref = python<Reference>(`
import collections, argparse, hashlib, io, zipfile
import numpy as np
d = inp['dir'] + '/'

def digest(t):
    t = t.detach().contiguous()
    b = t.reshape(-1).view(torch.uint8) if t.numel() else torch.empty(0, dtype=torch.uint8)
    return [str(t.dtype).replace('torch.', ''), list(t.shape), hashlib.sha256(b.numpy().tobytes()).hexdigest()]

out = {}
torch.manual_seed(0)
sd = torchvision.models.resnet50().state_dict()
torch.save(sd, d + 'resnet50.pth')
out['resnet50'] = {'keys': list(sd.keys()), 'digests': {k: digest(v) for k, v in sd.items()}}

torch.manual_seed(1)
model = torch.nn.Sequential(collections.OrderedDict(
    backbone=torch.nn.Conv2d(3, 8, 3), bn=torch.nn.BatchNorm2d(8), head=torch.nn.Linear(8, 4)))
opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)
for _ in range(2):
    opt.zero_grad()
    model.head(model.bn(model.backbone(torch.randn(2, 3, 5, 5))).mean((2, 3))).sum().backward()
    opt.step()
meta = {'epoch': 12, 'iter': 100, 'mmdet_version': '3.3.0', 'CLASSES': ('a', 'b'),
        'hook_msgs': {'last_ckpt': '/work/epoch_12.pth', 'best_score': 0.375},
        'seed': np.int64(42), 'lr': np.float64(0.02), 'args': argparse.Namespace(gpus=8),
        'counts': collections.defaultdict(int, {'x': 3}), 'blob': b'\\x00\\xff', 'big': 2**64 + 1, 'neg': -5,
        'nested': [1, (2.5, None, True), {'k': [False]}], 'unicode': 'caf\\u00e9 \\u4e2d'}
ckpt = {'meta': meta, 'state_dict': model.state_dict(), 'optimizer': opt.state_dict()}
torch.save(ckpt, d + 'mmdet.pth')
torch.save({'state_dict': collections.OrderedDict(('module.' + k, v) for k, v in model.state_dict().items())}, d + 'ddp.pth')
out['mmdet'] = {'sd': {k: digest(v) for k, v in model.state_dict().items()},
                'momentum': {str(k): digest(v['momentum_buffer']) for k, v in opt.state_dict()['state'].items()},
                'paramGroups': opt.state_dict()['param_groups']}

g = torch.Generator().manual_seed(2)
base = torch.randn(3, 5, generator=g) * 50
dts = {}
for name in ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8']:
    dts[name] = base.to(getattr(torch, name))
dts['bool'] = base > 0
dts['scalar_f64'] = torch.tensor(3.25, dtype=torch.float64)
dts['scalar_i64'] = torch.tensor(-7)
dts['empty'] = torch.zeros(0, 4)
dts['empty_bool'] = torch.zeros(2, 0, dtype=torch.bool)
torch.save(dts, d + 'dtypes.pth')
out['dtypes'] = {k: digest(v) for k, v in dts.items()}

x = torch.randn(4, 6, generator=g)
h = x.half()
views = {'x': x, 'tail': x[1:], 't': x.t(), 'step': x[:, ::2], 'col': x[:, 1], 'expand': x[0].expand(3, 6),
         'h': h, 'h_t': h.t()[2:], 'slice': torch.arange(1000)[500:510], 'param': torch.nn.Parameter(torch.randn(3, generator=g))}
torch.save({**views, 'same': [x, x]}, d + 'views.pth')
out['views'] = {k: digest(v) for k, v in views.items()}

torch.save({'a': x}, d + 'legacy.pth', _use_new_zipfile_serialization=False)
# The same archive with deflated entries, and one whose pickle has an unknown opcode.
src = zipfile.ZipFile(d + 'views.pth')
with zipfile.ZipFile(d + 'deflated.pth', 'w', zipfile.ZIP_DEFLATED) as z:
    for n in src.namelist():
        z.writestr(n, src.read(n))
with zipfile.ZipFile(d + 'badop.pth', 'w') as z:
    z.writestr('badop/data.pkl', b'\\x80\\x02}q\\x00\\xff.')
    z.writestr('badop/version', b'3\\n')
`, { dir }, 300_000);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function digest(t: torch.Tensor): Digest {
  return [t.dtype, t.shape, createHash('sha256').update(Buffer.from(t.toBuffer())).digest('hex')];
}

function disposeAll(v: unknown): void {
  for (const t of torch.collectTensors(v)) t.dispose();
}

test('pth: a torchvision ResNet-50 state dict loads with identical values', { skip }, (t) => {
  const t0 = process.hrtime.bigint();
  const sd = torch.loadStateDict(f('resnet50.pth'));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  t.diagnostic(`loadStateDict(resnet50.pth, ${(fs.statSync(f('resnet50.pth')).size / 1e6).toFixed(0)} MB): ${ms.toFixed(0)} ms`);
  try {
    assert.equal(sd.size, 320);
    assert.deepEqual([...sd.keys()], ref.resnet50.keys);
    for (const [k, v] of sd) assert.deepEqual(digest(v), ref.resnet50.digests[k], k);
    assert.equal(sd.get('bn1.num_batches_tracked')!.dtype, 'int64');
    assert.ok(sd.get('conv1.weight')!.isContiguous());
  } finally {
    disposeAll(sd);
  }
  const obj = torch.loadPth(f('resnet50.pth')) as Record<string, torch.Tensor>;
  try {
    assert.deepEqual(Object.keys(obj), ref.resnet50.keys);
    assert.deepEqual(digest(obj['fc.weight']), ref.resnet50.digests['fc.weight']);
  } finally {
    disposeAll(obj);
  }
});

test('pth: an MMDetection-style checkpoint {meta, state_dict, optimizer} loads', { skip }, () => {
  const ck = torch.loadPth(f('mmdet.pth')) as {
    meta: Record<string, unknown>;
    state_dict: Record<string, torch.Tensor>;
    optimizer: { state: Map<number, { momentum_buffer: torch.Tensor }>; param_groups: unknown[] };
  };
  try {
    const m = ck.meta;
    assert.equal(m.epoch, 12);
    assert.equal(m.iter, 100);
    assert.equal(m.mmdet_version, '3.3.0');
    assert.deepEqual(m.CLASSES, ['a', 'b']);
    assert.deepEqual(m.hook_msgs, { last_ckpt: '/work/epoch_12.pth', best_score: 0.375 });
    assert.equal(m.seed, 42);
    assert.equal(m.lr, 0.02);
    assert.deepEqual(m.args, { __class__: 'argparse.Namespace', args: [], state: { gpus: 8 } });
    const counts = m.counts as torch.PickledObject;
    assert.equal(counts.__class__, 'collections.defaultdict');
    assert.deepEqual(counts.items, { x: 3 });
    assert.deepEqual(m.blob, new Uint8Array([0, 255]));
    assert.equal(m.big, 2n ** 64n + 1n);
    assert.equal(m.neg, -5);
    assert.deepEqual(m.nested, [1, [2.5, null, true], { k: [false] }]);
    assert.equal(m.unicode, 'café 中');

    assert.deepEqual(Object.keys(ck.state_dict), Object.keys(ref.mmdet.sd));
    for (const [k, v] of Object.entries(ck.state_dict)) assert.deepEqual(digest(v), ref.mmdet.sd[k], k);
    assert.ok(ck.optimizer.state instanceof Map, 'int-keyed dicts become Maps');
    assert.deepEqual([...ck.optimizer.state.keys()], Object.keys(ref.mmdet.momentum).map(Number));
    for (const [k, v] of ck.optimizer.state) assert.deepEqual(digest(v.momentum_buffer), ref.mmdet.momentum[String(k)], `momentum ${k}`);
    assert.deepEqual(ck.optimizer.param_groups, ref.mmdet.paramGroups);
  } finally {
    disposeAll(ck);
  }
});

/** Records every tensor handle the native side hands out while fn runs. */
function handlesCreatedBy<T>(fn: () => T): { result: T; handles: unknown[] } {
  const n = native as unknown as Record<string, (...a: unknown[]) => unknown>;
  const handles: unknown[] = [];
  const orig = { call: n.call, fromBuffer: n.fromBuffer };
  const record = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(record);
    else if (v !== null && typeof v === 'object') handles.push(v);
  };
  n.call = (...a) => { const r = orig.call.apply(native, a); record(r); return r; };
  n.fromBuffer = (...a) => { const r = orig.fromBuffer.apply(native, a); record(r); return r; };
  try {
    return { result: fn(), handles };
  } finally {
    n.call = orig.call;
    n.fromBuffer = orig.fromBuffer;
  }
}

function assertNoLeaks(handles: unknown[], result: unknown): void {
  const live = new Set([...torch.collectTensors(result)].map((t) => t._h as unknown));
  const leaked = handles.filter((h) => !live.has(h) && !native.isDisposed(h as never));
  assert.equal(leaked.length, 0, `${leaked.length} tensors created while loading were neither returned nor disposed`);
}

test('pth: loadStateDict finds state_dict, strips module., and frees everything else', { skip }, () => {
  const { result: sd, handles } = handlesCreatedBy(() => torch.loadStateDict(f('mmdet.pth')));
  try {
    assert.deepEqual([...sd.keys()], Object.keys(ref.mmdet.sd));
    assertNoLeaks(handles, sd);
  } finally {
    disposeAll(sd);
  }
  const ddp = torch.loadStateDict(f('ddp.pth'));
  assert.deepEqual([...ddp.keys()], Object.keys(ref.mmdet.sd));
  disposeAll(ddp);
  const kept = torch.loadStateDict(f('ddp.pth'), { stripPrefix: '' });
  assert.ok([...kept.keys()].every((k) => k.startsWith('module.')));
  disposeAll(kept);
  assert.throws(() => torch.loadStateDict(f('views.pth')), /views\.pth.*no state dict.*top-level keys: x, tail/);
});

test('pth: every dtype, 0-d and empty tensors', { skip }, () => {
  const obj = torch.loadPth(f('dtypes.pth')) as Record<string, torch.Tensor>;
  try {
    assert.deepEqual(Object.keys(obj), Object.keys(ref.dtypes));
    for (const [k, v] of Object.entries(obj)) assert.deepEqual(digest(v), ref.dtypes[k], k);
  } finally {
    disposeAll(obj);
  }
});

test('pth: shared storages and non-contiguous views load with the right values, nothing leaks', { skip }, () => {
  const { result, handles } = handlesCreatedBy(() => torch.loadPth(f('views.pth')) as Record<string, unknown>);
  try {
    for (const [k, d] of Object.entries(ref.views)) {
      const t = result[k] as torch.Tensor;
      assert.deepEqual(digest(t), d, k);
      assert.ok(t.isContiguous(), `${k} is contiguous`);
    }
    const same = result.same as torch.Tensor[];
    assert.equal(same[0], same[1], 'one pickled object loads as one Tensor');
    assert.equal(same[0], result.x);
    assertNoLeaks(handles, result);
  } finally {
    disposeAll(result);
  }
  const deflated = torch.loadPth(f('deflated.pth')) as Record<string, torch.Tensor>;
  try {
    for (const [k, d] of Object.entries(ref.views)) assert.deepEqual(digest(deflated[k]), d, `deflated ${k}`);
  } finally {
    disposeAll(deflated);
  }
});

test('pth: unreadable files give errors that name the file', { skip }, () => {
  assert.throws(() => torch.loadPth(f('legacy.pth')), /legacy\.pth.*legacy \(non-zip\) checkpoint format.*_use_new_zipfile_serialization=True/);
  const whole = fs.readFileSync(f('dtypes.pth'));
  for (const cut of [whole.length - 10, Math.floor(whole.length / 2), 100]) {
    fs.writeFileSync(f('truncated.pth'), whole.subarray(0, cut));
    assert.throws(() => torch.loadPth(f('truncated.pth')), /truncated\.pth.*truncated/);
  }
  assert.throws(() => torch.loadPth(f('badop.pth')), /badop\.pth: unsupported pickle opcode 0xff at byte 5/);
  fs.writeFileSync(f('empty.pth'), '');
  assert.throws(() => torch.loadPth(f('empty.pth')), /empty\.pth.*not a PyTorch checkpoint.*empty/);
  fs.writeFileSync(f('text.pth'), 'hello world\n');
  assert.throws(() => torch.loadPth(f('text.pth')), /text\.pth.*not a PyTorch checkpoint/);
  assert.throws(() => torch.loadPth(f('missing.pth')), /missing\.pth/);
});
