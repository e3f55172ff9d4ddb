/** Typed configs: merging variants, --cfg-options overrides and their errors, dumping and loading. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  applyOverrides, ConfigError, dumpConfig, loadConfig, mergeConfig, parseOverride, replace, resolveConfig, closeConfigNames,
} from '../../src/config';
import { config as toyBase } from '../../configs/toy/mlp_regression';
import { config as toyIter } from '../../configs/toy/mlp_regression_iter';
import { repoRoot } from '../helpers/paths';

test('mergeConfig: objects merge key by key, arrays and replace() replace, inputs untouched', () => {
  const base = { a: { b: 1, c: [1, 2, 3] }, opt: { type: 'SGD', lr: 0.1, momentum: 0.9 } as { type: string; lr: number; momentum?: number }, keep: 'x' };
  const snapshot = structuredClone(base);
  const merged = mergeConfig(base, { a: { c: [9] }, opt: replace({ type: 'AdamW', lr: 0.001 }) });
  assert.deepEqual(merged, { a: { b: 1, c: [9] }, opt: { type: 'AdamW', lr: 0.001 }, keep: 'x' });
  assert.deepEqual(base, snapshot);
  // Without replace() the old keys would stay (the reason replace exists).
  assert.deepEqual(mergeConfig(base, { opt: { type: 'AdamW' } }).opt, { type: 'AdamW', lr: 0.1, momentum: 0.9 });
  // The result shares nothing with the base.
  merged.a.b = 7;
  assert.equal(base.a.b, 1);
});

test('a variant config is its base with the overrides (configs/toy/mlp_regression_iter)', () => {
  assert.deepEqual(toyIter.model, toyBase.model);
  assert.deepEqual(toyIter.train, { byEpoch: false, maxIters: 60, valInterval: 20 });
  assert.deepEqual(toyIter.optimWrapper.optimizer, { type: 'AdamW', lr: 0.01, weightDecay: 0.01 });
  assert.equal(toyIter.optimWrapper.clipGrad?.maxNorm, 10);
  assert.deepEqual(toyIter.hooks.checkpoint, { interval: 10, byEpoch: false, maxKeep: 3, saveLast: true, saveBest: null, rule: null });
});

test('parseOverride: JSON values where they parse, strings otherwise', () => {
  assert.deepEqual(parseOverride('model.depth=101'), { path: ['model', 'depth'], value: 101 });
  assert.deepEqual(parseOverride('lr=1e-3'), { path: ['lr'], value: 0.001 });
  assert.deepEqual(parseOverride('a.flag=false'), { path: ['a', 'flag'], value: false });
  assert.deepEqual(parseOverride('a.x=null'), { path: ['a', 'x'], value: null });
  assert.deepEqual(parseOverride('steps=[8,11]'), { path: ['steps'], value: [8, 11] });
  assert.deepEqual(parseOverride('style=caffe'), { path: ['style'], value: 'caffe' });
  assert.deepEqual(parseOverride('expr=a=b'), { path: ['expr'], value: 'a=b' });
  assert.throws(() => parseOverride('novalue'), /expected KEY=VALUE, got 'novalue'/);
  assert.throws(() => parseOverride('a..b=1'), /empty part in key 'a..b'/);
});

test('applyOverrides sets nested keys and array elements on a copy', () => {
  const cfg = applyOverrides(toyBase, [
    'model.hidden=64',
    'optimWrapper.optimizer.lr=0.01',
    'paramScheduler.1.milestones=[3,5]',
    'loadFrom=weights.safetensors',
    'optimWrapper.clipGrad=null',
  ]);
  assert.equal(cfg.model.hidden, 64);
  assert.equal(cfg.optimWrapper.optimizer.lr, 0.01);
  assert.deepEqual((cfg.paramScheduler[1] as { milestones: number[] }).milestones, [3, 5]);
  assert.equal(cfg.loadFrom, 'weights.safetensors');
  assert.equal(cfg.optimWrapper.clipGrad, null);
  assert.equal(toyBase.model.hidden, 32, 'the base is not modified');
});

test('applyOverrides: an unknown key names itself and the valid keys', () => {
  assert.throws(() => applyOverrides(toyBase, ['model.hiden=3']), (e: Error) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, "--cfg-options: unknown key 'model.hiden' (did you mean 'model.hidden'?) (valid keys at model: inFeatures, hidden, dropout)");
    return true;
  });
  assert.throws(() => applyOverrides(toyBase, ['modle.hidden=3']), /unknown key 'modle' \(did you mean 'model'\?\) \(valid keys at the top level: seed, workDir, loadFrom, model, data, evaluation, train, optimWrapper, paramScheduler, hooks\)/);
  assert.throws(() => applyOverrides(toyBase, ['paramScheduler.5.gamma=1']), /unknown key 'paramScheduler.5' \(paramScheduler is an array of 2; use an index 0..1\)/);
  assert.throws(() => applyOverrides(toyBase, ['model.hidden.x=1']), /cannot set 'model.hidden.x': 'model.hidden' is number, not an object/);
  assert.throws(() => applyOverrides(toyBase, ['model.hidden=big']), /'model.hidden' expects a number, got "big"/);
  assert.throws(() => applyOverrides(toyBase, ['paramScheduler={}']), /'paramScheduler' expects an array, got \{\}/);
});

test('dumpConfig writes valid JSON equal to the resolved config, which loads back as a JSON config', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-config-'));
  try {
    const resolved = resolveConfig('toy/mlp_regression', ['model.hidden=16', 'train.maxEpochs=3']);
    const file = path.join(dir, 'config.json');
    dumpConfig(resolved.config, file, { base: resolved.name });
    const { _base_, ...rest } = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(_base_, 'toy/mlp_regression');
    assert.deepEqual(rest, resolved.config);
    const again = loadConfig(file);
    assert.deepEqual(again.config, resolved.config);
    assert.equal(again.task, resolved.task);
    assert.deepEqual(fs.readdirSync(dir), ['config.json'], 'no temporary file is left');
    fs.writeFileSync(path.join(dir, 'typo.json'), JSON.stringify({ _base_: 'toy/mlp_regression', model: { hiden: 3 } }));
    assert.throws(() => loadConfig(path.join(dir, 'typo.json')), /unknown key 'model.hiden' \(did you mean 'model.hidden'\?\) \(valid keys at model: inFeatures, hidden, dropout\)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('loadConfig takes a name, a .ts source path or a compiled .js path', () => {
  const byName = loadConfig('toy/mlp_regression');
  const byTs = loadConfig(path.join(repoRoot, 'configs/toy/mlp_regression.ts'));
  const byJs = loadConfig(path.join(repoRoot, 'dist/configs/toy/mlp_regression.js'));
  for (const c of [byName, byTs, byJs]) {
    assert.equal(c.name, 'toy/mlp_regression');
    assert.equal(c.task.name, 'toy-regression');
    assert.deepEqual(c.config, toyBase);
  }
});

test('loadConfig: an unknown name suggests close ones', () => {
  assert.deepEqual(closeConfigNames('toy/mlp_regresion').slice(0, 1), ['toy/mlp_regression']);
  assert.throws(() => loadConfig('toy/mlp_regresion'), /unknown config 'toy\/mlp_regresion' \(neither a file nor a name under configs\/\); did you mean toy\/mlp_regression/);
  assert.throws(() => loadConfig('missing/file.ts'), /config file not found: missing\/file.ts/);
});
