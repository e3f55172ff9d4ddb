/** `tsvision train` and `tsvision test`: help, one-line usage errors (exit 2), and a train → test round trip. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { repoRoot } from '../helpers/paths';

const bin = path.join(repoRoot, 'bin', 'tsvision');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, TSVISION_NUM_THREADS: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('train --help and test --help print their usage', () => {
  for (const cmd of ['train', 'test']) {
    const r = cli(cmd, '--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, new RegExp(`^Usage: tsvision ${cmd} CONFIG`));
  }
  const top = cli('--help');
  assert.match(top.stdout, /^ {2}train +train a config/m);
  assert.match(top.stdout, /^ {2}test +evaluate a checkpoint/m);
});

test('bad arguments: exit code 2 and a one-line reason', () => {
  const cases: [string[], RegExp][] = [
    [['train'], /^tsvision train: expected one CONFIG, got none$/],
    [['train', 'toy/mlp_regresion'], /^tsvision train: unknown config 'toy\/mlp_regresion' .*did you mean toy\/mlp_regression/],
    [['train', 'toy/mlp_regression', '--cfg-options', 'model.hiden=3'], /^tsvision train: --cfg-options: unknown key 'model.hiden' \(did you mean 'model.hidden'\?\) \(valid keys at model: inFeatures, hidden, dropout\)$/],
    [['train', 'toy/mlp_regression', '--cfg-options', 'model.hidden=wide'], /^tsvision train: --cfg-options: 'model.hidden' expects a number, got "wide"$/],
    [['train', 'toy/mlp_regression', '--bogus'], /^tsvision train: Unknown option '--bogus'/],
    [['train', 'toy/mlp_regression', '--seed', 'x'], /^tsvision train: --seed expects an integer >= 0, got 'x'$/],
    [['train', 'toy/mlp_regression', '--resume', 'missing.safetensors'], /^tsvision train: --resume: checkpoint not found: missing.safetensors$/],
    [['test', 'toy/mlp_regression'], /^tsvision test: expected CONFIG and CHECKPOINT, got toy\/mlp_regression$/],
    [['test', 'toy/mlp_regression', 'missing.safetensors'], /^tsvision test: checkpoint not found: missing.safetensors$/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: one line expected, got:\n${r.stderr}`);
    assert.match(lines[0], message);
  }
});

test('train with overrides, then test with --eval and --out', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-cli-'));
  try {
    const work = path.join(dir, 'work');
    const t = cli('train', 'configs/toy/mlp_regression.ts', '--work-dir', work, '--seed', '3', '--cfg-options', 'train.maxEpochs=2', 'model.hidden=16');
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /Epoch\(train\) \[2\]\[8\/8\]/);
    assert.match(t.stdout, /Epoch\(val\) \[2\]  mse: /);
    const [run] = fs.readdirSync(work).filter((n) => /^\d{8}_\d{6}/.test(n));
    const dumped = JSON.parse(fs.readFileSync(path.join(work, run, 'config.json'), 'utf8'));
    assert.deepEqual([dumped._base_, dumped.seed, dumped.train.maxEpochs, dumped.model.hidden, dumped.workDir], ['toy/mlp_regression', 3, 2, 16, work]);

    // The dumped config is itself a config: test with it.
    const out = path.join(dir, 'results.json');
    const r = cli('test', path.join(work, run, 'config.json'), path.join(work, 'epoch_2.safetensors'), '--eval', 'mae', '--out', out, '--json', '--work-dir', path.join(dir, 'test'));
    assert.equal(r.status, 0, r.stderr);
    const metrics = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(Object.keys(metrics), ['mae']);
    const results = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.equal(results.length, 64);
    assert.deepEqual(Object.keys(results[0]), ['prediction', 'target']);

    // --tta on a task without test-time augmentation: a one-line reason, no run.
    const tta = cli('test', 'toy/mlp_regression', path.join(work, 'epoch_2.safetensors'), '--tta', '--work-dir', path.join(dir, 'tta'));
    assert.notEqual(tta.status, 0);
    assert.match(tta.stderr, /toy\/mlp_regression: the toy-regression task has no test-time augmentation/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('issue 14: invalid config values and a malformed --resume checkpoint are one-line errors that leave nothing behind', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-cli-'));
  try {
    const work = path.join(dir, 'work');
    const cases: [string[], RegExp][] = [
      [['train.byEpoch=false', 'train.valInterval=0'], /invalid config: 'train\.maxIters': missing \(expected an integer >= 1\)/],
      [['train.maxEpochs=1.5'], /'train\.maxEpochs': expected an integer >= 1, got 1\.5/],
      [['data.batchSize=0'], /'data\.batchSize': expected an integer >= 1, got 0/],
      [['loadFrom=123'], /'loadFrom': expected a string or null, got 123/],
    ];
    for (const [overrides, message] of cases) {
      const r = cli('train', 'toy/mlp_regression', '--work-dir', work, '--cfg-options', ...overrides);
      assert.equal(r.status, 2, `${overrides.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^tsvision train: toy\/mlp_regression: invalid config: /);
      assert.match(lines[0], message);
      assert.equal(fs.existsSync(work), false, 'no work dir');
    }

    // --resume on a checkpoint whose metadata is {}: the file and the key, no TypeError, no run folder left
    const ckpt = path.join(dir, 'empty.safetensors');
    const rng = torch.getRngState();
    torch.saveSafetensors(ckpt, new Map([['rng_state', rng]]), { tsvision: '{}' });
    rng.dispose();
    const r = cli('train', 'toy/mlp_regression', '--work-dir', work, '--resume', ckpt);
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stderr, /Cannot read properties/);
    assert.match(r.stderr, /empty\.safetensors: checkpoint metadata 'tsvision\.format' is missing: expected "tsvision-checkpoint\/1"/);
    assert.equal(fs.existsSync(work), false, `left behind: ${fs.existsSync(work) ? fs.readdirSync(work) : ''}`);

    // a failed test attempt in an existing work dir leaves it as it was
    fs.mkdirSync(work);
    const t = cli('test', 'toy/mlp_regression', ckpt, '--work-dir', work);
    assert.notEqual(t.status, 0);
    assert.deepEqual(fs.readdirSync(work), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
