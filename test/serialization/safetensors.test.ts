import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';

const ALL: torch.DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-st-'));
}

function bytesOf(t: torch.Tensor): Buffer {
  return Buffer.from(t.toBuffer());
}

/** One tensor of each dtype, plus an empty and a 0-d tensor. */
function sample(): Map<string, torch.Tensor> {
  torch.manualSeed(0);
  const m = new Map<string, torch.Tensor>();
  for (const d of ALL) {
    const base = torch.randn([3, 5]).mul(50);
    m.set(`w.${d}`, d === 'bool' ? base.gt(0) : base.to(d));
    base.dispose();
  }
  m.set('empty', torch.zeros([0, 4]));
  m.set('empty_i64', torch.zeros([2, 0], { dtype: 'int64' }));
  m.set('scalar', torch.scalarTensor(3.5, { dtype: 'float64' }));
  m.set('scalar_bool', torch.scalarTensor(true, { dtype: 'bool' }));
  m.set('a', torch.arange(7, { dtype: 'int8' }));
  return m;
}

function assertSame(a: Map<string, torch.Tensor>, b: Map<string, torch.Tensor>): void {
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [k, t] of a) {
    const u = b.get(k)!;
    assert.equal(u.dtype, t.dtype, k);
    assert.deepEqual(u.shape, t.shape, k);
    assert.ok(bytesOf(u).equals(bytesOf(t)), `${k}: bytes differ`);
  }
}

function disposeAll(m: Map<string, torch.Tensor>): void {
  for (const t of m.values()) t.dispose();
}

test('safetensors: every dtype, empty and 0-d tensors round-trip through a file and memory', () => {
  const dir = tmpdir();
  const src = sample();
  try {
    const file = path.join(dir, 'a.safetensors');
    torch.saveSafetensors(file, src, { format: 'pt', epoch: '3' });
    assert.deepEqual(fs.readdirSync(dir), ['a.safetensors'], 'no temporary file is left');
    const back = torch.loadSafetensors(file);
    assertSame(src, back.tensors);
    assert.deepEqual(back.metadata, { format: 'pt', epoch: '3' });
    disposeAll(back.tensors);

    const bytes = torch.serializeSafetensors(Object.fromEntries(src));
    const mem = torch.deserializeSafetensors(bytes);
    assertSame(src, mem.tensors);
    assert.deepEqual(mem.metadata, {});
    disposeAll(mem.tensors);
  } finally {
    disposeAll(src);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('safetensors: layout follows the reference writer (padded header, dtype-then-name order, aligned data)', () => {
  const src = sample();
  try {
    const bytes = Buffer.from(torch.serializeSafetensors(src, { k: 'v' }));
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const text = bytes.subarray(8, 8 + n).toString('utf8');
    assert.match(text, /^\{"__metadata__":\{"k":"v"\},/);
    assert.match(text.slice(text.lastIndexOf('}') + 1), /^ *$/, 'padding is spaces');
    const header = JSON.parse(text) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const order = ['I64', 'F64', 'F32', 'I32', 'BF16', 'F16', 'I16', 'I8', 'U8', 'BOOL'];
    const sorted = [...names].sort((a, b) => order.indexOf(header[a].dtype) - order.indexOf(header[b].dtype) || (a < b ? -1 : 1));
    assert.deepEqual(names, sorted);
    let end = 0;
    for (const k of names) {
      const [b, e] = header[k].data_offsets;
      assert.equal(b, end, `${k} follows the previous tensor`);
      const size = { I64: 8, F64: 8, F32: 4, I32: 4, BF16: 2, F16: 2, I16: 2 }[header[k].dtype as 'I64'] ?? 1;
      assert.equal(b % size, 0, `${k} is aligned`);
      end = e;
    }
    assert.equal(bytes.length, 8 + n + end);
  } finally {
    disposeAll(src);
  }
});

test('safetensors: a hand-built file loads', () => {
  const dir = tmpdir();
  try {
    const header = JSON.stringify({ b: { dtype: 'I32', shape: [2], data_offsets: [8, 16] }, a: { dtype: 'F64', shape: [], data_offsets: [0, 8] } });
    const data = Buffer.alloc(16);
    data.writeDoubleLE(-1.25, 0);
    data.writeInt32LE(7, 8);
    data.writeInt32LE(-9, 12);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const file = path.join(dir, 'h.safetensors');
    fs.writeFileSync(file, Buffer.concat([len, Buffer.from(header), data]));
    const { tensors, metadata } = torch.loadSafetensors(file);
    assert.deepEqual(metadata, {});
    assert.deepEqual(tensors.get('a')!.shape, []);
    assert.equal(tensors.get('a')!.item(), -1.25);
    assert.deepEqual(tensors.get('b')!.toArray(), [7, -9]);
    disposeAll(tensors);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('safetensors: corrupted files give errors naming the file and the tensor', () => {
  const dir = tmpdir();
  try {
    const write = (name: string, header: unknown, dataSize: number, lenOverride?: bigint) => {
      const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(lenOverride ?? BigInt(h.length));
      const file = path.join(dir, name);
      fs.writeFileSync(file, Buffer.concat([len, h, Buffer.alloc(dataSize)]));
      return file;
    };
    const cases: [string, RegExp][] = [
      [write('json.safetensors', '{"a": {"dtype": "F32", "sha', 0), /json\.safetensors.*not valid JSON/],
      [write('len.safetensors', {}, 0, 1n << 40n), /len\.safetensors.*header length/],
      [write('size.safetensors', { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, 12), /size\.safetensors.*'w'.*needs 16/],
      [write('range.safetensors', { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /range\.safetensors.*'w'.*past the end/],
      [write('dtype.safetensors', { w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, 8), /dtype\.safetensors.*'w'.*unsupported dtype/],
      [write('overlap.safetensors', { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } }, 8),
        /overlap\.safetensors.*overlaps/],
    ];
    for (const [file, re] of cases) assert.throws(() => torch.loadSafetensors(file), re);
    const tiny = path.join(dir, 'tiny.safetensors');
    fs.writeFileSync(tiny, Buffer.from([1, 2, 3]));
    assert.throws(() => torch.loadSafetensors(tiny), /tiny\.safetensors.*too short/);
    assert.throws(() => torch.deserializeSafetensors(new Uint8Array(4)), /too short/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('safetensors: a failed save leaves the old file and no temporary file', () => {
  const dir = tmpdir();
  const good = torch.ones([4]);
  const bad = torch.zeros([4]);
  try {
    const file = path.join(dir, 'ckpt.safetensors');
    torch.saveSafetensors(file, { x: good });
    const before = fs.readFileSync(file);
    (bad as unknown as { toBuffer: () => ArrayBuffer }).toBuffer = () => { throw new Error('disk full'); };
    assert.throws(() => torch.saveSafetensors(file, { x: good, y: bad }), /ckpt\.safetensors.*disk full/);
    assert.deepEqual(fs.readdirSync(dir), ['ckpt.safetensors']);
    assert.ok(fs.readFileSync(file).equals(before));
    assert.throws(() => torch.saveSafetensors(path.join(dir, 'no', 'such', 'dir.safetensors'), { x: good }), /dir\.safetensors/);
  } finally {
    good.dispose();
    bad.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('safetensors: Python parses our bytes to the same values', { skip: hasReference() ? false : NO_REFERENCE }, () => {
  const dir = tmpdir();
  const src = sample();
  try {
    const file = path.join(dir, 'x.safetensors');
    torch.saveSafetensors(file, src, { who: 'tsvision' });
    const sums = python<Record<string, [string, number[], number]>>(`
import struct
raw = open(inp['file'], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
h = json.loads(raw[8:8 + n])
dt = {'F32': torch.float32, 'F64': torch.float64, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64,
      'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
out = {'__metadata__': h.pop('__metadata__')}
for k, v in h.items():
    b, e = v['data_offsets']
    buf = bytearray(raw[8 + n + b: 8 + n + e])
    t = torch.frombuffer(buf, dtype=dt[v['dtype']]) if e > b else torch.empty(0, dtype=dt[v['dtype']])
    t = t.reshape(v['shape'])
    out[k] = [v['dtype'], list(t.shape), float(t.double().sum())]
`, { file });
    assert.deepEqual(sums.__metadata__, { who: 'tsvision' });
    for (const [k, t] of src) {
      const [, shape, sum] = sums[k];
      assert.deepEqual(shape, t.shape, k);
      const s = t.to('float64').sum();
      assert.equal(s.item(), sum, k);
      s.dispose();
    }
  } finally {
    disposeAll(src);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
