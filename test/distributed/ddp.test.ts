/**
 * Data-parallel equivalence: 2 processes × 2 samples, with the ranks' parameters taken from rank 0
 * at the start (the ranks begin from different random weights) and gradients averaged across
 * ranks, reach the same parameters after 3 SGD steps as 1 process × 4 samples (the mean loss over
 * the batch), with one bucket and with buckets of 256 bytes (many buckets, a tensor larger than a
 * bucket); a parameter unused in the forward stays as it was on every rank. Averaged after backward
 * by allreduceGradients, or during backward by DistributedDataParallel (libtorch's c10d::Reducer),
 * whose bucket timeline shows its allreduces starting before backward has computed every gradient.
 * Then DistributedDataParallel's unused parameters against hand values, and its errors.
 */
import { glooTest as test } from './gloo_test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { DistributedDataParallel, destroyProcessGroup, initProcessGroup, type CommStats, type ProcessGroup } from '../../src/distributed';
import { c10d } from '../../src/distributed/store';
import { Linear, Module } from '../../src/nn';
import { freePort, runRank, runRanks, type RankRun } from './spawn';

function resultOf(run: RankRun, who: string): Record<string, unknown> {
  assert.equal(run.code, 0, `${who} exit code (signal ${run.signal}; stderr: ${run.stderr.slice(-2000)})`);
  assert.equal(run.results.length, 1, `${who} results`);
  return run.results[0];
}

for (const reducer of [false, true]) {
  for (const bucketBytes of [undefined, 256]) {
    const how = reducer ? 'DistributedDataParallel' : 'allreduceGradients';
    test(`${how}: 2 ranks x 2 samples = 1 process x 4 samples after 3 steps (bucketBytes ${bucketBytes ?? 'default'})`, async () => {
      const ref = resultOf(await runRank({ scenario: 'ddp', initMethod: 'env://', rank: 0, worldSize: 1, timeoutMs: 30_000 }), 'single process').params as number[][];
      const port = await freePort();
      const runs = await runRanks(2, { scenario: 'ddp', initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 30_000, bucketBytes, reducer });
      const results = runs.map((r, i) => resultOf(r, `rank ${i}`));
      const ranks = results.map((r) => r.params as number[][]);
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
      const inits = results.map((r) => r.init as number[][]);
      assert.deepEqual(inits[0], inits[1]);
      for (let i = 0; i < 4; i++) assert.notDeepEqual(ranks[0][i], inits[0][i], `parameter ${i} did not move`);
      for (let i = 4; i < 6; i++) assert.deepEqual(ranks[0][i], inits[0][i], `unused parameter ${i} moved`);
      if (reducer) checkTimeline(results.map((r) => r.comm as CommStats[]), bucketBytes);
    });
  }
}

/**
 * The Reducer's buckets per step. Parameters in registration order: conv weight (432 bytes), conv
 * bias (16), fc weight (2880), fc bias (20). Default buckets: one, launched when its last gradient
 * arrives. 256-byte buckets: the first step's assignment is DDP's (in parameter order, closed once
 * past the cap: [conv.w] [conv.b, fc.w] [fc.b], reduced in reverse), so 3 buckets; later steps use
 * the order the gradients came in (rebuilt), at least 2. Every gradient is none before backward
 * (the worker zeroes them that way), so gradsPending > 0 at the first launch means the allreduce
 * started while backward still had gradients to compute: allreduces run only after backward would
 * launch with gradsPending 0, after backward's end.
 */
function checkTimeline(comm: CommStats[][], bucketBytes: number | undefined): void {
  for (const [r, steps] of comm.entries()) {
    assert.equal(steps.length, 3, `rank ${r}: one CommStats per step`);
    steps.forEach((s, step) => {
      const where = `rank ${r} step ${step}`;
      assert.equal(s.timeline.length, s.buckets);
      if (bucketBytes === undefined) assert.equal(s.buckets, 1, where);
      else if (step === 0) assert.equal(s.buckets, 3, where);
      else assert.ok(s.buckets >= 2, `${where}: ${s.buckets} buckets`);
      assert.deepEqual(s.timeline.map((b) => b.bucket), s.timeline.map((_, i) => i), `${where}: buckets are launched in order`);
      for (const b of s.timeline) {
        assert.ok(b.doneMs !== undefined && b.doneMs >= b.launchMs, `${where}: bucket ${b.bucket} completed after its launch`);
      }
      assert.equal(s.timeline.at(-1)!.gradsPending, 0, `${where}: the last bucket waits for every gradient`);
      assert.ok(s.backwardEndMs !== undefined && s.waitMs !== undefined && s.waitMs >= 0, `${where}: backward's end and the wait were measured`);
      assert.ok(s.allreduceMs > 0);
      if (bucketBytes !== undefined) {
        const first = s.timeline[0];
        assert.ok(first.gradsPending > 0, `${where}: the first bucket was launched with every gradient computed (no overlap)`);
        assert.ok(first.launchMs < s.backwardEndMs!, `${where}: first launch ${first.launchMs} ms not before backward's end ${s.backwardEndMs} ms`);
      }
    });
  }
}

test('DistributedDataParallel findUnusedParameters: used on one rank only / on no rank, against hand values; buffers from rank 0', async () => {
  const port = await freePort();
  const runs = await runRanks(2, { scenario: 'ddp-unused', initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 30_000, bucketBytes: 8 });
  // d sum(W x + b) / dW = x, / db = 1; x = [1, 2] on rank 0, [3, 5] on rank 1. Averages over 2
  // ranks: a (used everywhere) [2, 3.5], [1]; b used on rank 0 only (step 0): [0.5, 1], [0.5];
  // on rank 1 only (step 1): [1.5, 2.5], [0.5]; on no rank (step 2): each rank's gradient as it
  // was before ([10, 0], [7] and [20, 0], [8]); c (never used) keeps none.
  const a = { 'a.weight': [2, 3.5], 'a.bias': [1] };
  const c = { 'c.weight': null, 'c.bias': null };
  runs.forEach((run, r) => {
    const { grads, buffers } = resultOf(run, `rank ${r}`);
    assert.deepEqual(buffers, [10, 20], `rank ${r}: rank 0's buffer after the constructor and after syncBuffers`);
    assert.deepEqual(grads, [
      { ...a, 'b.weight': [0.5, 1], 'b.bias': [0.5], ...c },
      { ...a, 'b.weight': [1.5, 2.5], 'b.bias': [0.5], ...c },
      { ...a, 'b.weight': [10 * (r + 1), 0], 'b.bias': [r + 7], ...c },
    ]);
  });
});

test('DistributedDataParallel without findUnusedParameters: a parameter unused everywhere makes the next prepareForBackward throw, naming it', async () => {
  const port = await freePort();
  const runs = await runRanks(2, { scenario: 'ddp-unused-error', initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 30_000 });
  runs.forEach((run, r) => {
    const out = resultOf(run, `rank ${r}`);
    // the one bucket never completed: a's gradient is this rank's own x, not the average [2, 3.5]
    assert.deepEqual(out.gradAfterStep0, r === 0 ? [1, 2] : [3, 5]);
    assert.match(out.step1 as string, /^DistributedDataParallel\.prepareForBackward: the previous iteration's gradient reduction did not finish \(its gradients were not averaged\): parameters that got no gradient on this rank: c\.weight, c\.bias; .*findUnusedParameters: true/);
  });
});

test('DistributedDataParallel: ranks whose parameters differ in shape all throw at construction', async () => {
  const port = await freePort();
  const runs = await runRanks(2, { scenario: 'ddp-mismatch', initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 30_000 });
  const [r0, r1] = runs.map((run, r) => resultOf(run, `rank ${r}`).error as string);
  assert.match(r1, /^reducerNew: \[1\]: params\[0\] in this process with sizes \[3, 2\] appears not to match sizes of the same param in process 0/);
  assert.match(r0, /^DistributedDataParallel: another rank could not build its Reducer/);
});

class Two extends Module {
  readonly a = this.registerModule('a', new Linear(2, 1));
  readonly frozen = this.registerModule('frozen', new Linear(2, 1));
}

test('DistributedDataParallel in a one-rank group: gradients as computed, argument errors name the argument', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-ddp1-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pg: ProcessGroup = initProcessGroup({ initMethod: `file://${path.join(dir, 'store')}`, rank: 0, worldSize: 1, timeoutMs: 10_000, device: { hostname: '127.0.0.1' } });
  const net = new Two();
  for (const p of net.frozen.parameters()) p.requiresGrad = false;
  try {
    const fn = 'DistributedDataParallel';
    assert.throws(() => new DistributedDataParallel(net, pg, { bucketBytes: 0 }), { name: 'RangeError', message: `${fn}: bucketBytes should be a positive integer (bytes), got 0` });
    assert.throws(() => new DistributedDataParallel(net, pg, { firstBucketBytes: 1.5 }), /DistributedDataParallel: firstBucketBytes should be a positive integer \(bytes\), got 1\.5/);
    assert.throws(() => new DistributedDataParallel(net, pg, { findUnusedParameters: 'yes' as unknown as boolean }), /DistributedDataParallel: findUnusedParameters should be a boolean, got 'yes'/);
    assert.throws(() => new DistributedDataParallel({} as Module, pg), /DistributedDataParallel: module should be a Module, got an object/);
    assert.throws(() => new DistributedDataParallel(net, null as unknown as ProcessGroup), /DistributedDataParallel: pg should be a ProcessGroup, got null/);
    assert.throws(() => new DistributedDataParallel(net.frozen, pg), /DistributedDataParallel: the module has no parameter that requires grad/);
    // the native checks (reached only through the binding's own entry point)
    const x = torch.zeros([2]);
    const w = net.a.getParameter('weight')!;
    assert.throws(() => c10d().reducerNew(pg.live('t'), [x._h], ['x'], 1024, 1024, false), /reducerNew: parameter 0 \('x'\) should be a leaf tensor that requires grad/);
    assert.throws(() => c10d().reducerNew(pg.live('t'), [w._h, w._h], ['w', 'v'], 1024, 1024, false), /reducerNew: parameter 1 \('v'\) appears twice/);
    assert.throws(() => c10d().reducerNew(pg.live('t'), [w._h], [], 1024, 1024, false), /reducerNew: names should hold one name per parameter/);
    assert.throws(() => c10d().reducerNew(pg.live('t'), [w._h], ['w'], 0, 1024, false), /reducerNew: bucketBytes should be an integer in \[1, /);

    const ddp = new DistributedDataParallel(net, pg, { findUnusedParameters: true });
    assert.deepEqual(ddp.params, [...net.a.parameters()], 'only the parameters that require grad');
    const input = torch.tensor([[1, 2]]);
    assert.throws(() => ddp.prepareForBackward(), /DistributedDataParallel\.prepareForBackward: outputs should be the forward's outputs with findUnusedParameters/);
    assert.throws(() => ddp.prepareForBackward([1 as unknown as torch.Tensor]), /DistributedDataParallel\.prepareForBackward: outputs\[0\] should be a Tensor, got 1/);
    torch.tidy(() => {
      const loss = net.a.forward(input).sum().add(net.frozen.forward(input).sum());
      ddp.prepareForBackward([loss]);
      loss.backward();
    });
    // the average over one rank: the gradient itself (d sum(W x + b) / dW = x)
    assert.deepEqual(Array.from(w.grad!.toTypedArray() as Float32Array), [1, 2]);
    const stats = ddp.commStats();
    assert.equal(stats.buckets, 1);
    assert.equal(stats.timeline[0].gradsPending, 0);
    ddp.close();
    ddp.close(); // idempotent
    assert.equal(ddp.closed, true);
    assert.throws(() => ddp.prepareForBackward([input]), /DistributedDataParallel\.prepareForBackward: the DistributedDataParallel is closed/);
    assert.throws(() => ddp.commStats(), /DistributedDataParallel\.commStats: the DistributedDataParallel is closed/);
    // closed: its hooks left the parameters, backward just accumulates
    torch.tidy(() => net.a.forward(input).sum().backward());
    assert.deepEqual(Array.from(w.grad!.toTypedArray() as Float32Array), [2, 4]);
  } finally {
    destroyProcessGroup();
    net.dispose();
  }
  assert.throws(() => new DistributedDataParallel(new Linear(2, 1), pg), /DistributedDataParallel: the process group is closed/);
});
