/**
 * The CPU block cache (torch.setCpuCache; on at load, TSVISION_CPU_CACHE=0 opts out): a freed
 * 64 MB tensor's block serves the next 64 MB tensor (one mapping for five allocations, resident
 * memory flat, nothing mmapped by malloc), a freed block past the limit goes back to the system,
 * small tensors bypass it, and emptyCpuCache() empties it. Cases that depend on the state at load
 * run in child processes, since the allocator and glibc's counters are process-wide.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as torch from '../../src/torch';

const MB = 2 ** 20;

interface Probe {
  stats: torch.CpuCacheStats[];
  mmapped: number[];
  sums: number[];
}

/** Five rounds of a 64 MB tensor written, summed and disposed; the cache's and malloc's figures after each. */
function probe(env: Record<string, string | undefined>, prelude = ''): Probe {
  const torchDir = path.join(__dirname, '..', '..', 'src', 'torch');
  const script = `const torch = require(${JSON.stringify(torchDir)});
    ${prelude}
    const stats = [], mmapped = [], sums = [];
    for (let i = 0; i < 5; i++) {
      const t = torch.full([16 * 2 ** 20], i + 1);
      mmapped.push(torch.mallocStats()?.mmapped ?? -1);
      sums.push(torch.tidy(() => t.sum().item()));
      t.dispose();
      torch.flushReleases?.();
      stats.push(torch.cpuCacheStats());
    }
    process.stdout.write(JSON.stringify({ stats, mmapped, sums }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, TSVISION_NUM_THREADS: '1', ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Probe;
}

const sums = [1, 2, 3, 4, 5].map((v) => v * 16 * MB);

describe('CPU block cache', () => {
  it('on by default: one mapping serves five 64 MB tensors in turn', () => {
    const p = probe({ TSVISION_CPU_CACHE: undefined, TSVISION_CPU_CACHE_MB: undefined });
    assert.deepEqual(p.sums, sums);
    const last = p.stats.at(-1)!;
    assert.equal(last.enabled, true);
    assert.equal(last.misses, 1);
    assert.equal(last.hits, 4);
    assert.equal(last.liveBytes, 0);
    assert.equal(last.cachedBytes, 64 * MB);
    // malloc held none of it
    for (const m of p.mmapped) if (m >= 0) assert.ok(m < 64 * MB, `malloc mmapped ${m} bytes`);
  });

  it('TSVISION_CPU_CACHE=0 leaves libtorch\'s allocator (malloc maps each block)', () => {
    for (const v of ['0', 'off']) {
      const p = probe({ TSVISION_CPU_CACHE: v });
      assert.deepEqual(p.sums, sums);
      assert.deepEqual(p.stats.map((s) => [s.enabled, s.hits, s.misses, s.cachedBytes]), p.stats.map(() => [false, 0, 0, 0]), v);
      for (const m of p.mmapped) if (m >= 0) assert.ok(m >= 64 * MB, `${v}: malloc mmapped only ${m} bytes with a live 64 MB tensor`);
    }
  });

  it('a block freed past the limit is unmapped; TSVISION_CPU_CACHE_MB sets the limit', () => {
    const p = probe({ TSVISION_CPU_CACHE: undefined, TSVISION_CPU_CACHE_MB: '32' });
    assert.deepEqual(p.sums, sums);
    assert.deepEqual(p.stats.map((s) => [s.hits, s.misses, s.cachedBytes, s.limitBytes]), p.stats.map((_, i) => [0, i + 1, 0, 32 * MB]));
  });

  it('small tensors bypass it; emptyCpuCache() and setCpuCache switch at run time; bad arguments throw', () => {
    const before = torch.cpuCacheStats();
    const small = torch.zeros([1000]);
    small.dispose();
    const after = torch.cpuCacheStats();
    assert.equal(after.hits + after.misses, before.hits + before.misses);
    const p = probe({ TSVISION_CPU_CACHE: '0' }, 'torch.setCpuCache(true, 2 ** 30);');
    assert.deepEqual([p.stats.at(-1)!.enabled, p.stats.at(-1)!.misses, p.stats.at(-1)!.hits], [true, 1, 4]);
    const q = probe({}, 'torch.setCpuCache(false);');
    assert.deepEqual([q.stats.at(-1)!.enabled, q.stats.at(-1)!.misses, q.stats.at(-1)!.cachedBytes], [false, 0, 0]);
    const e = probe({}, `process.on('exit', () => {}); const x = torch.ones([2 ** 20]); x.dispose(); torch.flushReleases?.();
      if (torch.cpuCacheStats().cachedBytes !== 4 * 2 ** 20) throw new Error('expected 4 MiB cached');
      torch.emptyCpuCache(); if (torch.cpuCacheStats().cachedBytes !== 0) throw new Error('emptyCpuCache left blocks');`);
    assert.equal(e.stats.at(-1)!.misses, 2);
    assert.throws(() => torch.setCpuCache(1 as unknown as boolean), /setCpuCache/);
    assert.throws(() => torch.setCpuCache(true, -1), /setCpuCache.*limitBytes/);
  });
});
