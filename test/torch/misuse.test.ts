/** Misuse throws clear Errors and never crashes the process (in process, and in a child process). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { misuseCases } from './_misuse_cases';

describe('misuse throws an Error', () => {
  for (const c of misuseCases) {
    it(c.name, () => {
      torch.tidy(() => {
        assert.throws(c.fn, (err: unknown) => {
          assert.ok(err instanceof Error, `threw a non-Error: ${String(err)}`);
          assert.match(err.message, c.error);
          return true;
        });
      });
    });
  }

  it('the engine keeps working afterwards', () => {
    assert.equal(torch.tidy(() => torch.arange(4).sum().item()), 6);
    assert.equal(torch.isGradEnabled(), true);
    assert.equal(torch.scopeDepth(), 0);
  });
});

describe('misuse in a child process', () => {
  it('runs every case and exits 0 (no abort, no segfault)', () => {
    const script = path.join(__dirname, '_misuse_cases.js');
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.signal, null, `child died of ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, `child exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`misuse: ${misuseCases.length} cases, 0 unexpected`));
  });
});
