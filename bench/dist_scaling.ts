/**
 * Distributed training's scaling on this machine (issue 18): the quickstart config trained by 1
 * process and by N processes (`tsvision train --nproc-per-node N`), one intra-op thread each, for
 * the same number of iterations (and, for comparison, by one process with a thread per core): s/iter, images/s (processes × batch / s/iter), and per iteration
 * the gradient allreduce's time (launch to completion, summed over buckets, overlapping backward)
 * and the wait after backward for allreduces still running. Then a two-"node" rehearsal over
 * loopback: two launches with `--nnodes 2 --node-rank 0|1 --nproc-per-node 1`, whose final
 * weights must equal the single-node 2-process run's.
 *
 *   node dist/bench/dist_scaling.js [--config faster_rcnn/faster-rcnn_r18_fpn_shapes] [--procs 1,2]
 *     [--iters 30] [--warmup 5] [--no-two-node] [--out FILE.json]
 *
 * Every run starts from the same seed and trains on the first `iters` batches per process;
 * validation and periodic checkpoints are off (the last checkpoint is kept for the two-node
 * comparison). Rank 0's scalars.jsonl gives the per-iteration times (`time`) and the gradient
 * sync's figures (`comm_allreduce_ms`, `comm_wait_ms`).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch';
import { loadWeights } from '../src/engine/checkpoint';
import { resolveConfig } from '../src/config';
import { logTable, median, writeResults } from './ref_server';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'faster_rcnn/faster-rcnn_r18_fpn_shapes' },
    procs: { type: 'string', default: '1,2' },
    iters: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    'no-two-node': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const iters = Number(values.iters), warmup = Number(values.warmup);
if (!(Number.isInteger(iters) && iters >= 2)) throw new Error(`--iters: expected an integer >= 2, got ${values.iters}`);
if (!(Number.isInteger(warmup) && warmup >= 0 && warmup < iters)) throw new Error(`--warmup: expected an integer in [0, iters), got ${values.warmup}`);
const procs = values.procs!.split(',').map(Number);
for (const p of procs) if (!(Number.isInteger(p) && p >= 1)) throw new Error(`--procs: expected positive integers, got ${values.procs}`);
const cli = path.join(__dirname, '..', '..', 'bin', 'tsvision');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs the CLI with `threads` intra-op threads per process; resolves with its wall time, rejects with its output when it fails. */
function run(args: string[], threads = 1): Promise<number> {
  const t0 = performance.now();
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), TSVISION_NUM_THREADS: String(threads) };
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  return new Promise((resolve, reject) => child.on('close', (code, signal) => {
    if (code === 0) resolve((performance.now() - t0) / 1000);
    else reject(new Error(`tsvision ${args.join(' ')} failed (${code ?? signal}):\n${out.slice(-3000)}`));
  }));
}

/** The overrides every run shares: `iters` iterations, no validation, one checkpoint at the end, a log line per iteration. */
const overrides = () => ['--cfg-options', `train.maxIters=${iters}`, 'train.valInterval=0', 'hooks.checkpoint.interval=0', 'hooks.checkpoint.saveLast=true', 'hooks.logger.interval=1'];

interface Scalars { time: number; comm_allreduce_ms?: number; comm_wait_ms?: number }

function readScalars(workDir: string): Scalars[] {
  const runs = fs.readdirSync(workDir).filter((d) => /^\d{8}_\d{6}/.test(d)).sort();
  const file = path.join(workDir, runs.at(-1)!, 'scalars.jsonl');
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.mode === 'train');
}

interface Row { procs: number; threads: number; batch: number; sPerIter: number; imagesPerS: number; allreduceMs?: number; waitMs?: number; wallS: number; times: number[] }

async function main(): Promise<void> {
  const started = performance.now();
  const loaded = resolveConfig(values.config!);
  const batch = loaded.task.trainBatchSize?.(loaded.config) ?? NaN;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-bench-dist-'));
  const rows: Row[] = [];
  let twoNode: Record<string, unknown> | undefined;
  try {
    const ckpt = (dir: string) => path.join(dir, `iter_${iters}.safetensors`);
    // the rows: 1..N processes of one thread each, then one process with a thread per core (how one
    // process uses this machine), for comparison
    const runs = [...procs.map((n) => ({ n, threads: 1 })), ...(os.cpus().length > 1 ? [{ n: 1, threads: os.cpus().length }] : [])];
    for (const { n, threads } of runs) {
      const dir = path.join(tmp, `procs-${n}-threads-${threads}`);
      const launch = n > 1 ? ['--nproc-per-node', String(n), '--master-port', String(await freePort())] : [];
      console.log(`training ${values.config} for ${iters} iterations with ${n} process(es) of ${threads} thread(s)...`);
      const wallS = await run(['train', values.config!, '--work-dir', dir, '--quiet', ...launch, ...overrides()], threads);
      const s = readScalars(dir);
      const timed = s.slice(warmup);
      const sPerIter = median(timed.map((r) => r.time));
      const ar = timed.map((r) => r.comm_allreduce_ms).filter((v): v is number => v !== undefined);
      const wt = timed.map((r) => r.comm_wait_ms).filter((v): v is number => v !== undefined);
      rows.push({ procs: n, threads, batch, sPerIter, imagesPerS: (n * batch) / sPerIter, allreduceMs: ar.length ? median(ar) : undefined, waitMs: wt.length ? median(wt) : undefined, wallS, times: s.map((r) => r.time) });
    }
    if (!values['no-two-node'] && procs.includes(2)) {
      const dir = path.join(tmp, 'two-node');
      const port = String(await freePort());
      console.log('two-"node" rehearsal: two launches, --nnodes 2 --node-rank 0 / 1, one process each, over loopback...');
      const node = (r: number) => run(['train', values.config!, '--work-dir', dir, '--quiet', '--nproc-per-node', '1', '--nnodes', '2', '--node-rank', String(r), '--master-addr', '127.0.0.1', '--master-port', port, ...overrides()]);
      const [w0, w1] = await Promise.all([node(0), node(1)]);
      // the same job as --nproc-per-node 2: the final weights must be equal
      const a = loadWeights(ckpt(path.join(tmp, 'procs-2-threads-1'))), b = loadWeights(ckpt(dir));
      let maxAbs = 0;
      try {
        if (a.size !== b.size) throw new Error(`two-node rehearsal: ${b.size} tensors, the 2-process run's checkpoint ${a.size}`);
        for (const [k, t] of a) {
          const u = b.get(k);
          if (!u) throw new Error(`two-node rehearsal: no ${k} in its checkpoint`);
          if (t.isFloatingPoint()) maxAbs = Math.max(maxAbs, torch.tidy(() => t.sub(u).abs().max().item() as number));
        }
      } finally {
        torch.dispose([...a.values(), ...b.values()]);
      }
      const s = readScalars(dir).slice(warmup);
      twoNode = { wallS: [w0, w1], sPerIter: median(s.map((r) => r.time)), maxAbsWeightDiffVs2Procs: maxAbs };
      console.log(`two-node rehearsal: both launches exited 0 (${w0.toFixed(1)} s, ${w1.toFixed(1)} s); s/iter ${(twoNode.sPerIter as number).toFixed(3)}; final weights vs --nproc-per-node 2: max |Δ| ${maxAbs.toExponential(2)}`);
      if (!(maxAbs <= 1e-5)) throw new Error(`two-node rehearsal: the final weights differ from the 2-process run's by ${maxAbs}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const base = rows.find((r) => r.procs === 1 && r.threads === 1);
  console.log(`\n${values.config}: ${iters} iterations, medians after ${warmup} warm-up; batch ${batch} per process; ${os.cpus().length} cores\n`);
  const f = (v: number | undefined, d = 1) => (v === undefined ? '-' : v.toFixed(d));
  logTable(['processes × threads', 's/iter', 'images/s', 'scaling (images/s ÷ 1 × 1)', 'allreduce ms/iter', 'wait after backward ms/iter'],
    rows.map((r) => [`${r.procs} × ${r.threads}`, r.sPerIter.toFixed(3), r.imagesPerS.toFixed(2), base ? (r.imagesPerS / base.imagesPerS).toFixed(2) : '-', f(r.allreduceMs), f(r.waitMs)]));
  if (values.out) {
    writeResults(values.out, { config: values.config, iters, warmup, batch, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, date: new Date().toISOString(), rows, twoNode });
  }
  console.log(`\ntotal ${((performance.now() - started) / 60000).toFixed(1)} min`);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
