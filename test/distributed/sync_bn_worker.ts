/**
 * One rank of sync_bn.test.ts, run as a child process:
 *   node sync_bn_worker.js '<json: {scenario, initMethod, rank, worldSize, timeoutMs, split?}>'
 * It prints one JSON line per result ("RESULT {...}") and exits 0, or 2 after an expected failure
 * ("FAILED {...}": where, message, elapsed time).
 */
import * as torch from '../../src/torch';
import { initProcessGroup, destroyProcessGroup, differentiableAllreduce, broadcastParameters, type ProcessGroup } from '../../src/distributed';
import { SyncBatchNorm } from '../../src/nn';
import { buildNet, rowsOf, runLayer, trainNet } from './sync_bn_cases';

interface Job {
  /**
   * allreduce: the differentiable all-reduce's value and gradient; layer: the layer case on this
   * rank's rows of `split`; net: the network case on 2 rows per rank; dead-forward / dead-backward:
   * rank 1 exits before the forward / before the backward, rank 0 reports its error; one-value:
   * rank 0 holds one value per channel, rank 1 none: both report their error; missing-peer: rank 1
   * never joins rank 0's forward.
   */
  scenario: 'allreduce' | 'layer' | 'net' | 'dead-forward' | 'dead-backward' | 'one-value' | 'missing-peer';
  initMethod: string;
  rank: number;
  worldSize: number;
  timeoutMs: number;
  split?: number[];
}

const job = JSON.parse(process.argv[2]) as Job;
torch.setNumThreads(1);

function report(tag: 'RESULT' | 'FAILED', value: unknown): void {
  process.stdout.write(`${tag} ${JSON.stringify(value)}\n`);
}

/** y = Σ_r x_r with x_r = [r + 1, 10 (r + 1)]; loss_r = Σ y · w_r with w_r = [r + 1, −1]: dx_r = Σ_r' w_r'. */
function allreduceCase(pg: ProcessGroup): void {
  const r = pg.rank;
  const x = torch.tensor([r + 1, 10 * (r + 1)], { dtype: 'float64' }).requiresGrad_();
  const y = differentiableAllreduce(x, pg);
  y.mul(torch.tensor([r + 1, -1], { dtype: 'float64' })).sum().backward();
  report('RESULT', { rank: r, y: y.toArray(), x: x.toArray(), grad: x.grad!.toArray() });
}

/** Rank 0 runs a SyncBatchNorm step whose peer (rank 1) has gone before the forward or before the backward. */
function deadPeer(pg: ProcessGroup, before: 'forward' | 'backward'): void {
  const bn = new SyncBatchNorm(3);
  const x = torch.randn([2, 3, 4, 4]).requiresGrad_();
  if (pg.rank === 1) {
    if (before === 'backward') bn.forward(x);
    // dies at once, as a crashed process: the kernel closes its sockets (process.exit() would run
    // exit handlers while Gloo's threads still run, which can hang)
    process.kill(process.pid, 'SIGKILL');
  }
  let stage = 'forward';
  const t0 = Date.now();
  try {
    const y = bn.forward(x);
    if (before === 'backward') {
      stage = 'backward';
      y.sum().backward();
    }
    report('RESULT', { unexpected: `${stage} completed` });
  } catch (err) {
    report('FAILED', { where: stage, message: (err as Error).message, elapsedMs: Date.now() - t0 });
    process.exitCode = 2;
  }
}

/** Rank 0 runs a SyncBatchNorm forward that rank 1 never joins (it waits past the group's timeout). */
function missingPeer(pg: ProcessGroup): void {
  if (pg.rank === 1) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, job.timeoutMs + 3000);
    return;
  }
  const t0 = Date.now();
  try {
    new SyncBatchNorm(3).forward(torch.randn([2, 3, 4, 4]));
    report('RESULT', { unexpected: 'forward completed' });
  } catch (err) {
    report('FAILED', { where: 'forward', message: (err as Error).message, elapsedMs: Date.now() - t0 });
    process.exitCode = 2;
  }
}

function main(): void {
  const started = Date.now();
  let pg: ProcessGroup;
  try {
    pg = initProcessGroup({ backend: 'gloo', initMethod: job.initMethod, rank: job.rank, worldSize: job.worldSize, timeoutMs: job.timeoutMs, device: { hostname: '127.0.0.1' } });
  } catch (err) {
    report('FAILED', { where: 'init', message: (err as Error).message, elapsedMs: Date.now() - started });
    process.exitCode = 2;
    return;
  }
  switch (job.scenario) {
    case 'allreduce':
      allreduceCase(pg);
      break;
    case 'layer':
      report('RESULT', { rank: job.rank, run: runLayer(new SyncBatchNorm(3), rowsOf(job.split!, job.rank)) });
      break;
    case 'net': {
      // each rank starts from other random weights; broadcastParameters gives all rank 0's (DDP's start)
      const net = buildNet((c) => new SyncBatchNorm(c), 100 + job.rank);
      for (const m of net.layers) broadcastParameters(m, pg);
      report('RESULT', { rank: job.rank, params: trainNet(net, rowsOf([2, 2], job.rank), pg) });
      break;
    }
    case 'one-value':
      try {
        new SyncBatchNorm(3).forward(torch.zeros([1 - job.rank, 3, 1, 1]));
        report('RESULT', { unexpected: 'forward completed' });
      } catch (err) {
        report('FAILED', { where: 'forward', message: (err as Error).message, elapsedMs: Date.now() - started });
        process.exitCode = 2;
      }
      break;
    case 'missing-peer':
      missingPeer(pg);
      break;
    case 'dead-forward':
      deadPeer(pg, 'forward');
      break;
    case 'dead-backward':
      deadPeer(pg, 'backward');
      break;
  }
  destroyProcessGroup();
}

main();
