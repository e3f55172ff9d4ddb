/** Runs the ranks of a distributed test as child processes (worker.ts) on loopback. */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

export interface RankRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  results: Record<string, unknown>[];
  failures: { where: string; message: string; elapsedMs: number }[];
  stderr: string;
  wallMs: number;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts worker.js (or `script`, a compiled file of this folder) with `job` (JSON) and collects its
 * RESULT / FAILED lines; killed after killMs.
 */
export function runRank(job: Record<string, unknown>, opts: { env?: NodeJS.ProcessEnv; killMs?: number; script?: string } = {}): Promise<RankRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(__dirname, opts.script ?? 'worker.js'), JSON.stringify(job)], {
    env: { ...process.env, OMP_NUM_THREADS: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.killMs ?? 50_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = out.split('\n');
      const parse = (tag: string) => lines.filter((l) => l.startsWith(tag + ' ')).map((l) => JSON.parse(l.slice(tag.length + 1)));
      resolve({ code, signal, results: parse('RESULT'), failures: parse('FAILED'), stderr: err, wallMs: Date.now() - started });
    });
  });
}

/** Runs one worker per rank with the same job; rank and worldSize filled in. */
export function runRanks(worldSize: number, job: Record<string, unknown>, env?: (rank: number) => NodeJS.ProcessEnv, script?: string): Promise<RankRun[]> {
  return Promise.all(Array.from({ length: worldSize }, (_, rank) => runRank({ rank, worldSize, ...job }, { env: env?.(rank), script })));
}
