/**
 * Issue 14, item 5: a checkpoint whose metadata is not what saveCheckpoint writes is an Error
 * naming the file and the key (not "Cannot read properties of undefined"), and a failed
 * train/test attempt leaves no empty run folder (nor a work dir it created) behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { resolveConfig } from '../../src/config';
import { buildRunner, loadCheckpoint, type Hook } from '../../src/engine';

torch.setNumThreads(1);

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-resume-'));
}

/** A safetensors file with an rng_state tensor and `tsvision` metadata `meta`. */
function writeCheckpoint(file: string, meta: string): void {
  const rng = torch.getRngState();
  try {
    torch.saveSafetensors(file, new Map([['rng_state', rng]]), { tsvision: meta });
  } finally {
    rng.dispose();
  }
}

const goodMeta = {
  format: 'tsvision-checkpoint/1', epoch: 1, iter: 8, innerIter: 0, configName: 'toy/mlp_regression', config: {},
  optimizer: { paramGroups: [{ params: [0, 1], lr: 0.1 }], numbers: {} }, schedulers: [], savedAt: '2026-01-01T00:00:00.000Z',
};

test('loadCheckpoint: malformed metadata is an Error naming the file, the key and what was expected', () => {
  const dir = tmpDir();
  try {
    const file = path.join(dir, 'ck.safetensors');
    const cases: [string, RegExp][] = [
      ['{}', /'tsvision\.format' is missing: expected "tsvision-checkpoint\/1"/],
      ['not json', /'tsvision' is not valid JSON/],
      ['[1]', /'tsvision' is \[1\]: expected an object/],
      [JSON.stringify({ ...goodMeta, optimizer: undefined }), /'tsvision\.optimizer' is missing: expected an object/],
      [JSON.stringify({ ...goodMeta, optimizer: { paramGroups: [] } }), /'tsvision\.optimizer\.numbers' is missing/],
      [JSON.stringify({ ...goodMeta, epoch: -1 }), /'tsvision\.epoch' is -1: expected an integer >= 0/],
      [JSON.stringify({ ...goodMeta, iter: '8' }), /'tsvision\.iter' is "8": expected an integer >= 0/],
      [JSON.stringify({ ...goodMeta, schedulers: [{ type: 'LinearLR', lastStep: 1, globalStep: 1, baseValues: ['x'], lastValue: [] }] }),
        /'tsvision\.schedulers\.0\.baseValues' is \["x"\]: expected an array of finite numbers/],
      [JSON.stringify({ ...goodMeta, optimizer: { paramGroups: [{ lr: 1 }], numbers: {} } }), /'tsvision\.optimizer\.paramGroups\.0\.params' is missing/],
    ];
    for (const [meta, message] of cases) {
      writeCheckpoint(file, meta);
      assert.throws(() => loadCheckpoint(file), (e: Error) => {
        assert.ok(e.message.startsWith(`${file}: `), e.message);
        assert.match(e.message, message);
        assert.doesNotMatch(e.message, /Cannot read properties/);
        return true;
      }, meta);
    }
    // the well-formed metadata loads
    writeCheckpoint(file, JSON.stringify(goodMeta));
    const ck = loadCheckpoint(file);
    assert.equal(ck.meta.iter, 8);
    ck.rngState.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('resume from a checkpoint with metadata {}: a clear error, and no run folder or work dir left behind', async () => {
  const dir = tmpDir();
  try {
    const ckpt = path.join(dir, 'empty_meta.safetensors');
    writeCheckpoint(ckpt, '{}');
    const work = path.join(dir, 'nested', 'work');
    const runner = buildRunner(resolveConfig('toy/mlp_regression', [`workDir=${JSON.stringify(work)}`]), { mode: 'train', quiet: true, resume: ckpt });
    await assert.rejects(runner.train(), (e: Error) => {
      assert.match(e.message, /empty_meta\.safetensors: checkpoint metadata 'tsvision\.format' is missing/);
      return true;
    });
    assert.deepEqual(fs.readdirSync(dir), ['empty_meta.safetensors'], 'the work dir this attempt created is removed');

    // a work dir that existed is kept (with what else it holds); only the attempt's run folder goes
    fs.mkdirSync(work, { recursive: true });
    fs.writeFileSync(path.join(work, 'notes.txt'), 'mine');
    const again = buildRunner(resolveConfig('toy/mlp_regression', [`workDir=${JSON.stringify(work)}`]), { mode: 'train', quiet: true, resume: ckpt });
    await assert.rejects(again.train(), /tsvision\.format/);
    assert.deepEqual(fs.readdirSync(work), ['notes.txt']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed test (checkpoint that matches nothing) leaves no run folder behind', async () => {
  const dir = tmpDir();
  try {
    const ckpt = path.join(dir, 'unrelated.safetensors');
    writeCheckpoint(ckpt, '{}');
    const work = path.join(dir, 'test');
    fs.mkdirSync(work);
    const tester = buildRunner(resolveConfig('toy/mlp_regression', [`workDir=${JSON.stringify(work)}`]), { mode: 'test', quiet: true });
    await assert.rejects(tester.test(ckpt), /none of its 1 keys/);
    assert.deepEqual(fs.readdirSync(work), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a run that failed after logging keeps its run folder, with the error at the end of run.log', async () => {
  const dir = tmpDir();
  try {
    const boom: Hook = {
      name: 'Boom',
      afterTrainIter(runner) {
        if (runner.progress.iter === 3) throw new Error('boom at iter 3');
      },
    };
    const runner = buildRunner(resolveConfig('toy/mlp_regression', [`workDir=${JSON.stringify(dir)}`, 'hooks.logger.interval=1']), { mode: 'train', quiet: true, hooks: [boom] });
    await assert.rejects(runner.train(), /boom at iter 3/);
    const runs = fs.readdirSync(dir).filter((n) => /^\d{8}_\d{6}/.test(n));
    assert.equal(runs.length, 1);
    const log = fs.readFileSync(path.join(dir, runs[0], 'run.log'), 'utf8').trim().split('\n');
    assert.equal(log.at(-1), 'Failed: boom at iter 3');
    assert.ok(fs.statSync(path.join(dir, runs[0], 'scalars.jsonl')).size > 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('training data without batches: an error before or at the first epoch, and nothing left behind', async () => {
  for (const source of [{ length: 0, epoch: () => [] }, { epoch: () => [] }]) {
    const dir = tmpDir();
    try {
      const work = path.join(dir, 'work');
      const loaded = resolveConfig('toy/mlp_regression', [`workDir=${JSON.stringify(work)}`]);
      const task = { ...loaded.task, buildTrainData: () => source };
      const runner = buildRunner({ ...loaded, task }, { mode: 'train', quiet: true });
      await assert.rejects(runner.train(), /no batches/);
      assert.deepEqual(fs.readdirSync(dir), [], JSON.stringify(Object.keys(source)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});
