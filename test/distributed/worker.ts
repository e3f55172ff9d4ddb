/**
 * One rank of a distributed test, run as a child process by the *.test.ts files here:
 *   node worker.js '<json: {scenario, initMethod, rank, worldSize, timeoutMs, ...}>'
 * It prints one JSON line per result ("RESULT {...}") and exits 0, or 2 after an expected
 * failure (its message and elapsed time printed as "FAILED {...}").
 */
import * as torch from '../../src/torch';
import {
  initProcessGroup, destroyProcessGroup, allreduceGradients, broadcastParameters, DistributedDataParallel, type CommStats, type ProcessGroup,
} from '../../src/distributed';
import { Conv2d, Linear, Module } from '../../src/nn';

interface Job {
  scenario: 'collectives' | 'missing-peer' | 'missing-at-init' | 'peer-exits' | 'ddp' | 'ddp-unused' | 'ddp-unused-error' | 'ddp-mismatch';
  /** ddp: the gradient buckets' size in bytes */
  bucketBytes?: number;
  /** ddp: average with DistributedDataParallel (the Reducer) instead of allreduceGradients */
  reducer?: boolean;
  /** 'gloo' (default; CPU tensors) or 'nccl' (each rank's tensors on cuda:<rank % GPUs>) */
  backend?: 'gloo' | 'nccl';
  /** gloo: the tensors on cuda:0, which every rank shares */
  cuda?: boolean;
  /** collectives: leave reduceScatter out */
  noReduceScatter?: boolean;
  initMethod: string;
  rank: number;
  worldSize: number;
  timeoutMs: number;
  device?: { hostname: string };
  holdMs?: number;
}

const job = JSON.parse(process.argv[2]) as Job;
torch.setNumThreads(1);
/** Where this rank's tensors live: the CPU for Gloo, its GPU for NCCL. */
const dev = (job.backend === 'nccl' ? `cuda:${job.rank % Math.max(1, torch.cuda.deviceCount())}` : job.cuda ? 'cuda:0' : 'cpu') as torch.Device;

function report(tag: 'RESULT' | 'FAILED', value: unknown): void {
  process.stdout.write(`${tag} ${JSON.stringify(value)}\n`);
}

async function collectives(pg: ProcessGroup): Promise<void> {
  const r = pg.rank;
  const n = pg.worldSize;
  const out: Record<string, unknown> = { rank: r, worldSize: n };

  const a = torch.tensor([r + 1, 10 * (r + 1), -r], { dtype: 'float32', device: dev });
  pg.allreduce(a).wait();
  out.sum = a.cpu().toArray();

  const b = torch.tensor([[r + 1, 2 * r]], { dtype: 'float64', device: dev });
  await pg.allreduce(b, { op: 'avg' }).waitAsync();
  out.avg = b.cpu().toArray();

  const m = torch.tensor([r, -r], { dtype: 'int32', device: dev });
  pg.allreduce(m, { op: 'max' }).wait();
  out.max = m.cpu().toArray();

  const c = torch.full([4], r === 1 ? 7 : -1, { dtype: 'float32', device: dev });
  const bw = pg.broadcast(c, { src: 1 });
  await bw.waitAsync();
  out.broadcast = c.cpu().toArray();
  out.broadcastCompleted = bw.isCompleted();

  const g = torch.tensor([r, r * 100], { dtype: 'int64', device: dev });
  const outs = Array.from({ length: n }, () => torch.zeros([2], { dtype: 'int64', device: dev }));
  pg.allgather(outs, g).wait();
  out.allgather = outs.map((t) => t.cpu().toArray());

  if (!job.noReduceScatter) {
    // inputs[j] = (r + 1) * (j + 1) in every element; output on rank r = sum_k (k + 1) * (r + 1)
    const inputs = Array.from({ length: n }, (_, j) => torch.full([2], (r + 1) * (j + 1), { dtype: 'float32', device: dev }));
    const rs = torch.zeros([2], { dtype: 'float32', device: dev });
    pg.reduceScatter(rs, inputs).wait();
    out.reduceScatter = rs.cpu().toArray();
  }
  const t0 = Date.now();
  await pg.barrier().waitAsync();
  out.barrierMs = Date.now() - t0;
  out.device = a.device;
  report('RESULT', out);
}

/** Child modules under given names, so DistributedDataParallel sees one module. */
class Net extends Module {
  constructor(children: Record<string, Module>) {
    super();
    for (const [name, m] of Object.entries(children)) this.registerModule(name, m);
  }
}

/**
 * 3 SGD steps of a small conv + linear model on a fixed batch of 4, this rank's share of it
 * (worldSize 1: all 4, no process group), after broadcastParameters from rank 0 (each rank starts
 * from different random weights) and with gradients averaged by allreduceGradients or, with
 * job.reducer, by DistributedDataParallel (during backward; its comm stats are reported too); the
 * final parameters are reported.
 */
function ddpSteps(pg: ProcessGroup | null, rank: number, worldSize: number): void {
  torch.manualSeed(100 + rank);
  const conv = new Conv2d(3, 4, 3, { padding: 1 });
  const fc = new Linear(4 * 6 * 6, 5);
  const unused = new Linear(2, 2); // never in the forward: its gradient stays none on every rank
  for (const m of [conv, fc, unused]) m.to(dev);
  const params = [...conv.parameters(), ...fc.parameters(), ...unused.parameters()];
  let ddp: DistributedDataParallel | null = null;
  if (pg && job.reducer) {
    ddp = new DistributedDataParallel(new Net({ conv, fc }), pg, { bucketBytes: job.bucketBytes });
    broadcastParameters(unused, pg);
  } else if (pg) {
    for (const m of [conv, fc, unused]) broadcastParameters(m, pg, { bucketBytes: job.bucketBytes });
  }
  const values = (p: torch.Tensor) => Array.from(p.cpu().contiguous().toTypedArray() as Float32Array);
  const init = params.map(values);
  torch.manualSeed(7);
  const x = torch.randn([4, 3, 6, 6]).to(dev);
  const y = torch.randn([4, 5]).to(dev);
  const per = 4 / worldSize;
  const xs = x.narrow(0, rank * per, per), ys = y.narrow(0, rank * per, per);
  const comm: CommStats[] = [];
  for (let step = 0; step < 3; step++) {
    for (const p of params) p.grad = null;
    torch.tidy(() => {
      const out = fc.forward(conv.forward(xs).relu().reshape([per, -1]));
      const loss = out.sub(ys).pow(2).mean();
      ddp?.prepareForBackward();
      loss.backward();
    });
    if (ddp) comm.push(ddp.commStats());
    else if (pg) allreduceGradients(params, pg, { bucketBytes: job.bucketBytes });
    torch.noGrad(() => { for (const p of params) if (p.grad) p.sub_(p.grad.mul(0.1)); });
  }
  ddp?.close();
  report('RESULT', { rank, init, params: params.map(values), comm, device: params[0].device });
}

const gradOf = (p: torch.Tensor): number[] | null => (p.grad ? Array.from(p.grad.contiguous().toTypedArray() as Float32Array) : null);

/** A module with one buffer [value], for the buffers' broadcasts. */
class Counter extends Module {
  readonly count: torch.Tensor;
  constructor(value: number) {
    super();
    this.count = this.registerBuffer('count', torch.tensor([value]));
  }
}

/**
 * findUnusedParameters, 2 ranks, three Linear(2, 1) a, b, c and one sample per rank (x = [1, 2] on
 * rank 0, [3, 5] on rank 1), loss = sum(a(x)) (+ sum(b(x)) where b is used): a is used everywhere,
 * c nowhere, and b on rank 0 only (step 0), on rank 1 only (step 1), nowhere (step 2: its gradient
 * set beforehand to a different value on each rank: [10 (rank + 1), 0], [rank + 7]). Reports every
 * step's gradients, and a buffer (10 + rank, then 20 + rank) after the constructor and after
 * syncBuffers.
 */
function ddpUnused(pg: ProcessGroup): void {
  const r = pg.rank;
  const [a, b, c] = [new Linear(2, 1), new Linear(2, 1), new Linear(2, 1)];
  const counter = new Counter(10 + r);
  const ddp = new DistributedDataParallel(new Net({ a, b, c, counter }), pg, { findUnusedParameters: true, bucketBytes: job.bucketBytes });
  const buffers: number[] = [counter.count.item()]; // rank 0's, from the constructor
  counter.count.fill_(20 + r);
  ddp.syncBuffers();
  buffers.push(counter.count.item()); // rank 0's again
  const x = torch.tensor([r === 0 ? [1, 2] : [3, 5]]);
  const grads: Record<string, number[] | null>[] = [];
  for (let step = 0; step < 3; step++) {
    for (const p of [...a.parameters(), ...c.parameters()]) p.grad = null;
    if (step < 2) for (const p of b.parameters()) p.grad = null;
    else [b.getParameter('weight')!.grad, b.getParameter('bias')!.grad] = [torch.tensor([[10 * (r + 1), 0]]), torch.tensor([r + 7])];
    torch.tidy(() => {
      let loss = a.forward(x).sum();
      if (step === r) loss = loss.add(b.forward(x).sum());
      ddp.prepareForBackward([loss]);
      loss.backward();
    });
    grads.push(Object.fromEntries([...ddp.module.namedParameters()].map(([n, p]) => [n, gradOf(p)])));
  }
  ddp.close();
  report('RESULT', { rank: r, grads, buffers });
}

/**
 * findUnusedParameters false with a parameter (c) unused on every rank: step 0's backward
 * returns with a's gradient local (the reduction never completes), step 1's prepareForBackward
 * throws.
 */
function ddpUnusedError(pg: ProcessGroup): void {
  const r = pg.rank;
  const [a, c] = [new Linear(2, 1), new Linear(2, 1)];
  const ddp = new DistributedDataParallel(new Net({ a, c }), pg);
  const x = torch.tensor([r === 0 ? [1, 2] : [3, 5]]);
  const out: Record<string, unknown> = { rank: r };
  torch.tidy(() => {
    const loss = a.forward(x).sum();
    ddp.prepareForBackward();
    loss.backward();
  });
  out.gradAfterStep0 = gradOf(a.getParameter('weight')!);
  try {
    ddp.prepareForBackward();
    out.step1 = 'no error';
  } catch (err) {
    out.step1 = (err as Error).message;
  }
  ddp.close();
  report('RESULT', out);
}

async function main(): Promise<void> {
  if (job.scenario === 'ddp' && job.worldSize === 1 && !job.reducer) {
    ddpSteps(null, 0, 1);
    return;
  }
  const started = Date.now();
  let pg: ProcessGroup;
  try {
    const common = { initMethod: job.initMethod, rank: job.rank, worldSize: job.worldSize, timeoutMs: job.timeoutMs };
    pg = job.backend === 'nccl'
      ? initProcessGroup({ ...common, backend: 'nccl', cudaDevice: job.rank % Math.max(1, torch.cuda.deviceCount()) })
      : initProcessGroup({ ...common, backend: 'gloo', device: job.device });
  } catch (err) {
    report('FAILED', { where: 'init', message: (err as Error).message, elapsedMs: Date.now() - started });
    process.exitCode = 2;
    return;
  }
  if (job.scenario === 'collectives') {
    await collectives(pg);
  } else if (job.scenario === 'ddp') {
    ddpSteps(pg, job.rank, job.worldSize);
  } else if (job.scenario === 'ddp-unused') {
    ddpUnused(pg);
  } else if (job.scenario === 'ddp-unused-error') {
    ddpUnusedError(pg);
  } else if (job.scenario === 'ddp-mismatch') {
    // rank 1's model has another shape: the constructor throws on every rank
    try {
      new DistributedDataParallel(new Linear(2, pg.rank === 0 ? 1 : 3), pg).close();
      report('RESULT', { rank: pg.rank, error: null });
    } catch (err) {
      report('RESULT', { rank: pg.rank, error: (err as Error).message });
    }
  } else if (job.scenario === 'missing-peer' || job.scenario === 'peer-exits') {
    if (job.rank === 0) {
      const t = torch.ones([3]);
      const t0 = Date.now();
      try {
        await pg.allreduce(t).waitAsync();
        report('RESULT', { unexpected: 'allreduce completed' });
      } catch (err) {
        report('FAILED', { where: 'allreduce', message: (err as Error).message, elapsedMs: Date.now() - t0 });
        process.exitCode = 2;
      }
    } else if (job.scenario === 'missing-peer') {
      // stays alive without joining the collective, so rank 0 meets Gloo's timeout
      await new Promise((resolve) => setTimeout(resolve, job.holdMs ?? 0));
    } else {
      process.exit(0); // leaves without closing: rank 0's peer connection drops
    }
  }
  destroyProcessGroup();
}

void main();
