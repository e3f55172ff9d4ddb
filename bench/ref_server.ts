/**
 * Pieces the side-by-side benchmarks share (bench/torchvision_detection.ts, bench/seg_speed.ts,
 * bench/pose_speed.ts): the reference server process, which keeps its model loaded and answers one
 * command line at a time with one JSON line, the median, the alternating step loop, the
 * markdown tables, the temporary folder and the JSON output.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

export interface ReferenceServer {
  /** Reads the server's next JSON line (its `ready` line first); a line with `error` throws. */
  next(): Promise<unknown>;
  /** Sends one command line and reads the reply. */
  ask(cmd: string): Promise<unknown>;
  /** Closes the server's stdin (it exits at end of input) and kills it if it is still running. */
  close(): void;
}

/** Starts `python ...args` as a reference server (its stderr passes through). */
export function startReference(python: string, args: string[]): ReferenceServer {
  const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  let exited: string | null = null;
  child.on('exit', (code, signal) => { exited = `reference exited (${code ?? signal}); its stderr above says why`; });
  // e.g. the interpreter is missing: reported by next() instead of an unhandled 'error' event
  child.on('error', (e) => { exited = `could not run the reference (${python}): ${e.message}`; });
  const next = async (): Promise<unknown> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(exited ?? 'reference closed its output');
    const msg = JSON.parse(value as string) as { error?: string };
    if (msg.error) throw new Error(`reference: ${msg.error}`);
    return msg;
  };
  return {
    next,
    ask: async (cmd: string) => { child.stdin.write(`${cmd}\n`); return next(); },
    close: () => { child.stdin.end(); if (exited === null) child.kill(); },
  };
}

export const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/**
 * `steps` steps of both sides, alternating which goes first: ours first on even steps, the
 * reference first on odd ones, so that load from other processes falls on both alike.
 * Returns [ours, reference] seconds per step.
 */
export async function alternate(steps: number, ours: () => Promise<number>, ref: () => Promise<number>, opts: { pauseMs?: number } = {}): Promise<[number[], number[]]> {
  const a: number[] = [], b: number[] = [];
  const pause = opts.pauseMs ?? Number(process.env.TSVISION_BENCH_PAUSE_MS ?? 0);
  const rest = () => (pause > 0 ? new Promise<void>((r) => setTimeout(r, pause)) : Promise.resolve());
  for (let i = 0; i < steps; i++) {
    if (i % 2 === 0) { a.push(await ours()); await rest(); }
    b.push(await ref());
    await rest();
    if (i % 2 === 1) { a.push(await ours()); await rest(); }
  }
  return [a, b];
}

/** Prints `title` and a markdown table of every step's seconds on both sides, warm-up steps marked *. */
export function logSteps(title: string, refName: string, ours: number[], ref: number[], warmup: number, fmt: (x: number) => string = (x) => x.toFixed(3)): void {
  console.log(`\n${title}; warm-up steps marked *:`);
  console.log(`| step | tsvision | ${refName} |`);
  console.log('| ---: | ---: | ---: |');
  ours.forEach((t, i) => console.log(`| ${i + 1}${i < warmup ? '*' : ''} | ${fmt(t)} | ${fmt(ref[i])} |`));
}

/** Runs `fn` with a fresh temporary folder (for the weights and files both sides read), removed afterwards. */
export async function inTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints a markdown table: a header row, its alignment row (`---` for the first `left` columns, `---:` after) and the rows. */
export function logTable(header: string[], rows: string[][], left = 1): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map((_, i) => (i < left ? '---' : '---:')).join(' | ')} |`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

/** Writes the run's results as JSON to `out`, its folder created, and says so. */
export function writeResults(out: string, results: unknown): void {
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(results, null, 1));
  console.log(`\nwrote ${out}`);
}

/** The command-line options every side-by-side benchmark takes, beside its own (node:util parseArgs). */
export const COMMON_OPTIONS = {
  threads: { type: 'string', default: '2' },
  warmup: { type: 'string', default: '1' },
  iters: { type: 'string', default: '5' },
  train: { type: 'boolean', default: false },
  denormal: { type: 'string', default: 'on' },
  out: { type: 'string' },
} as const;

/** COMMON_OPTIONS' values as numbers, checked. */
export function commonArgs(v: { threads?: string; warmup?: string; iters?: string; denormal?: string }): { threads: number; warmup: number; iters: number } {
  const threads = Number(v.threads), warmup = Number(v.warmup), iters = Number(v.iters);
  if (!(warmup >= 0) || !(iters >= 1)) throw new Error('--warmup must be >= 0 and --iters >= 1');
  if (!(threads >= 1)) throw new Error(`--threads: expected a positive number, got ${v.threads}`);
  if (v.denormal !== 'on' && v.denormal !== 'off') throw new Error(`--denormal: expected on or off, got ${v.denormal}`);
  return { threads, warmup, iters };
}

/** The OpenMMLab reference's interpreter: TSVISION_REF_PYTHON, else the repository's .cache/openmmlab venv. */
export const refPython = (): string => process.env.TSVISION_REF_PYTHON ?? path.join(__dirname, '..', '..', '.cache', 'openmmlab', 'bin', 'python');
