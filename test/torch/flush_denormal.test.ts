/**
 * Flush-denormal (torch.setFlushDenormal): subnormal floats become 0 in CPU kernels on
 * every intra-op thread, not only the calling one (torch.set_flush_denormal's limit), stay
 * so when setNumThreads regrows the pool, are on by default and off with
 * TSVISION_FLUSH_DENORMAL=0; JavaScript's own arithmetic keeps IEEE subnormals.
 * Hand values: 1e-40 is subnormal in float32 (smallest normal 2^-126 ≈ 1.18e-38) and
 * rounds to 71362 · 2^-149 = 9.99994610111476e-41.
 */
import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as torch from '../../src/torch';

const SUB = Math.fround(1e-40); // 9.99994610111476e-41
const THREADS = 3; // shares of the big op: one per thread
// elementwise kernels split at 32768 elements (at::internal::GRAIN_SIZE): 2^18 per thread
const N = THREADS << 18;
const envOptOut = ['0', 'false', 'off'].includes((process.env.TSVISION_FLUSH_DENORMAL ?? '').trim().toLowerCase());

/**
 * x * 1 over N float32 subnormals, as THREADS shares of the output: [zeros, subnormals kept]
 * each. The input is copied in from a Float32Array (torch.full(.., 1e-40) would convert 1e-40
 * on the calling thread, flushed to 0 before any worker sees it).
 */
function shares(): Array<[number, number]> {
  const y = torch.tidy(() => torch.fromTypedArray(new Float32Array(N).fill(SUB), [N]).mul(1)).toTypedArray() as Float32Array;
  const out: Array<[number, number]> = [];
  const per = N / THREADS;
  for (let t = 0; t < THREADS; t++) {
    let zeros = 0, kept = 0;
    for (let i = t * per; i < (t + 1) * per; i++) {
      if (y[i] === 0) zeros++;
      else if (y[i] === SUB) kept++;
    }
    out.push([zeros, kept]);
  }
  return out;
}

const item = (f: () => torch.Tensor) => torch.tidy(() => f().item() as number);

describe('flush-denormal', () => {
  const threads0 = torch.getNumThreads();
  const supported = torch.setFlushDenormal(!envOptOut) || torch.setFlushDenormal(true);
  after(() => {
    torch.setNumThreads(threads0);
    torch.setFlushDenormal(!envOptOut);
  });

  it('hand values: 1e-40 is a float32 subnormal', () => {
    assert.equal(SUB, 71362 * 2 ** -149);
    assert.ok(SUB > 0 && SUB < 2 ** -126);
    assert.equal(Math.fround(1e-20) * Math.fround(1e-20) < 2 ** -126, true);
  });

  it('on: subnormal inputs and results are 0, on every intra-op thread', { skip: !supported && 'CPU without flush-denormal' }, () => {
    torch.setNumThreads(THREADS);
    assert.equal(torch.setFlushDenormal(true), true);
    assert.deepEqual(torch.flushDenormalThreads(), new Array(THREADS).fill(true));
    assert.equal(torch.getFlushDenormal(), true);
    assert.equal(item(() => torch.tensor([1e-40]).mul(1)), 0); // DAZ (and 1e-40 -> float32 conversion)
    assert.equal(item(() => torch.tensor([1e-20]).mul(torch.tensor([1e-20]))), 0); // FTZ: normal inputs, subnormal result
    assert.deepEqual(shares(), new Array(THREADS).fill([N / THREADS, 0]));
  });

  it('off: subnormals survive on every thread', () => {
    torch.setNumThreads(THREADS);
    torch.setFlushDenormal(false);
    assert.deepEqual(torch.flushDenormalThreads(), new Array(THREADS).fill(false));
    assert.equal(torch.getFlushDenormal(), false);
    assert.equal(item(() => torch.tensor([1e-40]).mul(1)), SUB);
    assert.equal(item(() => torch.tensor([1e-20]).mul(torch.tensor([1e-20]))), Math.fround(Math.fround(1e-20) * Math.fround(1e-20)));
    assert.deepEqual(shares(), new Array(THREADS).fill([0, N / THREADS]));
  });

  it('stays on when setNumThreads regrows the pool (idle workers from before are reused)', { skip: !supported && 'CPU without flush-denormal' }, () => {
    // workers started while off, then parked by a smaller pool while it was turned on
    torch.setNumThreads(THREADS);
    torch.setFlushDenormal(false);
    shares();
    torch.setNumThreads(1);
    torch.setFlushDenormal(true);
    assert.deepEqual(torch.flushDenormalThreads(), [true]);
    torch.setNumThreads(THREADS);
    assert.deepEqual(torch.flushDenormalThreads(), new Array(THREADS).fill(true));
    assert.deepEqual(shares(), new Array(THREADS).fill([N / THREADS, 0]));
    // a bigger pool than ever: new workers too
    torch.setNumThreads(THREADS + 1);
    assert.deepEqual(torch.flushDenormalThreads(), new Array(THREADS + 1).fill(true));
  });

  it("JavaScript's own arithmetic keeps IEEE subnormals while it is on", { skip: !supported && 'CPU without flush-denormal' }, () => {
    torch.setFlushDenormal(true);
    const tiny = Number.MIN_VALUE; // 5e-324, a float64 subnormal
    assert.equal(tiny > 0, true);
    assert.equal(tiny * 2, 1e-323);
    assert.equal(parseFloat('1e-310') * 1, 1e-310);
    // values read back from tensors are kept; kernels flush
    const x = torch.fromTypedArray(new Float64Array([1e-310]), [1]);
    try {
      assert.equal((x.toTypedArray() as Float64Array)[0], 1e-310);
      assert.equal(item(() => x.mul(1)), 0);
    } finally {
      x.dispose();
    }
  });

  const child = (env: Record<string, string | undefined>) => {
    const torchDir = path.join(__dirname, '..', '..', 'src', 'torch');
    const script = `const torch = require(${JSON.stringify(torchDir)});
      const v = torch.tidy(() => torch.tensor([1e-40]).mul(1).item());
      process.stdout.write(JSON.stringify({ on: torch.getFlushDenormal(), v }));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, TSVISION_NUM_THREADS: '2', ...env } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { on: boolean; v: number };
  };

  it('on by default at load', { skip: !supported && 'CPU without flush-denormal' }, () => {
    assert.deepEqual(child({ TSVISION_FLUSH_DENORMAL: undefined }), { on: true, v: 0 });
  });

  it('TSVISION_FLUSH_DENORMAL=0 opts out', () => {
    assert.deepEqual(child({ TSVISION_FLUSH_DENORMAL: '0' }), { on: false, v: SUB });
    assert.deepEqual(child({ TSVISION_FLUSH_DENORMAL: 'off' }), { on: false, v: SUB });
  });
});
