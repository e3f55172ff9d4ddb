/**
 * SyncBatchNorm over Gloo: ranks holding slices of a batch get what one process running BatchNorm2d
 * over the whole batch gets (outputs, input gradients, the sum over ranks of the parameter
 * gradients when the loss is the sum of the ranks' losses, running statistics), also for uneven
 * slices and a rank with an empty slice; the running statistics also equal a hand computation. A
 * small network trained data-parallel (2 ranks × 2 samples, gradients averaged) reaches the
 * parameters of 1 process × 4 samples with BatchNorm2d. Without a group of several ranks, or in
 * eval mode, SyncBatchNorm is BatchNorm2d. A dead peer is a JavaScript error, in forward and in
 * backward, and so is a peer that never joins (after the group's timeout).
 */
import { glooTest as test } from './gloo_test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { BatchNorm2d, SyncBatchNorm, buildNormLayer } from '../../src/nn';
import { initProcessGroup, destroyProcessGroup, differentiableAllreduce } from '../../src/distributed';
import { ResNet } from '../../src/models/backbones/resnet';
import { resnet50V1cD8 } from '../../configs/_base_/segmentation';
import { HRNet } from '../../src/models/backbones/hrnet';
import { hrnetW18 } from '../../configs/_base_/models/fcn_hr18';
import { freePort, runRanks, type RankRun } from './spawn';
import { BIAS, WEIGHT, buildNet, layerData, rowsOf, runLayer, trainNet, type LayerRun } from './sync_bn_cases';

const TOL = 1e-5;
const PER_SAMPLE = 3 * 5 * 5; // elements of one sample of the layer case

function maxDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length, 'lengths');
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

function assertClose(a: number[], b: number[], what: string, tol = TOL): void {
  const d = maxDiff(a, b);
  assert.ok(d <= tol, `${what}: max |Δ| ${d} > ${tol}`);
}

function resultsOf(runs: RankRun[]): Record<string, unknown>[] {
  return runs.map((r, i) => {
    assert.equal(r.code, 0, `rank ${i} exit code (stderr: ${r.stderr.slice(-2000)})`);
    assert.equal(r.results.length, 1, `rank ${i} results`);
    return r.results[0];
  });
}

async function run2(job: Record<string, unknown>, timeoutMs = 30_000): Promise<RankRun[]> {
  const port = await freePort();
  return runRanks(2, { initMethod: `tcp://127.0.0.1:${port}`, timeoutMs, ...job }, undefined, 'sync_bn_worker.js');
}

test('differentiableAllreduce: forward sums the inputs, backward sums the gradients over the ranks', async () => {
  const [r0, r1] = resultsOf(await run2({ scenario: 'allreduce' }));
  // x_r = [r + 1, 10 (r + 1)]; loss_r = Σ y · [r + 1, −1]
  assert.deepEqual(r0.y, [3, 30]);
  assert.deepEqual(r1.y, [3, 30]);
  assert.deepEqual(r0.x, [1, 10], 'the input is left as it was');
  assert.deepEqual(r0.grad, [1 + 2, -1 - 1]);
  assert.deepEqual(r1.grad, [1 + 2, -1 - 1]);
});

/** Per channel of a batch [N, 3, 5, 5]: mean and biased variance in float64, by hand. */
function channelStats(x: number[], n: number): { mean: number[]; variance: number[] } {
  const hw = 25;
  const mean: number[] = [];
  const variance: number[] = [];
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) for (let k = 0; k < hw; k++) s += x[(i * 3 + c) * hw + k];
    const m = s / (n * hw);
    let ss = 0;
    for (let i = 0; i < n; i++) for (let k = 0; k < hw; k++) ss += (x[(i * 3 + c) * hw + k] - m) ** 2;
    mean.push(m);
    variance.push(ss / (n * hw));
  }
  return { mean, variance };
}

test('the single-process reference (BatchNorm2d over the batch of 4) matches the formulas', () => {
  const ref = runLayer(new BatchNorm2d(3), [0, 4]);
  const { xs } = layerData();
  const [x1, x2] = xs.map((x) => x.toArray());
  const s1 = channelStats(x1, 4);
  const s2 = channelStats(x2, 4);
  const m = 4 * 25;
  // y = (x − mean) / sqrt(var + eps) · w + b, first element of each channel of sample 0, step 1
  for (let c = 0; c < 3; c++) {
    const y = ((x1[c * 25] - s1.mean[c]) / Math.sqrt(s1.variance[c] + 1e-5)) * WEIGHT[c] + BIAS[c];
    assert.ok(Math.abs(ref.outputs[0][c * 25] - y) <= TOL, `channel ${c}: y ${ref.outputs[0][c * 25]} vs ${y}`);
  }
  // momentum 0.1, unbiased batch variance (m − 1) in the running variance
  const rm = s1.mean.map((m1, c) => 0.9 * (0.1 * m1) + 0.1 * s2.mean[c]);
  const rv = s1.variance.map((v1, c) => 0.9 * (0.9 * 1 + 0.1 * (v1 * m) / (m - 1)) + 0.1 * (s2.variance[c] * m) / (m - 1));
  assertClose(ref.runningMean, rm, 'running_mean');
  assertClose(ref.runningVar, rv, 'running_var');
  assert.equal(ref.numBatchesTracked, 2);
});

for (const split of [[2, 2], [3, 1], [4, 0]]) {
  test(`2 ranks holding ${split.join(' + ')} samples = BatchNorm2d over the 4 (2 steps)`, async () => {
    const ref = runLayer(new BatchNorm2d(3), [0, 4]);
    const runs = resultsOf(await run2({ scenario: 'layer', split })).map((r) => r.run as LayerRun);
    for (const [rank, run] of runs.entries()) {
      const [start, length] = rowsOf(split, rank);
      const rows = (flat: number[]) => flat.slice(start * PER_SAMPLE, (start + length) * PER_SAMPLE);
      for (let step = 0; step < 2; step++) {
        assertClose(run.outputs[step], rows(ref.outputs[step]), `rank ${rank} step ${step} outputs`);
        assertClose(run.inputGrads[step], rows(ref.inputGrads[step]), `rank ${rank} step ${step} input gradients`);
      }
      // every rank has the global statistics
      assertClose(run.runningMean, ref.runningMean, `rank ${rank} running_mean`);
      assertClose(run.runningVar, ref.runningVar, `rank ${rank} running_var`);
      assert.equal(run.numBatchesTracked, 2);
    }
    // the loss is the sum of the ranks' losses: the parameter gradients add up to the reference's
    for (let step = 0; step < 2; step++) {
      const sum = (k: 'weightGrads' | 'biasGrads') => [0, 1, 2].map((c) => runs[0][k][step][c] + runs[1][k][step][c]);
      assertClose(sum('weightGrads'), ref.weightGrads[step], `step ${step} weight gradient (sum over ranks)`);
      assertClose(sum('biasGrads'), ref.biasGrads[step], `step ${step} bias gradient (sum over ranks)`);
    }
  });
}

test('conv → SyncBN → relu → conv: 2 ranks × 2 samples (gradients averaged) = 1 process × 4 samples with BatchNorm2d after 3 SGD steps', async () => {
  const ref = trainNet(buildNet((c) => new BatchNorm2d(c), 100), [0, 4], null);
  const ranks = resultsOf(await run2({ scenario: 'net' })).map((r) => r.params as number[][]);
  assert.equal(ref.length, 2 + 2 + 2 + 3); // conv1 w, b; bn w, b; conv2 w, b; running_mean, running_var, num_batches_tracked
  for (const [rank, params] of ranks.entries()) {
    assert.equal(params.length, ref.length);
    params.forEach((p, i) => assertClose(p, ref[i], `rank ${rank} tensor ${i}`));
  }
  assert.deepEqual(ranks[0], ranks[1], 'the ranks agree exactly');
  // training moved the parameters (it is not the initial state that agrees), except conv1's bias:
  // the BN after it subtracts the batch mean, so its gradient is 0
  const init = buildNet((c) => new BatchNorm2d(c), 100).layers.flatMap((m) => [...m.parameters()]).map((t) => t.toArray());
  init.forEach((p, i) => {
    if (i === 1) assertClose(p, ref[i], 'conv1 bias (zero gradient under BN)');
    else assert.ok(maxDiff(p, ref[i]) > 1e-3, `parameter ${i} did not move`);
  });
});

test('without a process group SyncBatchNorm is BatchNorm2d, exactly; eval mode uses the running statistics', () => {
  const ref = runLayer(new BatchNorm2d(3), [0, 4]);
  const sync = new SyncBatchNorm(3);
  assert.deepEqual(runLayer(sync, [0, 4]), ref);

  // eval: y = (x − running_mean) / sqrt(running_var + eps) · w + b, whatever the batch
  sync.eval();
  const x = torch.tensor([1, 2, -3, 4, 5, 6], { dtype: 'float32' }).reshape(2, 3, 1, 1);
  const y = torch.noGrad(() => sync.forward(x)).toArray();
  const xs = x.toArray();
  const rm = sync.runningMean!.toArray();
  const rv = sync.runningVar!.toArray();
  xs.forEach((v, i) => {
    const c = i % 3;
    const want = ((v - rm[c]) / Math.sqrt(rv[c] + 1e-5)) * WEIGHT[c] + BIAS[c];
    assert.ok(Math.abs(y[i] - want) <= 1e-6, `element ${i}: ${y[i]} vs ${want}`);
  });
  assert.deepEqual(sync.runningMean!.toArray(), rm, 'eval leaves the running statistics');
  assert.equal(sync.numBatchesTracked!.item(), 2);
});

test('with a default process group of one rank SyncBatchNorm is BatchNorm2d, exactly', async () => {
  const port = await freePort();
  const pg = initProcessGroup({ initMethod: `tcp://127.0.0.1:${port}`, rank: 0, worldSize: 1, timeoutMs: 10_000, device: { hostname: '127.0.0.1' } });
  try {
    const ref = runLayer(new BatchNorm2d(3), [0, 4]);
    assert.deepEqual(runLayer(new SyncBatchNorm(3), [0, 4]), ref);
    assert.deepEqual(runLayer(new SyncBatchNorm(3, { processGroup: pg }), [0, 4]), ref);
    // the differentiable all-reduce of one rank is the identity, gradient included
    const a = torch.tensor([1, -2], { dtype: 'float64' }).requiresGrad_();
    differentiableAllreduce(a, pg).mul(torch.tensor([3, 4], { dtype: 'float64' })).sum().backward();
    assert.deepEqual(a.grad!.toArray(), [3, 4]);
  } finally {
    destroyProcessGroup();
  }
  assert.throws(() => differentiableAllreduce(torch.ones([2]), pg), { message: /^differentiableAllreduce: the process group is closed$/ });
  assert.throws(() => differentiableAllreduce([1, 2] as never, pg), { name: 'TypeError', message: /differentiableAllreduce: input should be a Tensor, got an array/ });
  assert.throws(() => differentiableAllreduce(torch.ones([2]), {} as never), { name: 'TypeError', message: /differentiableAllreduce: pg should be a ProcessGroup/ });
});

test("norm_cfg { type: 'SyncBN' } builds a SyncBatchNorm named bn, with BatchNorm2d's state-dict keys", () => {
  const [name, layer] = buildNormLayer({ type: 'SyncBN', momentum: 0.03 }, 4);
  assert.equal(name, 'bn');
  assert.ok(layer instanceof SyncBatchNorm);
  assert.equal((layer as SyncBatchNorm).momentum, 0.03);
  const bn = new BatchNorm2d(4);
  torch.noGrad(() => bn.runningMean!.fill_(0.5));
  assert.deepEqual([...layer.stateDict().keys()], [...bn.stateDict().keys()]);
  layer.loadStateDict(bn.stateDict());
  assert.deepEqual((layer as SyncBatchNorm).runningMean!.toArray(), [0.5, 0.5, 0.5, 0.5]);
});

test('one value per channel over all ranks is a RangeError on every rank (none is left waiting)', async () => {
  const runs = await run2({ scenario: 'one-value' });
  for (const [rank, r] of runs.entries()) {
    assert.equal(r.code, 2, `rank ${rank} exits 2 after the error (stderr: ${r.stderr.slice(-2000)})`);
    assert.equal(r.failures.length, 1);
    assert.match(r.failures[0].message, /^SyncBatchNorm: expected more than 1 value per channel over all 2 ranks when training, got 1 \(this rank's input \[[01], 3, 1, 1\]\)$/);
  }
});

test("ResNet normType 'SyncBN' builds SyncBatchNorm layers under BatchNorm2d's keys; the segmentation bases ask for it", () => {
  const bn = new ResNet({ depth: 18, deepStem: true, avgDown: true });
  const sync = new ResNet({ depth: 18, deepStem: true, avgDown: true, normType: 'SyncBN' });
  const norms = (m: ResNet) => [...m.modules()].filter((x) => x instanceof BatchNorm2d);
  assert.equal(norms(sync).length, norms(bn).length);
  assert.ok(norms(sync).every((x) => x instanceof SyncBatchNorm), 'every norm layer is a SyncBatchNorm');
  assert.ok(!norms(bn).some((x) => x instanceof SyncBatchNorm), "normType 'BN' (the default) builds BatchNorm2d");
  assert.deepEqual([...sync.stateDict().keys()], [...bn.stateDict().keys()]);
  assert.throws(() => new ResNet({ depth: 18, normType: 'GN' as never }), /ResNet: normType must be 'BN' or 'SyncBN', got "GN"/);
  assert.equal(resnet50V1cD8.normType, 'SyncBN');
});

test("HRNet normType 'SyncBN' builds SyncBatchNorm layers only, under the keys of its BatchNorm2d twin", () => {
  assert.equal(hrnetW18.normType, 'SyncBN');
  const sync = new HRNet(hrnetW18);
  const bn = new HRNet({ ...hrnetW18, normType: undefined });
  const norms = (m: HRNet) => [...m.modules()].filter((x) => x instanceof BatchNorm2d);
  assert.ok(norms(sync).length > 100);
  assert.ok(norms(sync).every((x) => x instanceof SyncBatchNorm), 'every norm layer is a SyncBatchNorm');
  assert.ok(!norms(bn).some((x) => x instanceof SyncBatchNorm));
  assert.deepEqual([...sync.stateDict().keys()], [...bn.stateDict().keys()]);
  assert.throws(() => new HRNet({ ...hrnetW18, normType: 'GN' as never }), /backbone.normType: expected 'BN' or 'SyncBN', got "GN"/);
  sync.dispose();
  bn.dispose();
});

for (const stage of ['forward', 'backward'] as const) {
  test(`a peer that dies before the ${stage} makes it fail with a JS error, not a crash or a hang`, async () => {
    const timeoutMs = 20_000;
    const [r0, r1] = await run2({ scenario: `dead-${stage}` }, timeoutMs);
    assert.equal(r1.signal, 'SIGKILL', 'rank 1 killed itself');
    assert.equal(r0.signal, null, `rank 0 was not killed (stderr: ${r0.stderr.slice(-2000)})`);
    assert.equal(r0.code, 2, `rank 0 exits 2 after the error (stderr: ${r0.stderr.slice(-2000)})`);
    assert.equal(r0.failures.length, 1);
    const f = r0.failures[0];
    assert.equal(f.where, stage);
    assert.match(f.message, stage === 'forward' ? /^differentiableAllreduce: forward allreduce: .*Connection (closed|reset) by peer/ : /^backward: differentiableAllreduce \(backward\): .*Connection (closed|reset) by peer/);
    assert.ok(f.elapsedMs < timeoutMs, `failed after ${f.elapsedMs} ms: a dead peer should not wait for the ${timeoutMs} ms timeout`);
  });
}

test("a peer that never joins the forward's collective makes it fail with a JS error after the group's timeout", async () => {
  const timeoutMs = 3000;
  const [r0, r1] = await run2({ scenario: 'missing-peer' }, timeoutMs);
  assert.equal(r1.code, 0, `rank 1 exits cleanly (stderr: ${r1.stderr.slice(-2000)})`);
  assert.equal(r0.code, 2, `rank 0 exits 2 after the error (stderr: ${r0.stderr.slice(-2000)})`);
  assert.equal(r0.failures.length, 1);
  const f = r0.failures[0];
  assert.match(f.message, /^differentiableAllreduce: forward allreduce: .*timed out/i);
  assert.ok(f.elapsedMs >= timeoutMs - 200 && f.elapsedMs <= timeoutMs + 10_000, `failed after ${f.elapsedMs} ms (timeout ${timeoutMs} ms)`);
});
