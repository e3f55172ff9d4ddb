/**
 * c10d Gloo collectives across child processes on loopback: tcp:// (2 ranks), file:// (3 ranks)
 * and env:// (2 ranks, as torchrun sets the variables). Each rank checks nothing itself: it
 * prints its results and this file compares them with hand-computed values.
 */
import { glooTest as test } from './gloo_test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, runRanks, type RankRun } from './spawn';

function expectCollectives(runs: RankRun[], n: number): void {
  const tri = (n * (n + 1)) / 2;
  runs.forEach((run, r) => {
    assert.equal(run.code, 0, `rank ${r} exit code (stderr: ${run.stderr.slice(-2000)})`);
    assert.equal(run.results.length, 1, `rank ${r} results`);
    const got = run.results[0];
    assert.equal(got.rank, r);
    assert.equal(got.worldSize, n);
    assert.deepEqual(got.sum, [tri, 10 * tri, -(n * (n - 1)) / 2], `rank ${r} allreduce sum`);
    assert.deepEqual(got.avg, [(n + 1) / 2, n - 1], `rank ${r} allreduce avg`);
    assert.deepEqual(got.max, [n - 1, 0], `rank ${r} allreduce max`);
    assert.deepEqual(got.broadcast, [7, 7, 7, 7], `rank ${r} broadcast from rank 1`);
    assert.equal(got.broadcastCompleted, true);
    assert.deepEqual(got.allgather, Array.from({ length: n }, (_, k) => [k, 100 * k]), `rank ${r} allgather (rank order)`);
    assert.deepEqual(got.reduceScatter, [(r + 1) * tri, (r + 1) * tri], `rank ${r} reduceScatter`);
  });
}

test('tcp://: 2 ranks: allreduce (sum, avg, max), broadcast from rank 1, allgather, reduceScatter, barrier', async () => {
  const port = await freePort();
  const runs = await runRanks(2, { scenario: 'collectives', initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 30_000 });
  expectCollectives(runs, 2);
});

test('file://: 3 ranks over a FileStore in a temp dir', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-dist-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const runs = await runRanks(3, { scenario: 'collectives', initMethod: `file://${path.join(dir, 'store')}`, timeoutMs: 30_000, device: { hostname: '127.0.0.1' } });
  expectCollectives(runs, 3);
});

test('env://: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE as torchrun sets them', async () => {
  const port = await freePort();
  const env = (rank: number) => ({ MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: String(rank), WORLD_SIZE: '2' });
  // rank and worldSize come from the environment only
  const runs = await runRanks(2, { scenario: 'collectives', initMethod: 'env://', timeoutMs: 30_000, rank: undefined, worldSize: undefined }, env);
  expectCollectives(runs, 2);
});
