/**
 * Run-time validation of resolved configs (issue 14, item 4): values the compiler cannot see
 * (`--cfg-options`, JSON configs, TypeScript configs with casts) are checked against the
 * schemas generated from the config types before anything runs; an error names the key path,
 * the value and what was expected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, listConfigNames, resolveConfig, validateConfig, type LoadedConfig } from '../../src/config';
import { buildRunner } from '../../src/engine';
import { toyTask, type ToyConfig } from '../../src/engine/toy';
import { config as toyBase } from '../../configs/toy/mlp_regression';
import { repoRoot } from '../helpers/paths';

/** Asserts that resolving `toy/mlp_regression` with `overrides` fails with a ConfigError matching every pattern. */
function rejects(overrides: string[], ...patterns: RegExp[]) {
  assert.throws(() => resolveConfig('toy/mlp_regression', overrides), (e: Error) => {
    assert.ok(e instanceof ConfigError, `${overrides.join(' ')}: a ConfigError expected, got ${e}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  }, `${overrides.join(' ')} was accepted`);
}

test('--cfg-options: train.byEpoch=false train.valInterval=0 (no maxIters: 0 iterations) is an error', () => {
  rejects(['train.byEpoch=false', 'train.valInterval=0'], /'train\.maxIters': missing \(expected an integer >= 1\) \(after --cfg-options train\.byEpoch=false train\.valInterval=0\)/);
  // with maxIters given it is a valid iteration-based config (valInterval 0: never validate)
  const ok = resolveConfig('toy/mlp_regression_iter', ['train.valInterval=0']);
  assert.deepEqual(ok.config.train, { byEpoch: false, maxIters: 60, valInterval: 0 });
});

test('--cfg-options: integers, ranges, enums, element types and null-or-string are checked', () => {
  rejects(['train.maxEpochs=1.5'], /'train\.maxEpochs': expected an integer >= 1, got 1\.5 \(set by --cfg-options train\.maxEpochs=1\.5\)/);
  rejects(['train.maxEpochs=-3'], /'train\.maxEpochs': expected an integer >= 1, got -3/);
  rejects(['train.maxEpochs=0'], /'train\.maxEpochs': expected an integer >= 1, got 0/);
  rejects(['data.batchSize=0'], /'data\.batchSize': expected an integer >= 1, got 0/);
  rejects(['paramScheduler.1.milestones=["a"]'], /'paramScheduler\.1\.milestones\.0': expected an integer >= 0, got "a"/);
  rejects(['loadFrom=123'], /'loadFrom': expected a string or null, got 123/);
  rejects(['train.valInterval=-1'], /'train\.valInterval': expected an integer >= 0, got -1/);
  rejects(['model.dropout=1.5'], /'model\.dropout': expected a finite number >= 0 and <= 1, got 1\.5/);
  rejects(['optimWrapper.optimizer.type="SDG"'], /'optimWrapper\.optimizer\.type': got "SDG" \(expected one of "SGD", "Adam", "AdamW"\)/);
  rejects(['optimWrapper.optimizer.lr=-0.1'], /'optimWrapper\.optimizer\.lr': expected a finite number >= 0, got -0\.1/);
  rejects(['seed=1.5'], /'seed': expected an integer >= 0/);
  rejects(['hooks.logger.interval=0'], /'hooks\.logger\.interval': expected an integer >= 1, got 0/);
  // each message says where the config came from
  rejects(['data.batchSize=0'], /^toy\/mlp_regression: invalid config: /);
});

test('JSON configs: "maxEpochs": "six" and "momentum": "0.9" are errors naming the file, key and value', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-validate-'));
  try {
    const cases: [unknown, RegExp][] = [
      [{ train: { maxEpochs: 'six' } }, /'train\.maxEpochs': expected an integer >= 1, got "six"/],
      [{ optimWrapper: { optimizer: { momentum: '0.9' } } }, /'optimWrapper\.optimizer\.momentum': expected a finite number >= 0, got "0\.9"/],
      [{ data: { batchSize: 2.5 } }, /'data\.batchSize': expected an integer >= 1, got 2\.5/],
      [{ evaluation: { metrics: ['mse', 'rmse'] } }, /'evaluation\.metrics\.1': .*"rmse"/],
    ];
    cases.forEach(([over, message], i) => {
      const file = path.join(dir, `bad${i}.json`);
      fs.writeFileSync(file, JSON.stringify({ _base_: 'toy/mlp_regression', ...(over as object) }));
      assert.throws(() => resolveConfig(file), (e: Error) => {
        assert.ok(e instanceof ConfigError);
        assert.ok(e.message.startsWith(`${file}: invalid config: `), e.message);
        assert.match(e.message, message);
        return true;
      }, JSON.stringify(over));
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('TypeScript configs: a value the compiler was talked out of checking is rejected before the run is built', () => {
  const bad = (patch: (c: Record<string, any>) => void): LoadedConfig => {
    const config = structuredClone(toyBase) as unknown as Record<string, any>;
    patch(config);
    return { task: toyTask as LoadedConfig['task'], config: config as unknown as ToyConfig, name: 'toy/cast', file: 'toy/cast.ts' };
  };
  const cases: [LoadedConfig, RegExp][] = [
    [bad((c) => { c.train.maxEpochs = 'six'; }), /^toy\/cast: invalid config: 'train\.maxEpochs': expected an integer >= 1, got "six"/],
    [bad((c) => { c.optimWrapper.optimizer.momentum = '0.9'; }), /'optimWrapper\.optimizer\.momentum': expected a finite number >= 0, got "0\.9"/],
    [bad((c) => { c.train.maxEpoch = 3; }), /'train\.maxEpoch': unknown key \(did you mean 'train\.maxEpochs'\?\)/],
    [bad((c) => { c.optimWrapper.optimizer.betas = [0.9]; }), /'optimWrapper\.optimizer\.(betas|type)'/],
    [bad((c) => { c.hooks.checkpoint.maxKeep = 0; }), /'hooks\.checkpoint\.maxKeep': expected -1 \(keep all\) or an integer >= 1, got 0/],
    [bad((c) => { c.data.noise = Number.NaN; }), /'data\.noise': expected a finite number >= 0, got NaN/],
  ];
  for (const [loaded, message] of cases) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-validate-'));
    try {
      loaded.config.workDir = dir;
      assert.throws(() => buildRunner(loaded, { mode: 'train', quiet: true }), (e: Error) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, message);
        return true;
      });
      assert.deepEqual(fs.readdirSync(dir), [], 'nothing written');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('unknown keys: the closest valid key is suggested (--cfg-options and JSON configs)', () => {
  rejects(['train.maxEpoch=3'], /unknown key 'train\.maxEpoch' \(did you mean 'train\.maxEpochs'\?\)/);
  rejects(['optimWrapper.optimizer.momentun=0.5'], /unknown key 'optimWrapper\.optimizer\.momentun' \(did you mean 'optimWrapper\.optimizer\.momentum'\?\)/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-validate-'));
  try {
    const file = path.join(dir, 'typo.json');
    fs.writeFileSync(file, JSON.stringify({ _base_: 'toy/mlp_regression', data: { batchsize: 4 } }));
    assert.throws(() => resolveConfig(file), /unknown key 'data\.batchsize' \(did you mean 'data\.batchSize'\?\)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every shipped config passes validation (no false alarms), and detection configs are checked too', () => {
  const names = listConfigNames();
  assert.ok(names.length > 10, names.join(', '));
  for (const name of names) assert.doesNotThrow(() => resolveConfig(name), name);
  const det = names.find((n) => n.includes('faster-rcnn_r18_fpn_shapes'))!;
  assert.ok(det, 'the shapes detection config');
  assert.throws(() => resolveConfig(det, ['data.batchSize=0']), /'data\.batchSize': expected an integer >= 1, got 0/);
  assert.throws(() => resolveConfig(det, ['data.workers=-1']), /'data\.workers': expected an integer >= 0, got -1/);
});

test('the committed config schemas are what scripts/gen-config-schemas.js generates from the types', () => {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'gen-config-schemas.js'), '--check'], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

test('tuples: betas must be two numbers in [0, 1)', () => {
  const loaded = resolveConfig('toy/mlp_regression_iter');
  const check = (betas: unknown) => () => validateConfig({ ...loaded.config, optimWrapper: { ...loaded.config.optimWrapper, optimizer: { type: 'AdamW', lr: 0.01, betas } } }, loaded.task.configSchema, { source: 'x' });
  assert.doesNotThrow(check([0.9, 0.999]));
  assert.throws(check([0.9]), /'optimWrapper\.optimizer\.betas': expected an array of 2 elements of which each is a finite number >= 0 and < 1, got \[0\.9\]/);
  assert.throws(check([0.9, 1.5]), /'optimWrapper\.optimizer\.betas\.1': expected a finite number >= 0 and < 1, got 1\.5/);
  assert.throws(check([0.9, 'a']), /'optimWrapper\.optimizer\.betas\.1': expected a finite number >= 0 and < 1, got "a"/);
});
