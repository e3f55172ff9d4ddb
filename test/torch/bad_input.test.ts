/**
 * Issue 14, the binding under bad input: RoI ops on empty feature maps (a segfault before),
 * the binding used from a Worker and the main thread at once (heap corruption before, and
 * a handle of one thread read as a tensor of the other), and unchecked scalars
 * (spatialScale NaN, samplingRatio unbounded, manualSeed(1e300), setNumThreads(2.5)).
 *
 * Whatever could kill the process runs in a child process, so this file reports a failure
 * instead of dying with it.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as torch from '../../src/torch';

const ops = torch.ops;
// the compiled package root (dist/), for child scripts: dist/src/torch is the engine
const distRoot = path.resolve(__dirname, '..', '..');
const engine = JSON.stringify(path.join(distRoot, 'src', 'torch'));

/** Runs `script` in a fresh node; returns its stdout, asserting a clean exit. */
function runChild(script: string, timeout = 120_000): string {
  const r = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8', timeout, env: { ...process.env, TSVISION_NUM_THREADS: '2' },
  });
  assert.equal(r.signal, null, `child died of ${r.signal}:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, `child exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// ---------------------------------------------------------------- item 1

describe('roiAlign / roiPool on an empty feature map (H or W 0)', () => {
  // Every sample point of an empty map lies outside it: the output is zeros (samples outside
  // weigh 0), and so is the gradient, as for RoIs entirely outside a non-empty map.
  // (torchvision clamps such points onto pixel -1, reading out of bounds.)
  it('gives zeros forward and backward, CPU, in every form (child process)', () => {
    const script = `
      const torch = require(${engine});
      const ops = torch.ops;
      const out = {};
      const rois = () => torch.tensor([[0, 0, 0, 1, 1], [0, 0.5, 0.5, 3, 3]]);
      const cases = [
        ['align [1,3,0,0]', [1, 3, 0, 0], (x) => ops.roiAlign(x, rois(), { outputSize: 2 })],
        ['align [1,3,4,0]', [1, 3, 4, 0], (x) => ops.roiAlign(x, rois(), { outputSize: 2, samplingRatio: 2 })],
        ['align [1,1,0,5] aligned', [1, 1, 0, 5], (x) => ops.roiAlign(x, rois(), { outputSize: [2, 3], aligned: true })],
        ['align list of boxes', [2, 3, 0, 0], (x) => ops.roiAlign(x, [torch.tensor([[0, 0, 1, 1]]), torch.tensor([[1, 1, 2, 2]])], { outputSize: 2 })],
        ['pool [1,3,0,0]', [1, 3, 0, 0], (x) => ops.roiPool(x, rois(), { outputSize: 2 })],
        ['pool [1,2,0,6] list', [1, 2, 0, 6], (x) => ops.roiPool(x, [torch.tensor([[0, 0, 4, 4]])], { outputSize: 3 })],
      ];
      for (const [name, shape, f] of cases) {
        const x = torch.zeros(shape).requiresGrad_();
        const y = f(x);
        y.sum().backward();
        out[name] = { shape: y.shape, sum: y.abs().sum().item(), grad: x.grad.shape, gradSum: x.grad.abs().sum().item() };
      }
      console.log(JSON.stringify(out));
    `;
    const out = JSON.parse(runChild(script)) as Record<string, { shape: number[]; sum: number; grad: number[]; gradSum: number }>;
    assert.deepEqual(out['align [1,3,0,0]'], { shape: [2, 3, 2, 2], sum: 0, grad: [1, 3, 0, 0], gradSum: 0 });
    assert.deepEqual(out['align [1,3,4,0]'], { shape: [2, 3, 2, 2], sum: 0, grad: [1, 3, 4, 0], gradSum: 0 });
    assert.deepEqual(out['align [1,1,0,5] aligned'], { shape: [2, 1, 2, 3], sum: 0, grad: [1, 1, 0, 5], gradSum: 0 });
    assert.deepEqual(out['align list of boxes'], { shape: [2, 3, 2, 2], sum: 0, grad: [2, 3, 0, 0], gradSum: 0 });
    assert.deepEqual(out['pool [1,3,0,0]'], { shape: [2, 3, 2, 2], sum: 0, grad: [1, 3, 0, 0], gradSum: 0 });
    assert.deepEqual(out['pool [1,2,0,6] list'], { shape: [1, 2, 3, 3], sum: 0, grad: [1, 2, 0, 6], gradSum: 0 });
  });

  it('a non-empty map still samples as before next to an empty one', () => {
    torch.tidy(() => {
      const x = torch.arange(16, { dtype: 'float32' }).reshape([1, 1, 4, 4]);
      const y = ops.roiAlign(x, torch.tensor([[0, 0, 0, 2, 2]]), { outputSize: 1, samplingRatio: 1 });
      // one sample at (1, 1): pixel value 5
      assert.deepEqual(y.toArray(), [5]);
    });
  });
});

// ---------------------------------------------------------------- item 8 (binding scalars)

describe('RoI ops, nms and runtime settings reject bad scalars with a named RangeError/TypeError', () => {
  const x = () => torch.ones([1, 1, 4, 4]);
  const r = () => torch.tensor([[0, 0, 0, 2, 2]]);
  const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
    ['spatialScale NaN', () => ops.roiAlign(x(), r(), { outputSize: 2, spatialScale: NaN }), RangeError, /roiAlign: spatialScale should be a finite number > 0, got NaN/],
    ['spatialScale Infinity', () => ops.roiAlign(x(), r(), { outputSize: 2, spatialScale: Infinity }), RangeError, /roiAlign: spatialScale .* got Infinity/],
    ['spatialScale 0', () => ops.roiAlign(x(), r(), { outputSize: 2, spatialScale: 0 }), RangeError, /roiAlign: spatialScale .* got 0/],
    ['spatialScale -0.5', () => ops.roiPool(x(), r(), { outputSize: 2, spatialScale: -0.5 }), RangeError, /roiPool: spatialScale should be a finite number > 0, got -0.5/],
    ['roiPool spatialScale NaN', () => ops.roiPool(x(), r(), { outputSize: 2, spatialScale: NaN }), RangeError, /roiPool: spatialScale .* got NaN/],
    ['samplingRatio 1025', () => ops.roiAlign(x(), r(), { outputSize: 1, samplingRatio: 1025 }), RangeError, /roiAlign: samplingRatio should be an integer in \[-1, 1024\], got 1025/],
    ['samplingRatio -2', () => ops.roiAlign(x(), r(), { outputSize: 1, samplingRatio: -2 }), RangeError, /roiAlign: samplingRatio .* got -2/],
    ['samplingRatio 1.5', () => ops.roiAlign(x(), r(), { outputSize: 1, samplingRatio: 1.5 }), TypeError, /roiAlign: samplingRatio .* got 1.5/],
    ['aligned 1', () => ops.roiAlign(x(), r(), { outputSize: 1, aligned: 1 as unknown as boolean }), TypeError, /ops\.roiAlign: options\.aligned: expected true or false, got number 1/],
    ['nms iouThreshold NaN', () => ops.nms(torch.ones([2, 4]), torch.ones([2]), NaN), RangeError, /nms: iouThreshold should be a number \(not NaN\), got NaN/],
    ['manualSeed 1e300', () => torch.manualSeed(1e300), RangeError, /manualSeed: seed should be an integer in \[0, 9007199254740991\], got 1e\+300/],
    ['manualSeed 2^53', () => torch.manualSeed(2 ** 53), RangeError, /manualSeed: seed .* got 9007199254740992/],
    ['manualSeed NaN', () => torch.manualSeed(NaN), TypeError, /manualSeed: seed .* got NaN/],
    ['manualSeed 1.5', () => torch.manualSeed(1.5), TypeError, /manualSeed: seed .* got 1.5/],
    ['manualSeed -3', () => torch.manualSeed(-3), RangeError, /manualSeed: seed .* got -3/],
    ['setNumThreads 2.5', () => torch.setNumThreads(2.5), TypeError, /setNumThreads: n should be an integer in \[1, 1024\], got 2.5/],
    ['setNumThreads NaN', () => torch.setNumThreads(NaN), TypeError, /setNumThreads: n .* got NaN/],
  ];
  for (const [name, fn, type, message] of cases) {
    it(name, () => {
      const threads = torch.getNumThreads();
      torch.tidy(() => assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof type, `expected a ${type.name}, got ${String(err)}`);
        assert.match((err as Error).message, message);
        return true;
      }));
      assert.equal(torch.getNumThreads(), threads);
    });
  }

  it('setNumThreads 1e10 (child process: libgomp aborts trying to start that many threads)', () => {
    const out = runChild(`
      const torch = require(${engine});
      try { torch.setNumThreads(1e10); console.log('no error'); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }
      console.log('threads ' + torch.getNumThreads());
    `);
    assert.match(out, /^RangeError: setNumThreads: n should be an integer in \[1, 1024\], got 10000000000\nthreads 2\n$/);
  });

  it('the binding itself checks them too (the same messages without the TypeScript wrappers)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { native } = require('../../src/torch/native') as typeof import('../../src/torch/native');
    torch.tidy(() => {
      const input = torch.ones([1, 1, 4, 4]);
      const rois = torch.tensor([[0, 0, 0, 2, 2]]);
      assert.throws(() => native.roiAlign(input._h, rois._h, NaN, 2, 2, -1, false), /RangeError: roiAlign: spatialScale should be a finite number > 0, got NaN/);
      assert.throws(() => native.roiAlign(input._h, rois._h, 1, 2, 2, 1e9, false), /RangeError: roiAlign: samplingRatio should be an integer in \[-1, 1024\], got 1000000000/);
      assert.throws(() => native.roiAlign(input._h, rois._h, 1, 0, 2, -1, false), /RangeError: roiAlign: outputSize\[0\] should be an integer in \[1, 65536\], got 0/);
      assert.throws(() => native.roiPool(input._h, rois._h, 1, 2, 2.5), /TypeError: roiPool: outputSize\[1\] should be an integer .* got 2.5/);
      assert.throws(() => native.manualSeed(1e300), /RangeError: manualSeed: seed .* got 1e\+300/);
      assert.throws(() => native.manualSeed('7' as unknown as number), /TypeError: manualSeed: seed .* got '7'/);
      // Int32Value would have wrapped this to 2 threads
      assert.throws(() => native.setNumThreads(2 ** 32 + 2), /RangeError: setNumThreads: n .* got 4294967298/);
    });
  });

  it('accepts the bounds: seed 2^53 - 1 and 0, samplingRatio -1, 0 and 1024', () => {
    torch.manualSeed(Number.MAX_SAFE_INTEGER);
    const a = torch.tidy(() => torch.rand([3]).toArray());
    torch.manualSeed(Number.MAX_SAFE_INTEGER);
    assert.deepEqual(torch.tidy(() => torch.rand([3]).toArray()), a);
    torch.manualSeed(0);
    torch.tidy(() => {
      for (const samplingRatio of [-1, 0, 1024]) {
        const y = ops.roiAlign(torch.ones([1, 1, 4, 4]), torch.tensor([[0, 0, 0, 2, 2]]), { outputSize: 1, samplingRatio });
        assert.ok(Math.abs((y.item() as number) - 1) < 1e-6, `samplingRatio ${samplingRatio}`);
      }
    });
  });
});

// ---------------------------------------------------------------- item 2

describe('the binding in worker threads', () => {
  it('main thread and a Worker create, add and dispose tensors at once; handles do not cross', () => {
    const script = `
      const { Worker } = require('node:worker_threads');
      const torch = require(${engine});
      const { native } = require(${JSON.stringify(path.join(distRoot, 'src', 'torch', 'native'))});
      // the worker: its own engine, churning tensors for ~1 s, then sending one live handle
      const worker = new Worker(\`
        const { parentPort } = require('node:worker_threads');
        const torch = require(${engine.replace(/\\/g, '\\\\')});
        const end = Date.now() + 1000;
        let n = 0;
        while (Date.now() < end) {
          const a = torch.ones([64]), b = torch.full([64], 2), c = a.add(b), s = c.sum();
          if (s.item() !== 192) throw new Error('worker: wrong sum ' + s.item());
          a.dispose(); b.dispose(); c.dispose(); s.dispose(); n++;
        }
        const live = torch.liveTensors();
        const kept = torch.zeros([2, 3]);
        parentPort.postMessage({ n, live, handle: kept._h });
        parentPort.once('message', () => process.exit(0));
      \`, { eval: true });
      let fromWorker;
      worker.on('error', (e) => { console.log(JSON.stringify({ workerError: e.message })); process.exit(3); });
      worker.on('message', (m) => {
        fromWorker = m;
        let foreign;
        try { native.sizes(m.handle); foreign = 'no error'; } catch (e) { foreign = e.constructor.name + ': ' + e.message; }
        let foreignDispose;
        try { native.dispose(m.handle); foreignDispose = 'no error'; } catch (e) { foreignDispose = e.message; }
        worker.postMessage('done');
        worker.once('exit', (code) => {
          torch.tidy(() => {});
          console.log(JSON.stringify({ code, mainN, mainLive: torch.liveTensors(), fromWorker, foreign, foreignDispose }));
        });
      });
      const end = Date.now() + 1000;
      let mainN = 0;
      while (Date.now() < end) {
        const a = torch.ones([64]), b = torch.full([64], 3), c = a.add(b), s = c.sum();
        if (s.item() !== 256) throw new Error('main: wrong sum ' + s.item());
        a.dispose(); b.dispose(); c.dispose(); s.dispose(); mainN++;
      }
    `;
    const out = JSON.parse(runChild(script)) as {
      code: number; mainN: number; mainLive: number; fromWorker: { n: number; live: number }; foreign: string; foreignDispose: string;
    };
    assert.equal(out.code, 0);
    assert.ok(out.mainN > 0 && out.fromWorker.n > 0, JSON.stringify(out));
    // each environment counts its own tensors (the worker's kept tensor is made after its count)
    assert.equal(out.fromWorker.live, 0);
    assert.equal(out.mainLive, 0);
    assert.match(out.foreign, /^Error: shape: tensor belongs to another Node environment/);
    assert.match(out.foreignDispose, /dispose: tensor belongs to another Node environment/);
  });

  it('Workers that end (or are terminated) mid-work free their engine; others keep working', () => {
    const script = `
      const { Worker } = require('node:worker_threads');
      const torch = require(${engine});
      const body = \`
        const { parentPort } = require('node:worker_threads');
        const torch = require(${engine.replace(/\\/g, '\\\\')});
        const kept = [];
        for (let i = 0; i < 100; i++) kept.push(torch.randn([32]).mul(2));
        parentPort.postMessage('ready');
        for (let i = 0; i < 5000; i++) { const t = torch.ones([8]).add(1); t.dispose(); }
      \`;
      let done = 0;
      const total = 12;
      const start = (i) => {
        const w = new Worker(body, { eval: true });
        w.on('error', (e) => { console.log('worker error ' + e.message); process.exit(3); });
        w.on('message', () => { if (i % 2 === 0) w.terminate(); });
        w.on('exit', () => {
          if (++done === total) console.log(JSON.stringify({ done, live: torch.liveTensors() }));
          else if (i + 3 < total) start(i + 3);
        });
      };
      for (let i = 0; i < 3; i++) start(i);
      const t = torch.ones([4]).add(1);
      if (t.sum().item() !== 8) process.exit(4);
      t.dispose();
    `;
    const out = JSON.parse(runChild(script)) as { done: number; live: number };
    assert.equal(out.done, 12);
  });
});

// ---------------------------------------------------------------- found by the fuzz harness (seed 2, 100,000 calls)

describe('fuzz findings: natively fatal inputs become JavaScript errors', () => {
  it('a huge expanded view (stride 0) is no implausible external-memory report (V8 aborted: SIGTRAP)', () => {
    const out = runChild(`
      const torch = require(${engine});
      const v = torch.tensor(5, { dtype: 'int64' }).expand([2 ** 53, 4, 5, 6]);
      console.log(JSON.stringify({ shape: v.shape, live: torch.liveTensors() }));
      v.dispose();
    `);
    assert.deepEqual(JSON.parse(out).shape, [2 ** 53, 4, 5, 6]);
  });

  it('conv2d groups, groupNorm numGroups and pixelShuffle factors that wrap to 0 natively are refused (SIGFPE)', () => {
    const out = runChild(`
      const torch = require(${engine});
      const F = torch.F;
      const msgs = [];
      const tryIt = (f) => { try { f(); msgs.push('accepted'); } catch (e) { msgs.push(e.constructor.name + ': ' + e.message); } };
      tryIt(() => F.conv2d(torch.zeros([2, 6, 4, 2]), torch.zeros([4, 1, 3, 1]), null, { groups: 2 ** 40 }));
      tryIt(() => F.pixelShuffle(torch.zeros([3, 5, 3]), 4611686018427388000));
      tryIt(() => F.groupNorm(torch.zeros([2, 4, 3, 3]), 2 ** 40));
      console.log(JSON.stringify(msgs));
    `);
    const msgs = JSON.parse(out) as string[];
    assert.match(msgs[0], /^TypeError: F\.conv2d: options\.groups: expected an integer in \[1, 2147483647\], got number 1099511627776$/);
    assert.match(msgs[1], /^TypeError: F\.pixelShuffle: upscaleFactor: expected an integer in \[1, 2147483647\]/);
    assert.match(msgs[2], /^TypeError: F\.groupNorm: numGroups: expected an integer in \[1, 2147483647\]/);
  });

  it('roiAlign / roiPool: RoIs too large to sample are errors naming the RoI, not wrapped grids (SIGSEGV) or UB results', () => {
    const out = runChild(`
      const torch = require(${engine});
      const x = torch.rand([2, 2, 6, 3]);
      const res = {};
      for (const v of [1e6, 2 ** 32, 1e30]) {
        for (const f of ['roiAlign', 'roiPool']) {
          try { torch.ops[f](x, torch.tensor([[0, 0, 0, 2, 2], [1, -v, -v, v, 5]]), { outputSize: 2 }); res[f + ' ' + v] = 'accepted'; }
          catch (e) { res[f + ' ' + v] = e.message; }
        }
      }
      // a sensible RoI still works
      res.ok = torch.ops.roiAlign(x, torch.tensor([[1, 0, 0, 2, 5]]), { outputSize: 2 }).shape;
      console.log(JSON.stringify(res));
    `);
    const res = JSON.parse(out) as Record<string, string | number[]>;
    assert.match(res['roiAlign 1000000'] as string, /^roiAlign: RoI 1 \(2e\+06x1e\+06 px on the feature map\) needs .* bilinear samples with adaptive sampling, more than 2\^24/);
    assert.equal(res['roiPool 1000000'], 'accepted', 'roiPool reads only the pixels inside the map: a large box is fine');
    for (const v of [2 ** 32, 1e30]) {
      for (const f of ['roiAlign', 'roiPool']) assert.match(res[`${f} ${v}`] as string, new RegExp(`^${f}: RoI 1 reaches .* px on the feature map`));
    }
    assert.deepEqual(res.ok, [1, 2, 2, 2]);
  });

  it('adaptive pooling: an output side beyond 65,536 is refused (2^40 x 0 looped over 2^40 empty rows: a hang)', () => {
    const x = torch.zeros([3, 2, 9, 7]);
    assert.throws(() => torch.F.adaptiveMaxPool2d(x, [2 ** 40, 0]),
      /^TypeError: F\.adaptiveMaxPool2d: outputSize: expected an integer in \[0, 65536\] or a pair of them, got/);
    assert.throws(() => torch.F.adaptiveAvgPool2d(x, [2 ** 31, 0]), /^TypeError: F\.adaptiveAvgPool2d: outputSize: expected an integer in \[0, 65536\]/);
    assert.deepEqual(torch.tidy(() => torch.F.adaptiveAvgPool2d(x, [3, 2]).shape), [3, 2, 3, 2]);
    x.dispose();
  });

  it('roiAlign aligned: a reversed RoI (x2 < x1 and y2 < y1 by more than a bin) samples nothing: zeros, not a read past the samples (SIGSEGV)', () => {
    // torchvision's kernel: a negative adaptive grid runs no sample loop, the bin is 0 / count = 0
    const out = runChild(`
      const torch = require(${engine});
      const x = torch.rand([2, 2, 6, 3]).requiresGrad_();
      const y = torch.ops.roiAlign(x, torch.tensor([[0, 5, 5, 0, 0], [1, 3, 6, 0, 0]]), { outputSize: 2, aligned: true });
      y.sum().backward();
      console.log(JSON.stringify({ shape: y.shape, sum: y.abs().sum().item(), grad: x.grad.abs().sum().item() }));
    `);
    assert.deepEqual(JSON.parse(out), { shape: [2, 2, 2, 2], sum: 0, grad: 0 });
  });
});
