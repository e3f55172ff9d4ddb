/**
 * Issue 14 item 3: checkpoints load strictly (test, infer, demo, benchmark), a non-strict load is an
 * explicit option, and a load that matches nothing is an error even then.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { Linear } from '../../src/nn';
import { loadModelWeights, StateDictMismatchError } from '../../src/engine';
import { repoRoot } from '../helpers/paths';

torch.setNumThreads(1);

const bin = path.join(repoRoot, 'bin', 'tsvision');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, TSVISION_NUM_THREADS: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function net(): Linear {
  return new Linear(3, 2);
}

test('loadModelWeights strict (default): a missing, unexpected or misshapen key throws naming the file and keys, and loads nothing', () => {
  const m = net();
  const before = m.weight.toArray();
  const sd = new Map([['weight', torch.ones([2, 3])], ['extra.weight', torch.zeros([1])]]);
  try {
    assert.throws(() => loadModelWeights(m, sd, { file: 'ckpt.safetensors' }), (e: Error) => {
      assert.ok(e instanceof StateDictMismatchError, String(e));
      assert.match(e.message, /^ckpt\.safetensors: the checkpoint does not fit the model/);
      assert.match(e.message, /missing keys \(1\): bias/);
      assert.match(e.message, /unexpected keys \(1\): extra\.weight/);
      assert.deepEqual((e as StateDictMismatchError).missingKeys, ['bias']);
      return true;
    });
    assert.deepEqual(m.weight.toArray(), before, 'nothing copied');
    const shaped = new Map([['weight', torch.ones([3, 2])], ['bias', torch.ones([2])]]);
    assert.throws(() => loadModelWeights(m, shaped, { file: 'ckpt.safetensors' }), /shape mismatches \(1\): weight: checkpoint has shape \[3, 2\], the model has \[2, 3\]/);
    torch.dispose([...shaped.values()]);
  } finally {
    torch.dispose([...sd.values()]);
    m.dispose();
  }
});

test('loadModelWeights lists a capped number of keys, with the full counts', () => {
  const m = net();
  const sd = new Map<string, torch.Tensor>([['weight', torch.ones([2, 3])], ['bias', torch.ones([2])]]);
  for (let i = 0; i < 25; i++) sd.set(`junk.${String(i).padStart(2, '0')}`, torch.zeros([1]));
  try {
    assert.throws(() => loadModelWeights(m, sd, { file: 'big.pth' }), (e: Error) => {
      assert.match(e.message, /unexpected keys \(25\): junk\.00, .*junk\.09, \.\.\. \(15 more\)/);
      assert.ok(!e.message.includes('junk.10'));
      return true;
    });
  } finally {
    torch.dispose([...sd.values()]);
    m.dispose();
  }
});

test('loadModelWeights strict: false loads what matches, reports the rest; matching nothing is still an error', () => {
  const m = net();
  const sd = new Map([['weight', torch.ones([2, 3])], ['bias', torch.ones([5])], ['other', torch.zeros([1])]]);
  const none = new Map([['conv1.weight', torch.ones([2, 3])], ['bias2', torch.ones([2])]]);
  const shapesOnly = new Map([['weight', torch.ones([4, 4])]]);
  try {
    const lines: string[] = [];
    const r = loadModelWeights(m, sd, { strict: false, file: 'part.safetensors', log: (l) => lines.push(l) });
    assert.deepEqual(r.loadedKeys, ['weight']);
    assert.deepEqual(r.missingKeys, ['bias']);
    assert.deepEqual(r.unexpectedKeys, ['other']);
    assert.equal(r.mismatchedKeys.length, 1);
    assert.deepEqual(m.weight.toArray(), [1, 1, 1, 1, 1, 1]);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^Loaded 1 of the model's 2 tensors from part\.safetensors; not loaded: missing keys \(1\): bias; unexpected keys \(1\): other; shape mismatches \(1\): bias: checkpoint has shape \[5\]/);
    assert.throws(() => loadModelWeights(m, none, { strict: false, file: 'foreign.pth' }),
      (e: Error) => e instanceof StateDictMismatchError && /^foreign\.pth: none of its 2 keys \(conv1\.weight, bias2\) is a key of the model \(weight, bias\)/.test(e.message));
    assert.throws(() => loadModelWeights(m, shapesOnly, { strict: false, file: 'shapes.pth' }), /^StateDictMismatchError: shapes\.pth: none of its 1 keys .*\n {2}shape mismatches \(1\): weight: checkpoint has shape \[4, 4\]/);
  } finally {
    torch.dispose([...sd.values(), ...none.values(), ...shapesOnly.values()]);
    m.dispose();
  }
});

test('tsvision test: a checkpoint that only partly fits fails (strict); --no-strict loads the part; --no-strict matching nothing fails', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-strict-'));
  try {
    // fc1 of toy/mlp_regression, plus keys of some other model; fc2 is missing.
    const partial = path.join(dir, 'partial.safetensors');
    const foreign = path.join(dir, 'foreign.safetensors');
    torch.tidy(() => {
      torch.saveSafetensors(partial, new Map([['fc1.weight', torch.zeros([32, 8])], ['fc1.bias', torch.zeros([32])], ['backbone.conv1.weight', torch.zeros([4, 3, 3, 3])]]), {});
      torch.saveSafetensors(foreign, new Map([['backbone.conv1.weight', torch.zeros([4, 3, 3, 3])], ['fc1.weight', torch.zeros([7])]]), {});
    });
    const work = ['--work-dir', path.join(dir, 'work'), '--json'];
    const strict = cli('test', 'toy/mlp_regression', partial, ...work);
    assert.notEqual(strict.status, 0, `exit 0 with a checkpoint that does not fit:\n${strict.stdout}`);
    assert.equal(strict.stdout, '', 'no metrics printed');
    assert.match(strict.stderr, /^tsvision: .*partial\.safetensors: the checkpoint does not fit the model/);
    assert.match(strict.stderr, /missing keys \(2\): fc2\.weight, fc2\.bias/);
    assert.match(strict.stderr, /unexpected keys \(1\): backbone\.conv1\.weight/);

    const loose = cli('test', 'toy/mlp_regression', partial, '--no-strict', ...work);
    assert.equal(loose.status, 0, loose.stderr);
    assert.ok(Number.isFinite(JSON.parse(loose.stdout.trim()).mse));

    const nothing = cli('test', 'toy/mlp_regression', foreign, '--no-strict', ...work);
    assert.notEqual(nothing.status, 0, `exit 0 with a checkpoint that matches nothing:\n${nothing.stdout}`);
    assert.equal(nothing.stdout, '');
    assert.match(nothing.stderr, /foreign\.safetensors: none of its 2 keys .* is a key of the model/);
    assert.match(nothing.stderr, /shape mismatches \(1\): fc1\.weight: checkpoint has shape \[7\], the model has \[32, 8\]/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--help of test, infer, demo and benchmark documents --no-strict', () => {
  for (const cmd of ['test', 'infer', 'demo', 'benchmark']) {
    const r = cli(cmd, '--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /\[--no-strict\]/, cmd);
    assert.match(r.stdout, /^ {2}--no-strict +load only/m, cmd);
  }
});
