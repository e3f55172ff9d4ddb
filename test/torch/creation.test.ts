/**
 * Tensor creation and data in/out: factories against python3-torch (including the
 * seeded generators, which share libtorch's CPU generator), typed arrays and nested
 * arrays both ways, every dtype, .to() conversions, seeding and thread settings.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { DType } from '../../src/torch';
import { hasReference, NO_REFERENCE } from '../helpers/reference';
import { checkCase, normal, ints, given, referenceResults, type Data, type Encoded, type RefCase } from './_util';

const pool: Record<string, Data> = {
  x: normal(31, [2, 3]),
  big: given([1e5, -3.5, 65504, 70000, 1e-8, 0.1, 1 / 3, -2.75], [8]),
  i: ints(32, [2, 3], -300, 300),
};

const DTYPES: DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'bool'];
const PY_DT = (d: DType) => `torch.${d}`;

const cases: RefCase[] = [
  { name: 'zeros', py: '[torch.zeros(2, 3), torch.zeros(4, dtype=torch.int64), torch.zeros(0, 3)]', ts: () => [torch.zeros([2, 3]), torch.zeros([4], { dtype: 'int64' }), torch.zeros([0, 3])] },
  { name: 'ones', py: '[torch.ones(2, 3), torch.ones(2, dtype=torch.bool), torch.ones(3, dtype=torch.float64)]', ts: () => [torch.ones([2, 3]), torch.ones([2], { dtype: 'bool' }), torch.ones([3], { dtype: 'float64' })] },
  { name: 'full', py: '[torch.full((2, 2), 3.5), torch.full((3,), 7, dtype=torch.int32), torch.full((2,), True)]', ts: () => [torch.full([2, 2], 3.5), torch.full([3], 7, { dtype: 'int32' }), torch.full([2], true)] },
  { name: 'empty shape and dtype', py: '[torch.zeros(3, 0), torch.zeros(2, 2, dtype=torch.uint8)]', ts: () => [torch.empty([3, 0]), torch.empty([2, 2], { dtype: 'uint8' }).zero_()] },
  { name: 'scalar tensor', py: 'torch.tensor(2.5)', ts: () => torch.scalarTensor(2.5) },
  { name: 'arange', py: '[torch.arange(5), torch.arange(2, 11, 3), torch.arange(0, 1, 0.25), torch.arange(5, 0, -1), torch.arange(4, dtype=torch.float32)]', ts: () => [torch.arange(5), torch.arange(2, 11, 3), torch.arange(0, 1, 0.25), torch.arange(5, 0, -1), torch.arange(4, { dtype: 'float32' })] },
  { name: 'linspace', py: '[torch.linspace(0, 1, 5), torch.linspace(-2, 3, 7, dtype=torch.float64), torch.linspace(1, 1, 1)]', ts: () => [torch.linspace(0, 1, 5), torch.linspace(-2, 3, 7, { dtype: 'float64' }), torch.linspace(1, 1, 1)] },
  { name: 'eye', py: '[torch.eye(3), torch.eye(2, 4), torch.eye(3, dtype=torch.int64)]', ts: () => [torch.eye(3), torch.eye(2, 4), torch.eye(3, undefined, { dtype: 'int64' })] },
  { name: 'like factories', py: '[torch.zeros_like(x), torch.ones_like(i), torch.full_like(x, 2), torch.ones_like(x, dtype=torch.float64)]', ts: (p) => [torch.zerosLike(p.x), torch.onesLike(p.i), torch.fullLike(p.x, 2), torch.onesLike(p.x, { dtype: 'float64' })] },
  // seeded generators: libtorch's CPU generator is shared with python3-torch
  { name: 'rand seeded', py: '(torch.manual_seed(7), torch.rand(3, 4))[1]', ts: () => { torch.manualSeed(7); return torch.rand([3, 4]); } },
  { name: 'randn seeded', py: '(torch.manual_seed(8), torch.randn(20))[1]', ts: () => { torch.manualSeed(8); return torch.randn([20]); } },
  { name: 'randn float64 seeded', py: '(torch.manual_seed(9), torch.randn(5, dtype=torch.float64))[1]', ts: () => { torch.manualSeed(9); return torch.randn([5], { dtype: 'float64' }); } },
  { name: 'randint seeded', py: '(torch.manual_seed(10), torch.randint(-3, 9, (4, 5)))[1]', ts: () => { torch.manualSeed(10); return torch.randint(-3, 9, [4, 5]); } },
  { name: 'randperm seeded', py: '(torch.manual_seed(11), torch.randperm(10))[1]', ts: () => { torch.manualSeed(11); return torch.randperm(10); } },
  // conversions between every pair of dtypes (float sources hold values exact in all of them)
  ...DTYPES.map((d): RefCase => ({ name: `to ${d}`, py: `[x.to(${PY_DT(d)}), big.to(${PY_DT(d)}), i.to(${PY_DT(d)})]`, ts: (p) => [p.x.to(d), p.big.to(d), p.i.to(d)] })),
  ...DTYPES.map((d): RefCase => ({ name: `from ${d}`, py: `[(i * 0.1).to(${PY_DT(d)}).to(torch.float64), i.to(${PY_DT(d)}).to(torch.int64)]`, ts: (p) => [p.i.mul(0.1).to(d).to('float64'), p.i.to(d).to('int64')] })),
  { name: 'nested arrays with dtype', py: '[torch.tensor([[1, 2], [3, 4]], dtype=torch.int64), torch.tensor([[0.5, 1.5]], dtype=torch.float16), torch.tensor([True, False])]', ts: () => [torch.tensor([[1, 2], [3, 4]], { dtype: 'int64' }), torch.tensor([[0.5, 1.5]], { dtype: 'float16' }), torch.tensor([true, false])] },
];

describe('creation vs python3-torch', { skip: hasReference() ? false : NO_REFERENCE }, () => {
  let ref: Record<string, Encoded> = {};
  before(() => {
    ref = referenceResults(pool, cases);
  });
  for (const c of cases) it(c.name, () => checkCase(pool, c, ref[c.name]));
});

describe('data in and out', () => {
  it('typed arrays round-trip for every dtype they hold', () => {
    torch.tidy(() => {
      const arrays: [ArrayBufferView & { length: number }, DType][] = [
        [new Float32Array([1.5, -2, 3.25, 0]), 'float32'],
        [new Float64Array([1e-300, -2, Math.PI, 0]), 'float64'],
        [new Int32Array([1, -2, 2 ** 31 - 1, -(2 ** 31)]), 'int32'],
        [new Int16Array([1, -2, 32767, -32768]), 'int16'],
        [new Int8Array([1, -2, 127, -128]), 'int8'],
        [new Uint8Array([0, 1, 128, 255]), 'uint8'],
        [new BigInt64Array([1n, -2n, 2n ** 62n, -(2n ** 63n)]), 'int64'],
      ];
      for (const [a, dtype] of arrays) {
        const t = torch.fromTypedArray(a, [2, 2]);
        assert.equal(t.dtype, dtype);
        assert.deepEqual(t.shape, [2, 2]);
        const back = t.toTypedArray();
        assert.equal(back.constructor, a.constructor);
        assert.deepEqual(Array.from(back as ArrayLike<number | bigint>), Array.from(a as unknown as ArrayLike<number | bigint>));
      }
    });
  });

  it('a subarray view copies only its own elements (byte offset honoured)', () => {
    torch.tidy(() => {
      const base = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]);
      const t = torch.fromTypedArray(base.subarray(3, 7), [2, 2]);
      assert.deepEqual(t.toArray(), [3, 4, 5, 6]);
      base[3] = 100; // copied, not shared
      assert.equal(t.toArray()[0], 3);
      const u = torch.tensor(new Int32Array([9, 8, 7, 6]).subarray(1), { shape: [3] });
      assert.deepEqual(u.toArray(), [8, 7, 6]);
    });
  });

  it('fromTypedArray converts to a requested dtype', () => {
    torch.tidy(() => {
      const t = torch.fromTypedArray(new Float32Array([1.25, 2.5]), [2], { dtype: 'float16' });
      assert.equal(t.dtype, 'float16');
      assert.ok(t.toTypedArray() instanceof Float32Array);
      assert.deepEqual(t.toArray(), [1.25, 2.5]);
      const b = torch.fromTypedArray(new Uint8Array([0, 3, 0]), [3], { dtype: 'bool' });
      assert.deepEqual(b.tolist(), [false, true, false]);
      const bf = torch.tensor([1, 1.0078125, 3.14159], { dtype: 'bfloat16' });
      assert.deepEqual(bf.toArray(), [1, 1.0078125, 3.140625]);
    });
  });

  it('nested arrays in, tolist/item/toArray out', () => {
    torch.tidy(() => {
      const t = torch.tensor([[1, 2, 3], [4, 5, 6]]);
      assert.equal(t.dtype, 'float32');
      assert.deepEqual(t.shape, [2, 3]);
      assert.deepEqual(t.tolist(), [[1, 2, 3], [4, 5, 6]]);
      assert.deepEqual(t.toArray(), [1, 2, 3, 4, 5, 6]);
      assert.equal(t.sum().item(), 21);
      const l = torch.tensor([[7, -8]], { dtype: 'int64' });
      assert.deepEqual(l.tolist(), [[7, -8]]);
      assert.equal(l.select(1, 1).item(), -8);
      const b = torch.tensor([[true, false], [false, true]]);
      assert.equal(b.dtype, 'bool');
      assert.deepEqual(b.tolist(), [[true, false], [false, true]]);
      assert.equal(b.any().item(), true);
      assert.deepEqual(torch.tensor([]).shape, [0]);
      assert.deepEqual(torch.tensor([[], []]).shape, [2, 0]);
      assert.deepEqual(torch.scalarTensor(3).shape, []);
      assert.deepEqual(torch.scalarTensor(3).tolist(), 3);
      assert.equal(torch.tensor([0.1], { dtype: 'float64' }).item(), 0.1);
      // a non-contiguous tensor reads out in logical (row-major) order
      assert.deepEqual(torch.arange(6).reshape(2, 3).t().toArray(), [0, 3, 1, 4, 2, 5]);
      assert.equal(new Uint8Array(torch.tensor([1, 2], { dtype: 'uint8' }).toBuffer()).length, 2);
    });
  });

  it('to() with options; clone is a copy', () => {
    torch.tidy(() => {
      const t = torch.tensor([1.7, -2.2]);
      assert.deepEqual(t.to({ dtype: 'int32' }).toArray(), [1, -2]);
      assert.equal(t.to('cpu').device, 'cpu');
      assert.equal(t.to({ device: 'cpu', dtype: 'float64' }).dtype, 'float64');
      assert.equal(t.long().dtype, 'int64');
      assert.equal(t.half().dtype, 'float16');
      assert.equal(t.double().float().dtype, 'float32');
      assert.equal(t.bool().dtype, 'bool');
      assert.equal(t.byte().dtype, 'uint8');
      assert.equal(t.typeAs(torch.zeros([1], { dtype: 'int64' })).dtype, 'int64');
      const c = t.clone();
      c.fill_(0);
      assert.deepEqual(t.toArray().map((v) => Math.round(v * 10)), [17, -22]);
      assert.match(t.toString(), /shape=\[2\], dtype=float32, device=cpu/);
    });
  });
});

describe('runtime', () => {
  it('manualSeed makes the generators reproducible', () => {
    torch.tidy(() => {
      const draw = () => [torch.rand([5]).toArray(), torch.randn([5]).toArray(), torch.randint(0, 100, [5]).toArray(), torch.randperm(6).toArray(),
        torch.F.dropout(torch.ones([10]), { p: 0.5 }).toArray(), torch.empty([4]).uniform_(-1, 1).toArray(), torch.empty([4]).normal_(2, 3).toArray()];
      torch.manualSeed(1234);
      const a = draw();
      torch.manualSeed(1234);
      const b = draw();
      torch.manualSeed(4321);
      const c = draw();
      assert.deepEqual(a, b);
      assert.notDeepEqual(a[0], c[0]);
    });
  });

  it('setNumThreads/getNumThreads', () => {
    const before = torch.getNumThreads();
    assert.ok(before >= 1);
    try {
      torch.setNumThreads(1);
      assert.equal(torch.getNumThreads(), 1);
      torch.setNumThreads(2);
      assert.equal(torch.getNumThreads(), 2);
      assert.throws(() => torch.setNumThreads(0), /setNumThreads: n should be an integer in \[1, 1024\], got 0/);
    } finally {
      torch.setNumThreads(before);
    }
  });

  it('cuda queries answer without a GPU', () => {
    assert.equal(typeof torch.cuda.isAvailable(), 'boolean');
    assert.equal(typeof torch.cuda.deviceCount(), 'number');
    assert.equal(typeof torch.buildInfo().parallel, 'string');
  });
});
