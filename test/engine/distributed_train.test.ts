/**
 * Distributed training through the real CLI and its launcher (`tsvision train --nproc-per-node 2`),
 * on the toy task:
 *   - 2 processes × batch 2 reach the parameters of 1 process × batch 4 (the averaged gradient of
 *     two means over 2 samples is the mean over the 4), and the validation metrics, computed on
 *     two unpadded shards and merged on rank 0, equal the single process's;
 *   - a rank killed with SIGKILL makes the other fail at once and the launcher exit 1 naming it;
 *     auto-resume then finishes with exactly the parameters of an uninterrupted 2-process run
 *     (every rank's RNG state is in the checkpoint; dropout is on);
 *   - launcher argument errors.
 */
import { glooTest as test } from '../distributed/gloo_test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { loadCheckpoint } from '../../src/engine';
import { shardIndices } from '../../src/data/samplers';
import { repoRoot } from '../helpers/paths';
import { freePort } from '../distributed/spawn';

const bin = path.join(repoRoot, 'bin', 'tsvision');
// One intra-op thread in every process: deterministic reductions.
const env: NodeJS.ProcessEnv = { ...process.env, TSVISION_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
for (const k of ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT']) delete env[k];

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Largest |a - b| over the model tensors of two checkpoints. */
function maxParamDiff(a: string, b: string): number {
  const ca = loadCheckpoint(a);
  const cb = loadCheckpoint(b);
  try {
    assert.deepEqual([...ca.model.keys()].sort(), [...cb.model.keys()].sort());
    let max = 0;
    for (const [k, t] of ca.model) max = Math.max(max, torch.tidy(() => t.sub(cb.model.get(k)!).abs().max().item()));
    return max;
  } finally {
    for (const c of [ca, cb]) torch.dispose([...c.model.values(), ...c.rngStates, ...Object.values(c.optimizer.state).flatMap((s) => Object.values(s))]);
  }
}

function valRecords(workDir: string): Record<string, number>[] {
  const runs = fs.readdirSync(workDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return runs.flatMap((r) => fs.readFileSync(path.join(workDir, r, 'scalars.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))).filter((r) => r.mode === 'val');
}

const tmp = (t: { after(fn: () => void): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-distrun-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};

test('the training shards cover the dataset exactly once per epoch (sizes divisible), validation shards exactly once (any size)', () => {
  for (const epoch of [0, 1, 5]) {
    const shards = [0, 1].map((rank) => shardIndices({ length: 64, shuffle: true, seed: 3, rank, worldSize: 2 }, epoch));
    assert.deepEqual([...shards[0], ...shards[1]].sort((a, b) => a - b), Array.from({ length: 64 }, (_, i) => i));
    // batch k of rank 0 and of rank 1 together are batch k of 4 of the single process
    const single = shardIndices({ length: 64, shuffle: true, seed: 3 }, epoch);
    for (let k = 0; k < 16; k++) assert.deepEqual([...shards[0].slice(2 * k, 2 * k + 2), ...shards[1].slice(2 * k, 2 * k + 2)].sort(), single.slice(4 * k, 4 * k + 4).sort());
  }
  const val = [0, 1, 2].map((rank) => shardIndices({ length: 10, shuffle: false, rank, worldSize: 3, pad: false }, 0));
  assert.deepEqual(val, [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]);
  // padded (training): every rank gets 4, the first two indices twice
  assert.deepEqual([0, 1, 2].map((rank) => shardIndices({ length: 10, shuffle: false, rank, worldSize: 3 }, 0).length), [4, 4, 4]);
});

test('2 processes × batch 2 = 1 process × batch 4: parameters within 1e-5 after 32 steps, same validation metrics', async (t) => {
  const dir = tmp(t);
  const common = ['--quiet', '--cfg-options', 'model.dropout=0', 'data.trainSize=64', 'train.maxEpochs=2', 'optimWrapper.optimizer.lr=0.005'];
  const one = cli(['train', 'toy/mlp_regression', '--work-dir', path.join(dir, 'one'), ...common, 'data.batchSize=4']);
  assert.equal(one.status, 0, one.stderr);
  const port = await freePort();
  const two = cli(['train', 'toy/mlp_regression', '--nproc-per-node', '2', '--master-port', String(port), '--work-dir', path.join(dir, 'two'), ...common, 'data.batchSize=2']);
  assert.equal(two.status, 0, two.stderr);
  assert.equal(two.stderr, '', '--quiet: nothing on the console');
  // rank 0 alone writes the run folder and the checkpoints (one run folder, one set of checkpoints)
  assert.equal(fs.readdirSync(path.join(dir, 'two')).filter((n) => /^\d{8}_\d{6}/.test(n)).length, 1);
  const ck = loadCheckpoint(path.join(dir, 'two', 'epoch_2.safetensors'));
  assert.equal(ck.meta.worldSize, 2);
  assert.equal(ck.rngStates.length, 2);
  assert.equal(ck.meta.iter, 32); // 64 samples / (2 × 2) per step × 2 epochs
  torch.dispose([...ck.model.values(), ...ck.rngStates, ...Object.values(ck.optimizer.state).flatMap((s) => Object.values(s))]);
  const diff = maxParamDiff(path.join(dir, 'one', 'epoch_2.safetensors'), path.join(dir, 'two', 'epoch_2.safetensors'));
  assert.ok(diff <= 1e-5, `max parameter difference ${diff}`);
  const [v1, v2] = [valRecords(path.join(dir, 'one')), valRecords(path.join(dir, 'two'))];
  assert.equal(v1.length, 1);
  assert.equal(v2.length, 1);
  // 64 validation samples on 2 unpadded shards, merged: the metrics of all 64 (the parameters differ by ~1e-7)
  for (const m of ['mse', 'mae']) assert.ok(Math.abs(v1[0][m] - v2[0][m]) <= 1e-5 * v1[0][m], `${m}: ${v1[0][m]} vs ${v2[0][m]}`);
});

test('a rank killed mid-training: the other fails at once, the launcher exits 1 naming it; auto-resume ends as an uninterrupted run', async (t) => {
  const dir = tmp(t);
  // 4096 samples, 2 ranks × 16: 128 iterations per epoch, 4 epochs, dropout on (per-rank RNG streams)
  const args = (workDir: string, port: number, ...extra: string[]) => ['train', 'toy/mlp_regression', '--nproc-per-node', '2', '--master-port', String(port), '--dist-timeout', '20', '--work-dir', workDir,
    ...extra, '--cfg-options', 'data.trainSize=4096', 'data.batchSize=16', 'train.maxEpochs=4', 'train.valInterval=2', 'hooks.logger.interval=1', 'optimWrapper.optimizer.lr=0.01'];
  const reference = path.join(dir, 'reference');
  const ref = cli(args(reference, await freePort(), '--quiet'));
  assert.equal(ref.status, 0, ref.stderr);

  const work = path.join(dir, 'killed');
  const launcher = spawn(process.execPath, [bin, ...args(work, await freePort())], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  launcher.stdout.on('data', (d) => { stdout += d; });
  launcher.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => launcher.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => { done = true; });
  // iteration 40 of epoch 3 (after the epoch_2 checkpoint)
  while (!done && !/Epoch\(train\) \[3\]\[ *40\/128\]/.test(stdout)) await new Promise((r) => setTimeout(r, 5));
  assert.ok(!done, `the run ended before it could be killed:\n${stderr}`);
  const pid = Number(/rank 1 \(local rank 1\): pid (\d+)/.exec(stderr)?.[1]);
  assert.ok(pid > 0, stderr);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  const code = await exited;
  const seconds = (Date.now() - killedAt) / 1000;
  assert.equal(code, 1, stderr);
  assert.match(stderr, /^tsvision train: launching 2 process\(es\) on node 0 of 1 \(world size 2, master 127\.0\.0\.1:\d+\)$/m);
  assert.ok(seconds < 20, `the launcher took ${seconds} s to exit after the kill (timeout 20 s)`);
  assert.match(stderr, /tsvision train: rank 1 \(local rank 1, pid \d+\) was killed by signal SIGKILL; stopped the other local processes/);
  // rank 0 saw the dead peer in its next collective and failed with a message naming itself and the cause
  assert.match(stderr, new RegExp(`\\[rank 0\\] tsvision: rank 0: .*failed: .*another rank died, failed or hung.*\\(rank 1, pid ${pid}: no longer running\\)`));
  assert.ok(fs.existsSync(path.join(work, 'epoch_2.safetensors')));
  assert.ok(!fs.existsSync(path.join(work, 'epoch_3.safetensors')));

  const resumed = cli(args(work, await freePort(), '--resume'));
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /Resumed from .*epoch_2\.safetensors \(epoch 2, iter 256\)/);
  assert.doesNotMatch(resumed.stdout, /Note: the checkpoint was saved by/);
  assert.equal(maxParamDiff(path.join(reference, 'epoch_4.safetensors'), path.join(work, 'epoch_4.safetensors')), 0);
  const [vr, vk] = [valRecords(reference), valRecords(work)];
  assert.deepEqual(vk.map((r) => [r.epoch, r.mse]), vr.map((r) => [r.epoch, r.mse]));
});

test('resuming a 2-process checkpoint in one process: a logged note, fresh seeds, the run completes', async (t) => {
  const dir = tmp(t);
  const work = path.join(dir, 'w');
  const common = ['--work-dir', work, '--cfg-options', 'data.trainSize=64', 'data.batchSize=4', 'train.valInterval=0'];
  const two = cli(['train', 'toy/mlp_regression', '--quiet', '--nproc-per-node', '2', '--master-port', String(await freePort()), ...common, 'train.maxEpochs=1']);
  assert.equal(two.status, 0, two.stderr);
  const one = cli(['train', 'toy/mlp_regression', '--resume', ...common, 'train.maxEpochs=2']);
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /Resumed from .*epoch_1\.safetensors \(epoch 1, iter 8\)/);
  assert.match(one.stdout, /Note: the checkpoint was saved by 2 process\(es\), this run has 1: fresh per-rank RNG seeds/);
  const ck = loadCheckpoint(path.join(work, 'epoch_2.safetensors'));
  assert.equal(ck.meta.iter, 8 + 16);
  assert.equal(ck.meta.worldSize, 1);
  torch.dispose([...ck.model.values(), ...ck.rngStates, ...Object.values(ck.optimizer.state).flatMap((s) => Object.values(s))]);
});

test('launcher argument errors: exit 2 and a one-line reason', () => {
  const cases: [string[], RegExp][] = [
    [['--nproc-per-node', '0'], /^tsvision train: --nproc-per-node expects an integer >= 1, got '0'$/],
    [['--nproc-per-node', 'two'], /^tsvision train: --nproc-per-node expects an integer >= 1, got 'two'$/],
    [['--nproc-per-node', '2', '--nnodes', '2', '--node-rank', '2'], /^tsvision train: --node-rank 2 must be less than --nnodes 2$/],
    [['--nproc-per-node', '2', '--nnodes', '2', '--node-rank', '1'], /^tsvision train: --master-addr is required on node 1 of 2/],
    [['--nproc-per-node', '2', '--master-port', '70000'], /^tsvision train: --master-port expects a port in \[1, 65535\], got '70000'$/],
    [['--nnodes', '2'], /^tsvision train: --nnodes needs --nproc-per-node/],
    [['--dist-timeout', '0'], /^tsvision train: --dist-timeout expects a number >= 0.001, got '0'$/],
  ];
  for (const [args, re] of cases) {
    const r = cli(['train', 'toy/mlp_regression', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim(), re, args.join(' '));
  }
  const help = cli(['train', '--help']);
  for (const flag of ['--nproc-per-node', '--nnodes', '--node-rank', '--master-addr', '--master-port', '--dist-timeout', 'WORLD_SIZE']) assert.ok(help.stdout.includes(flag), flag);
});

test('an external launcher: RANK / WORLD_SIZE / MASTER_* in the environment start a rank; WORLD_SIZE without RANK is an error', async (t) => {
  const dir = tmp(t);
  const r = spawnSync(process.execPath, [bin, 'train', 'toy/mlp_regression'], { encoding: 'utf8', env: { ...env, WORLD_SIZE: '2' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr.trim(), /^tsvision train: WORLD_SIZE is set but RANK is not/);
  const port = await freePort();
  const work = path.join(dir, 'w');
  const ranks = [0, 1].map((rank) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const p = spawn(process.execPath, [bin, 'train', 'toy/mlp_regression', '--work-dir', work, '--cfg-options', 'data.trainSize=64', 'train.maxEpochs=1', 'train.valInterval=1'],
      { env: { ...env, RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ code, out, err }));
  }));
  const [r0, r1] = await Promise.all(ranks);
  assert.equal(r0.code, 0, r0.err);
  assert.equal(r1.code, 0, r1.err);
  assert.match(r0.out, /Distributed: 2 processes/);
  assert.match(r0.out, /Epoch\(val\) \[1\]/);
  assert.equal(r1.out, '', 'rank 1 prints nothing');
  assert.ok(fs.existsSync(path.join(work, 'epoch_1.safetensors')));
});

test('Ctrl-C (SIGINT to the launcher) stops every local rank; the launcher exits 130', async (t) => {
  const dir = tmp(t);
  const launcher = spawn(process.execPath, [bin, 'train', 'toy/mlp_regression', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--work-dir', path.join(dir, 'w'),
    '--cfg-options', 'data.trainSize=40960', 'train.maxEpochs=10', 'hooks.logger.interval=1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  launcher.stdout.on('data', (d) => { stdout += d; });
  launcher.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => launcher.on('exit', (code) => resolve(code)));
  while (!/Iter|Epoch\(train\)/.test(stdout)) await new Promise((r) => setTimeout(r, 5));
  const pids = [...stderr.matchAll(/\(local rank \d\): pid (\d+)/g)].map((m) => Number(m[1]));
  assert.equal(pids.length, 2);
  launcher.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /tsvision train: interrupted \(SIGINT\); stopped all 2 local process\(es\)/);
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `rank process ${pid} is still running`);
});

test('tsvision test --nproc-per-node 2: each rank evaluates its share, rank 0 prints the metrics of one process and writes --out with every result', async (t) => {
  const dir = tmp(t);
  const work = path.join(dir, 'train');
  const trained = cli(['train', 'toy/mlp_regression', '--work-dir', work, '--quiet', '--cfg-options', 'train.maxEpochs=1', 'train.valInterval=0']);
  assert.equal(trained.status, 0, trained.stderr);
  const ckpt = path.join(work, 'epoch_1.safetensors');
  const one = cli(['test', 'toy/mlp_regression', ckpt, '--work-dir', path.join(dir, 'one'), '--json', '--out', path.join(dir, 'one.json')]);
  assert.equal(one.status, 0, one.stderr);
  const two = cli(['test', 'toy/mlp_regression', ckpt, '--work-dir', path.join(dir, 'two'), '--json', '--out', path.join(dir, 'two.json'), '--nproc-per-node', '2', '--master-port', String(await freePort())]);
  assert.equal(two.status, 0, two.stderr);
  const m1 = JSON.parse(one.stdout.trim().split('\n').at(-1)!), m2 = JSON.parse(two.stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1)!);
  assert.deepEqual(Object.keys(m2).sort(), Object.keys(m1).sort());
  for (const k of Object.keys(m1)) assert.ok(Math.abs(m1[k] - m2[k]) <= 1e-6 * Math.max(1, Math.abs(m1[k])), `${k}: ${m2[k]} (2 processes) vs ${m1[k]}`);
  // one printed metrics line (rank 0's), and the results file of every sample
  assert.equal(two.stdout.split('\n').filter((l) => l.startsWith('{')).length, 1);
  const r1 = JSON.parse(fs.readFileSync(path.join(dir, 'one.json'), 'utf8')), r2 = JSON.parse(fs.readFileSync(path.join(dir, 'two.json'), 'utf8'));
  assert.ok(Array.isArray(r1) && r1.length > 0);
  assert.equal(r2.length, r1.length);
});

test('a rank that hangs (SIGSTOP): the other fails after --dist-timeout, never naming itself as behind; the launcher exits 1', async (t) => {
  const dir = tmp(t);
  const timeoutS = 4;
  const launcher = spawn(process.execPath, [bin, 'train', 'toy/mlp_regression', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--dist-timeout', String(timeoutS),
    '--work-dir', path.join(dir, 'w'), '--cfg-options', 'data.trainSize=4096', 'data.batchSize=16', 'train.maxEpochs=4', 'train.valInterval=0', 'hooks.logger.interval=1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  launcher.stdout.on('data', (d) => { stdout += d; });
  launcher.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => launcher.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => { done = true; });
  while (!done && !/Epoch\(train\) \[1\]\[ *20\/128\]/.test(stdout)) await new Promise((r) => setTimeout(r, 5));
  assert.ok(!done, `the run ended before rank 1 could be stopped:\n${stderr}`);
  const pid = Number(/rank 1 \(local rank 1\): pid (\d+)/.exec(stderr)?.[1]);
  assert.ok(pid > 0, stderr);
  const stoppedAt = Date.now();
  process.kill(pid, 'SIGSTOP');
  let reportedAt = 0;
  launcher.stderr.on('data', () => { if (!reportedAt && /\[rank 0\] tsvision: rank 0: /.test(stderr)) reportedAt = Date.now(); });
  try {
    const code = await exited;
    const seconds = (Date.now() - stoppedAt) / 1000;
    const reported = (reportedAt - stoppedAt) / 1000;
    t.diagnostic(`rank 0 reported the failure ${reported} s after the stop, the launcher exited after ${seconds} s`);
    assert.equal(code, 1, stderr);
    // rank 0's gradient allreduce times out after timeoutS, but Gloo runs a group's works one after the
    // other: each bucket still queued waits its own timeout (the toy model has up to 2 buckets)
    assert.ok(reportedAt > 0 && reported >= timeoutS - 0.5 && reported < 2 * timeoutS + 3, `rank 0 reported ${reported} s after the stop (timeout ${timeoutS} s):\n${stderr.slice(-1500)}`);
    // then the launcher stops rank 1: 3 s for it to fail by itself, SIGTERM (held while it is stopped), SIGKILL 5 s later
    assert.ok(seconds < reported + 10, `the launcher exited ${seconds - reported} s after rank 0's report:\n${stderr.slice(-1500)}`);
    assert.match(stderr, /\[rank 0\] tsvision: rank 0: iteration \d+: .*another rank died, failed or hung; collectives time out after 4 s/);
    // when rank 0 can tell (rank 1 stopped in an earlier phase), it names rank 1; it never names itself
    assert.doesNotMatch(stderr, /rank 0 is behind/);
    const named = /rank 1 is behind, at iteration \d+ \((data|forward|backward|step|hooks)\)/.test(stderr);
    t.diagnostic(`rank 1 named as behind: ${named}`);
  } finally {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
});
