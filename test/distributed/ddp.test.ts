/**
 * Data-parallel equivalence: 2 processes × 2 samples, with broadcastParameters at the start (the
 * ranks begin from different random weights) and allreduceGradients after each backward, reach the
 * same parameters after 3 SGD steps as 1 process × 4 samples (the mean loss over the batch), with
 * one bucket and with buckets of 256 bytes (many buckets, a tensor larger than a bucket); a parameter
 * unused in the forward stays as it was on every rank.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, runRank, runRanks } from './spawn';

function paramsOf(run: { code: number | null; results: Record<string, unknown>[]; stderr: string }, who: string): number[][] {
  assert.equal(run.code, 0, `${who} exit code (stderr: ${run.stderr.slice(-2000)})`);
  assert.equal(run.results.length, 1, `${who} results`);
  return run.results[0].params as number[][];
}

for (const bucketBytes of [undefined, 256]) {
  test(`2 ranks x 2 samples = 1 process x 4 samples after 3 steps (bucketBytes ${bucketBytes ?? 'default'})`, async () => {
    const ref = paramsOf(await runRank({ scenario: 'ddp', initMethod: 'env://', rank: 0, worldSize: 1, timeoutMs: 30_000 }), 'single process');
    const port = await freePort();
    const runs = await runRanks(2, { scenario: 'ddp', initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 30_000, bucketBytes });
    const ranks = runs.map((r, i) => paramsOf(r, `rank ${i}`));
    assert.equal(ref.length, 6); // conv weight, bias; fc weight, bias; unused weight, bias
    for (const [r, params] of ranks.entries()) {
      assert.equal(params.length, ref.length);
      params.forEach((p, i) => {
        assert.equal(p.length, ref[i].length);
        let worst = 0;
        p.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - ref[i][j])); });
        assert.ok(worst <= 1e-5, `rank ${r} parameter ${i}: max |Δ| ${worst} from the single process's`);
      });
    }
    // the ranks agree exactly with each other; they started from the same (rank 0's) weights;
    // training moved the used parameters and left the unused ones
    assert.deepEqual(ranks[0], ranks[1]);
    const inits = runs.map((r) => r.results[0].init as number[][]);
    assert.deepEqual(inits[0], inits[1]);
    for (let i = 0; i < 4; i++) assert.notDeepEqual(ranks[0][i], inits[0][i], `parameter ${i} did not move`);
    for (let i = 4; i < 6; i++) assert.deepEqual(ranks[0][i], inits[0][i], `unused parameter ${i} moved`);
  });
}
