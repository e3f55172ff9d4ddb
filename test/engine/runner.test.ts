/** The runner on the toy task: training, validation, checkpoints (keep-last-K, atomicity), resume and load-from. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as torch from '../../src/torch';
import { resolveConfig } from '../../src/config';
import {
  buildRunner, findLatestCheckpoint, listCheckpoints, loadCheckpoint, LAST_CHECKPOINT, removeStaleTempFiles,
  type BuildRunnerOptions, type SafetensorsWriter,
} from '../../src/engine';

// One intra-op thread: reductions are then deterministic, which exact loss comparisons need.
torch.setNumThreads(1);

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-runner-'));
}

/** Trains a toy config in-process and returns its logged training records. */
async function train(config: string, workDir: string, overrides: string[], opts: Partial<BuildRunnerOptions> = {}) {
  const loaded = resolveConfig(config, [`workDir=${JSON.stringify(workDir)}`, 'hooks.logger.interval=1', ...overrides]);
  const runner = buildRunner(loaded, { mode: 'train', quiet: true, ...opts });
  await runner.train();
  const lines = fs.readFileSync(path.join(runner.runDir!, 'scalars.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return { runner, train: lines.filter((r) => r.mode === 'train'), val: lines.filter((r) => r.mode === 'val') };
}

/** The values that must be identical between runs (not times, memory, ETA). */
function deterministic(r: Record<string, number>) {
  return { iter: r.iter, lr: r.lr, loss: r.loss, loss_mse: r.loss_mse, mae: r.mae, grad_norm: r.grad_norm };
}

test('the toy model trains: loss falls, validation runs, logs and config dump are written', async () => {
  const dir = tmpDir();
  try {
    const { runner, train: recs, val } = await train('toy/mlp_regression', dir, []);
    assert.equal(recs.length, 48, 'one record per iteration (6 epochs x 8)');
    const first = recs.slice(0, 4).reduce((s, r) => s + r.loss, 0) / 4;
    const last = recs.slice(-4).reduce((s, r) => s + r.loss, 0) / 4;
    assert.ok(last < first * 0.25, `loss should fall: ${first} -> ${last}`);
    for (const r of recs) {
      for (const k of ['lr', 'time', 'data_time', 'memory', 'eta', 'loss_mse', 'mae', 'grad_norm']) assert.equal(typeof r[k], 'number', `${k} in ${JSON.stringify(r)}`);
      assert.equal(r.loss, r.loss_mse, "the sum counts only keys containing 'loss'");
    }
    assert.deepEqual(val.map((v) => v.epoch), [2, 4, 6]);
    assert.ok(val[2].mse < val[0].mse, `val mse should fall: ${val.map((v) => v.mse)}`);
    // lr: linear warmup over 8 iterations, then x0.1 after epoch 4.
    assert.ok(Math.abs(recs[0].lr - 0.005) < 1e-12 && Math.abs(recs[8].lr - 0.05) < 1e-12 && Math.abs(recs[40].lr - 0.005) < 1e-12);
    const dumped = JSON.parse(fs.readFileSync(path.join(runner.runDir!, 'config.json'), 'utf8'));
    assert.equal(dumped._base_, 'toy/mlp_regression');
    assert.equal(dumped.workDir, dir);
    assert.match(fs.readFileSync(path.join(runner.runDir!, 'run.log'), 'utf8'), /Epoch\(train\) \[6\]\[8\/8\]  eta: .* loss: /);
    // keep the last 3 epoch checkpoints; last_checkpoint names the newest.
    assert.deepEqual(listCheckpoints(dir).map((c) => path.basename(c.file)), ['epoch_4.safetensors', 'epoch_5.safetensors', 'epoch_6.safetensors']);
    assert.equal(fs.readFileSync(path.join(dir, LAST_CHECKPOINT), 'utf8').trim(), 'epoch_6.safetensors');
    const ck = loadCheckpoint(path.join(dir, 'epoch_6.safetensors'));
    assert.deepEqual([ck.meta.epoch, ck.meta.iter, ck.meta.innerIter], [6, 48, 0]);
    assert.equal(ck.meta.config.workDir, dir);
    assert.deepEqual([...ck.model.keys()].sort(), ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    assert.ok(Object.keys(ck.optimizer.state).length === 4 && ck.optimizer.state[0].momentum_buffer instanceof torch.Tensor);
    torch.dispose([...ck.model.values(), ck.rngState, ...Object.values(ck.optimizer.state).flatMap((s) => Object.values(s))]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('resuming mid-epoch (iteration-based, AdamW, cosine) reproduces the uninterrupted losses exactly', async () => {
  const full = tmpDir();
  const part = tmpDir();
  try {
    const a = await train('toy/mlp_regression_iter', full, []);
    // Stop at 30 (mid-epoch: 8 batches per epoch), then resume to 60 from the work dir's latest checkpoint.
    const b1 = await train('toy/mlp_regression_iter', part, ['train.maxIters=30']);
    assert.equal(findLatestCheckpoint(part), path.join(part, 'iter_30.safetensors'));
    const b2 = await train('toy/mlp_regression_iter', part, [], { resume: true });
    assert.deepEqual(b1.train.map(deterministic), a.train.slice(0, 30).map(deterministic));
    assert.equal(b2.train[0].iter, 31);
    assert.deepEqual(b2.train.map(deterministic), a.train.slice(30).map(deterministic));
    assert.deepEqual(b2.val.map((v) => [v.iter, v.mse]), a.val.filter((v) => v.iter > 30).map((v) => [v.iter, v.mse]));
  } finally {
    fs.rmSync(full, { recursive: true, force: true });
    fs.rmSync(part, { recursive: true, force: true });
  }
});

test('a checkpoint write that fails midway leaves no partial checkpoint and last_checkpoint unchanged', async () => {
  const dir = tmpDir();
  try {
    let calls = 0;
    // Writes a temporary file the way the real writer does, then "crashes" before the rename on the 3rd checkpoint.
    const crashing: SafetensorsWriter = (file, tensors, metadata) => {
      if (++calls < 3) return torch.saveSafetensors(file, tensors, metadata);
      const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-999999-abcdef12`);
      fs.writeFileSync(tmp, Buffer.from(torch.serializeSafetensors(tensors, metadata)).subarray(0, 100));
      throw new Error('simulated crash while writing');
    };
    await assert.rejects(train('toy/mlp_regression', dir, [], { checkpointWriter: crashing }), /simulated crash/);
    assert.deepEqual(listCheckpoints(dir).map((c) => path.basename(c.file)), ['epoch_1.safetensors', 'epoch_2.safetensors']);
    assert.equal(fs.readFileSync(path.join(dir, LAST_CHECKPOINT), 'utf8').trim(), 'epoch_2.safetensors');
    assert.equal(findLatestCheckpoint(dir), path.join(dir, 'epoch_2.safetensors'));
    // The leftover temporary file is not a checkpoint; auto-resume removes it (its pid is gone) and carries on.
    assert.ok(fs.readdirSync(dir).some((n) => n.includes('.tmp-999999-')));
    const resumed = await train('toy/mlp_regression', dir, [], { resume: true });
    assert.equal(resumed.train[0].iter, 17);
    assert.ok(!fs.readdirSync(dir).some((n) => n.includes('.tmp-')));
    assert.deepEqual(removeStaleTempFiles(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--load-from loads weights only; test() evaluates a checkpoint', async () => {
  const dir = tmpDir();
  try {
    await train('toy/mlp_regression', dir, []);
    const ckpt = path.join(dir, 'epoch_6.safetensors');
    // load-from: training restarts at iteration 1 from the trained weights, so its first loss is already low.
    const fresh = await train('toy/mlp_regression', path.join(dir, 'fresh'), ['train.maxEpochs=1', 'train.valInterval=0']);
    const warm = await train('toy/mlp_regression', path.join(dir, 'warm'), ['train.maxEpochs=1', 'train.valInterval=0', `loadFrom=${JSON.stringify(ckpt)}`]);
    assert.equal(warm.train[0].iter, 1);
    assert.ok(warm.train[0].loss < fresh.train[0].loss * 0.5, `${warm.train[0].loss} vs ${fresh.train[0].loss}`);
    const tester = buildRunner(resolveConfig('toy/mlp_regression', [`workDir=${JSON.stringify(path.join(dir, 'test'))}`]), { mode: 'test', quiet: true, metrics: ['mae'] });
    const { metrics, results } = await tester.test(ckpt);
    assert.deepEqual(Object.keys(metrics), ['mae']);
    assert.ok(metrics.mae < 1);
    assert.equal((results as unknown[]).length, 64);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--load-from / test with a checkpoint that matches no key of the model is an error, not a run with initial weights', async () => {
  const dir = tmpDir();
  try {
    const foreign = path.join(dir, 'resnet.safetensors');
    torch.tidy(() => torch.saveSafetensors(foreign, new Map([['fc.weight', torch.zeros([2, 2])], ['conv1.weight', torch.zeros([1])]]), {}));
    await assert.rejects(train('toy/mlp_regression', path.join(dir, 'w'), ['train.maxEpochs=1', 'train.valInterval=0', `loadFrom=${JSON.stringify(foreign)}`]),
      /resnet\.safetensors: none of its 2 keys \(conv1\.weight, fc\.weight\) is a key of the model .*model\.backbone\.initCfg/);
    const tester = buildRunner(resolveConfig('toy/mlp_regression', [`workDir=${JSON.stringify(path.join(dir, 'test'))}`]), { mode: 'test', quiet: true });
    await assert.rejects(tester.test(foreign), /none of its 2 keys/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('memory stays flat over thousands of iterations with a synchronous data source', async () => {
  // Wrappers' native finalizers run from the event loop: a loop that never lets it turn grows ~5 KB/iteration.
  // Sampled after a full GC: JavaScript garbage not yet collected grows the heap by ~2 KB/iteration
  // until V8 decides to collect (8 MB over these 4500 iterations; more on a loaded machine), which is
  // not retained memory. Native finalizers still run only when the loop turns, so a loop that never
  // lets it turn would still grow.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const dir = tmpDir();
  try {
    const rss: number[] = [];
    const sampler = {
      name: 'RssSampler',
      afterTrainIter: (runner: { progress: { iter: number } }) => {
        if (runner.progress.iter % 500 !== 0) return;
        gc();
        rss.push(process.memoryUsage().rss);
      },
    };
    await train('toy/mlp_regression', dir, ['data.trainSize=8192', 'train.maxEpochs=24', 'train.valInterval=0', 'hooks.logger.interval=1000', 'hooks.checkpoint.interval=0'], { hooks: [sampler] });
    const growthMb = (rss.at(-1)! - rss[2]) / 2 ** 20;
    assert.ok(growthMb < 12, `resident memory grew by ${growthMb.toFixed(1)} MB between iterations 1500 and ${rss.length * 500}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
