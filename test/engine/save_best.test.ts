/** hooks.checkpoint.saveBest / rule (MMEngine's save_best): the best validation's checkpoint, kept across a resume. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { resolveConfig } from '../../src/config';
import { buildRunner, loadCheckpoint, type BuildRunnerOptions } from '../../src/engine';

torch.setNumThreads(1);

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-best-'));

async function train(workDir: string, overrides: string[], opts: Partial<BuildRunnerOptions> = {}) {
  const loaded = resolveConfig('toy/mlp_regression', [`workDir=${JSON.stringify(workDir)}`, ...overrides]);
  const runner = buildRunner(loaded, { mode: 'train', quiet: true, ...opts });
  await runner.train();
  const lines = fs.readFileSync(path.join(runner.runDir!, 'scalars.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return { runner, val: lines.filter((r) => r.mode === 'val') as { epoch: number; mse: number; mae: number }[] };
}

const bestFiles = (dir: string) => fs.readdirSync(dir).filter((n) => n.startsWith('best_') && n.endsWith('.safetensors')).sort();

test("saveBest 'mse' with rule 'less' keeps exactly the checkpoint of the lowest validation mse", async () => {
  const dir = tmpDir();
  try {
    const { val } = await train(dir, ['hooks.checkpoint.saveBest="mse"', 'hooks.checkpoint.rule="less"']);
    assert.deepEqual(val.map((v) => v.epoch), [2, 4, 6]);
    const best = val.reduce((a, b) => (b.mse < a.mse ? b : a));
    assert.deepEqual(bestFiles(dir), [`best_mse_epoch_${best.epoch}.safetensors`]);
    const rec = JSON.parse(fs.readFileSync(path.join(dir, 'best_checkpoint.json'), 'utf8'));
    assert.deepEqual(rec, { key: 'mse', rule: 'less', score: best.mse, file: `best_mse_epoch_${best.epoch}.safetensors` });
    const ck = loadCheckpoint(path.join(dir, rec.file));
    assert.equal(ck.meta.epoch, best.epoch);
    torch.dispose([...ck.model.values(), ck.rngState, ...Object.values(ck.optimizer.state).flatMap((s) => Object.values(s))]);
    // the best is not the newest checkpoint auto-resume starts from
    assert.equal(fs.readFileSync(path.join(dir, 'last_checkpoint'), 'utf8').trim(), 'epoch_6.safetensors');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("'auto' takes the first metric; a resumed run continues the best record instead of starting afresh", async () => {
  const dir = tmpDir();
  try {
    // rule 'greater' on mse makes the worst (first, the loss falls) validation the best: epoch 2
    const a = await train(dir, ['hooks.checkpoint.saveBest="auto"', 'hooks.checkpoint.rule="greater"', 'train.maxEpochs=4']);
    assert.deepEqual(a.val.map((v) => v.epoch), [2, 4]);
    assert.ok(a.val[0].mse > a.val[1].mse, `val mse should fall: ${a.val.map((v) => v.mse)}`);
    assert.deepEqual(bestFiles(dir), ['best_mse_epoch_2.safetensors']);
    const b = await train(dir, ['hooks.checkpoint.saveBest="auto"', 'hooks.checkpoint.rule="greater"'], { resume: true });
    assert.deepEqual(b.val.map((v) => v.epoch), [6]);
    assert.ok(b.val[0].mse < a.val[0].mse);
    // without the record, epoch 6 would be the resumed run's first (so best) validation
    assert.deepEqual(bestFiles(dir), ['best_mse_epoch_2.safetensors']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a rule that cannot be inferred, a bad rule and an unknown metric are errors naming the key', async () => {
  const dir = tmpDir();
  try {
    assert.throws(() => buildRunner(resolveConfig('toy/mlp_regression', [`workDir=${JSON.stringify(dir)}`, 'hooks.checkpoint.saveBest="mse"']), { mode: 'train', quiet: true }),
      /hooks\.checkpoint\.saveBest: cannot infer whether a greater or a smaller 'mse' is better; set hooks\.checkpoint\.rule/);
    assert.throws(() => buildRunner(resolveConfig('toy/mlp_regression', [`workDir=${JSON.stringify(dir)}`, 'hooks.checkpoint.saveBest="mse"', 'hooks.checkpoint.rule="more"']), { mode: 'train', quiet: true }),
      /hooks\.checkpoint\.rule/);
    await assert.rejects(train(dir, ['hooks.checkpoint.saveBest="mAP"']), /hooks\.checkpoint\.saveBest: the evaluation gave no 'mAP' \(it gave mse, mae\)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
