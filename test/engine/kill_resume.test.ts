/**
 * Crash safety: `tsvision train` killed with SIGKILL in the middle of training, then
 * `tsvision train --resume` (auto-resume from the work dir): training continues from the
 * last complete checkpoint and the losses after it equal those of an uninterrupted run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findLatestCheckpoint, listCheckpoints, loadCheckpoint } from '../../src/engine';
import * as torch from '../../src/torch';
import { repoRoot } from '../helpers/paths';

const bin = path.join(repoRoot, 'bin', 'tsvision');
// 128 iterations per epoch, 12 epochs: long enough (a few seconds) to be killed in the middle.
const ARGS = ['train', 'toy/mlp_regression', '--seed', '0', '--quiet', '--cfg-options', 'data.trainSize=4096', 'train.maxEpochs=12', 'train.valInterval=3', 'hooks.logger.interval=1'];
// One intra-op thread: deterministic reductions, so losses can be compared exactly.
const env = { ...process.env, TSVISION_NUM_THREADS: '1' };

type Rec = Record<string, number | string>;

/** The train and val records of every run folder in a work dir, in run order. */
function records(workDir: string): Rec[][] {
  return fs.readdirSync(workDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((run) => fs.readFileSync(path.join(workDir, run, 'scalars.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

/** What must match between runs (not times, memory or ETA). */
const key = (r: Rec) => JSON.stringify([r.mode, r.iter, r.lr, r.loss, r.loss_mse, r.mae, r.grad_norm, r.mse]);

function runToEnd(workDir: string, extra: string[] = []): void {
  const r = spawnSync(process.execPath, [bin, ...ARGS, '--work-dir', workDir, ...extra], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `tsvision train failed:\n${r.stderr}`);
}

test('kill -9 during training, then auto-resume: the losses equal an uninterrupted run', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-kill-'));
  try {
    const reference = path.join(dir, 'reference');
    runToEnd(reference);
    const [full] = records(reference);

    // Start the same run and SIGKILL it once its 3rd epoch checkpoint exists (it is then inside epoch 4).
    const work = path.join(dir, 'killed');
    const child = spawn(process.execPath, [bin, ...ARGS, '--work-dir', work], { env, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let done = false;
    void exited.then(() => { done = true; });
    while (!done && !fs.existsSync(path.join(work, 'epoch_3.safetensors'))) await new Promise((r) => setTimeout(r, 2));
    assert.ok(!done, 'the run finished before it could be killed');
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    // Every checkpoint file present is complete (it loads), whatever instant the kill hit.
    const ckpts = listCheckpoints(work);
    assert.ok(ckpts.length >= 1);
    for (const c of ckpts) {
      const ck = loadCheckpoint(c.file);
      torch.dispose([...ck.model.values(), ck.rngState, ...Object.values(ck.optimizer.state).flatMap((s) => Object.values(s))]);
    }
    const latest = findLatestCheckpoint(work)!;
    const resumeIter = loadCheckpoint(latest);
    const startIter = resumeIter.meta.iter;
    torch.dispose([...resumeIter.model.values(), resumeIter.rngState, ...Object.values(resumeIter.optimizer.state).flatMap((s) => Object.values(s))]);
    // epoch_3, or epoch_2 when the kill came between epoch_3's rename and the last_checkpoint update.
    assert.ok(startIter >= 2 * 128 && startIter < 12 * 128, `resume point ${startIter}`);

    runToEnd(work, ['--resume']);
    const [killed, resumed] = records(work);
    // Before the kill: the same values as the reference (same seed, same config).
    assert.ok(killed.length >= 3 * 128);
    assert.deepEqual(killed.map(key), full.slice(0, killed.length).map(key));
    // After the resume: starts right after the checkpoint and matches the reference to the end, validation included.
    assert.equal(resumed[0].iter, startIter + 1);
    const rest = full.filter((r) => (r.iter as number) > startIter);
    assert.deepEqual(resumed.map(key), rest.map(key));
    assert.equal(resumed.at(-1)!.mode, 'val');
    assert.equal(resumed.filter((r) => r.mode === 'train').at(-1)!.iter, 12 * 128);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
