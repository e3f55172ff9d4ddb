/**
 * Fuzz harness (opt-in, seeded, reproducible): randomized calls into the libtorch binding
 * through the public torch API, and malformed COCO annotation / results files and configs
 * fed to their readers. Cases run in child processes (child.ts), so a native crash or a hang
 * is recorded with the family and case index that reproduce it, and the run goes on.
 *
 *   node dist/bench/fuzz/main.js [--seed 1] [--calls 10000] [--files 1000] [--device cpu|cuda]
 *        [--jobs 1] [--case-timeout 10] [--mem-limit-gb 4] [--out FILE] [--quiet]
 *   node dist/bench/fuzz/main.js --seed N --only FAMILY --case K [--verbose]   (reproduce one case)
 *
 * Prints per family: cases, ok (call returned / file accepted), JS errors (clear), unclear
 * errors (not an Error, empty message, a JavaScript-internal message such as "Cannot read
 * properties of undefined", or, for files, a message naming neither the file nor the changed
 * key), native crashes and hangs. Writes a JSON summary (--out; default
 * bench/results/fuzz-<device>-seed<N>.json). Exits 1 when there was a crash or a hang.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildSpec } from './child';
import { errorClass } from './common';
import { FAMILIES, family } from './targets';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

export interface FuzzOptions {
  seed: number;
  calls: number;
  files: number;
  device: string;
  jobs: number;
  /** Seconds without progress after which a child is killed and its case counted as a hang. */
  caseTimeout: number;
  /** Address-space limit of a child (GB), so a huge allocation fails instead of the OOM killer; 0: none. */
  memLimitGb: number;
  /** Only these families (all when empty). */
  only: string[];
  /** Only this case index (with `only`). */
  caseIndex?: number;
  /** Cases per child process (a child is restarted after a crash anyway). */
  chunk: number;
  quiet: boolean;
  /** Harness self-test: the child kills itself with SIGSEGV at this case (see child.ts). */
  selfTestCrash?: { family: string; case: number };
}

export interface FamilyCounts {
  kind: string;
  cases: number;
  ok: number;
  error: number;
  unclear: number;
  /** Files one reader accepts and another rejects (cocoReadersAgree). */
  mismatch: number;
  crash: number;
  hang: number;
  /** Native tensors alive in a child after the family's cases (a leak check; the most over the children). */
  liveTensorsAfter: number;
}

export interface Finding {
  family: string;
  case: number;
  kind: 'crash' | 'hang' | 'unclear' | 'mismatch';
  /** The last descriptions logged by the case (what it called). */
  calls: string[];
  detail: string;
  reproduce: string;
}

export interface FuzzSummary {
  seed: number;
  device: string;
  calls: number;
  files: number;
  seconds: number;
  families: Record<string, FamilyCounts>;
  totals: Omit<FamilyCounts, 'kind' | 'liveTensorsAfter'>;
  /** Crashes and hangs, one per case. */
  crashes: Finding[];
  /** Unclear errors and reader mismatches grouped by message class: the count and the first case. */
  unclear: { class: string; count: number; example: Finding }[];
  /** Clear JS errors grouped by message class (the 40 most frequent), for review. */
  errorClasses: { class: string; count: number; family: string }[];
}

interface Task {
  family: string;
  from: number;
  to: number;
}

function reproduceCmd(o: FuzzOptions, fam: string, k: number): string {
  return `node dist/bench/fuzz/main.js --seed ${o.seed} --only ${fam} --case ${k}${o.device === 'cpu' ? '' : ` --device ${o.device}`} --verbose`;
}

/** Runs one child on `tasks`; resolves with its parsed log and how it ended. */
function runChild(o: FuzzOptions, tasks: Task[], tmpDir: string, id: number): Promise<{ lines: string[]; code: number | null; signal: string | null; hung: boolean; stderr: string }> {
  const log = path.join(tmpDir, `log-${id}.txt`);
  fs.writeFileSync(log, '');
  const spec: ChildSpec = { seed: o.seed, device: o.device, log, tmpDir, tasks, selfTestCrash: o.selfTestCrash };
  const childJs = path.join(__dirname, 'child.js');
  const nodeArgs = [childJs, JSON.stringify(spec)];
  const limitKb = Math.round(o.memLimitGb * 1024 * 1024);
  // the address-space limit: V8 reserves little up front, libtorch allocates with malloc (fails cleanly)
  const [cmd, args] = o.memLimitGb > 0 && process.platform === 'linux'
    ? ['/bin/sh', ['-c', `ulimit -v ${limitKb} && exec "$0" "$@"`, process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  return new Promise((resolve) => {
    const child = spawn(cmd, args as string[], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
    let stderr = '';
    child.stderr!.on('data', (d) => {
      if (stderr.length < 20000) stderr += String(d).split('\n').filter((l) => !/^[WI]\d{8} |^WARNING: Logging before/.test(l)).join('\n');
    });
    let lastSize = -1;
    let lastChange = Date.now();
    let hung = false;
    const timer = setInterval(() => {
      const size = fs.statSync(log).size;
      if (size !== lastSize) {
        lastSize = size;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > o.caseTimeout * 1000) {
        hung = true;
        child.kill('SIGKILL');
      }
    }, 250);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
      fs.rmSync(log, { force: true });
      resolve({ lines, code, signal, hung, stderr });
    });
  });
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzSummary> {
  const t0 = Date.now();
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `tsvision-fuzz-${o.seed}-`));
  const fams = o.only.length ? o.only.map(family) : FAMILIES;
  const counts: Record<string, FamilyCounts> = {};
  const queue: Task[] = [];
  for (const f of fams) {
    const n = o.caseIndex !== undefined ? 1 : f.count(o.calls, o.files);
    counts[f.name] = { kind: f.kind, cases: 0, ok: 0, error: 0, unclear: 0, mismatch: 0, crash: 0, hang: 0, liveTensorsAfter: 0 };
    const from = o.caseIndex ?? 0;
    for (let s = from; s < from + n; s += o.chunk) queue.push({ family: f.name, from: s, to: Math.min(from + n, s + o.chunk) });
  }
  const crashes: Finding[] = [];
  const unclear = new Map<string, { count: number; example: Finding }>();
  const errors = new Map<string, { count: number; family: string }>();
  let childId = 0;
  let done = 0;
  const total = queue.reduce((s, t) => s + t.to - t.from, 0);
  // with several jobs, no child takes more than its share of the cases
  const chunk = Math.max(1, Math.min(o.chunk, Math.ceil(total / Math.max(1, o.jobs))));
  for (let i = 0; i < queue.length; i++) {
    const t = queue[i];
    if (t.to - t.from > chunk) queue.splice(i, 1, { ...t, to: t.from + chunk }, { ...t, from: t.from + chunk });
  }

  async function worker(): Promise<void> {
    for (;;) {
      if (!queue.length) return;
      // a batch of tasks up to `chunk` cases for one child
      const batch: Task[] = [];
      let size = 0;
      while (queue.length && (batch.length === 0 || size + queue[0].to - queue[0].from <= chunk)) {
        const t = queue.shift()!;
        batch.push(t);
        size += t.to - t.from;
      }
      const res = await runChild(o, batch, tmpDir, childId++);
      let finishedTasks = 0;
      if (o.caseIndex !== undefined && !o.quiet) process.stdout.write(`case log:\n  ${res.lines.join('\n  ')}\n`);
      let cur: { family: string; k: number; calls: string[] } | null = null;
      let last: { family: string; k: number } | null = null;
      for (const line of res.lines) {
        const [tag, ...rest] = line.split('\t');
        if (tag === 'S') {
          cur = { family: rest[0], k: Number(rest[1]), calls: [] };
        } else if (tag === 'D' && cur) {
          cur.calls.push(rest.join('\t'));
          if (cur.calls.length > 6) cur.calls.shift();
        } else if (tag === 'E' && cur) {
          const outcome = rest[2] as 'ok' | 'error' | 'unclear' | 'mismatch';
          const c = counts[cur.family];
          c.cases++;
          c[outcome]++;
          if (outcome !== 'ok') {
            const info = JSON.parse(rest.slice(3).join('\t') || '{}') as { message?: string; reason?: string };
            const cls = errorClass(info.message ?? '');
            if (outcome === 'unclear' || outcome === 'mismatch') {
              const key = `${cur.family}: ${cls}`;
              const u = unclear.get(key);
              if (u) u.count++;
              else unclear.set(key, { count: 1, example: { family: cur.family, case: cur.k, kind: outcome, calls: cur.calls, detail: `${info.message} (${info.reason})`, reproduce: reproduceCmd(o, cur.family, cur.k) } });
            } else {
              const key = `${cur.family}: ${cls}`;
              const e = errors.get(key);
              if (e) e.count++;
              else errors.set(key, { count: 1, family: cur.family });
            }
          }
          last = { family: cur.family, k: cur.k };
          cur = null;
          done++;
        } else if (tag === 'L') {
          counts[rest[0]].liveTensorsAfter = Math.max(counts[rest[0]].liveTensorsAfter, Number(rest[1]));
          finishedTasks++;
        }
      }
      const finished = res.code === 0 && !res.hung && !cur;
      if (!finished) {
        // the case that was running: the one started last, else the one after the last that ended
        // tasks run in order and each ends with an L line: the first without one is the failed one
        const open = batch.slice(finishedTasks);
        const task = open[0];
        const k = cur ? cur.k : last && last.family === task.family && last.k >= task.from && last.k < task.to ? last.k + 1 : task.from;
        const kind = res.hung ? 'hang' : 'crash';
        const c = counts[task.family];
        c.cases++;
        c[kind]++;
        done++;
        const detail = res.hung ? `no progress for ${o.caseTimeout} s (killed)` : `child exited with ${res.signal ? `signal ${res.signal}` : `code ${res.code}`}; stderr: ${res.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`;
        const f: Finding = { family: task.family, case: k, kind, calls: cur ? cur.calls : [], detail, reproduce: reproduceCmd(o, task.family, k) };
        crashes.push(f);
        if (!o.quiet) process.stderr.write(`fuzz: ${kind} in ${task.family} case ${k}: ${f.calls.slice(-1)[0] ?? ''} — ${detail}\n`);
        // go on after the failed case: the rest of its task, then the tasks the child did not reach
        const rest: Task[] = [];
        if (k + 1 < task.to) rest.push({ family: task.family, from: k + 1, to: task.to });
        for (const t of open) if (t !== task) rest.push(t);
        queue.unshift(...rest);
      }
      if (!o.quiet && process.stderr.isTTY) process.stderr.write(`\rfuzz: ${done}/${total} cases`);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, worker));
  if (!o.quiet && process.stderr.isTTY) process.stderr.write('\n');
  fs.rmSync(tmpDir, { recursive: true, force: true });

  const totals = { cases: 0, ok: 0, error: 0, unclear: 0, mismatch: 0, crash: 0, hang: 0 };
  for (const c of Object.values(counts)) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += c[k];
  crashes.sort((a, b) => a.family.localeCompare(b.family) || a.case - b.case);
  return {
    seed: o.seed,
    device: o.device,
    calls: Object.values(counts).filter((c) => c.kind === 'call').reduce((s, c) => s + c.cases, 0),
    files: Object.values(counts).filter((c) => c.kind === 'file').reduce((s, c) => s + c.cases, 0),
    seconds: (Date.now() - t0) / 1000,
    families: counts,
    totals,
    crashes,
    unclear: [...unclear.entries()].map(([k, v]) => ({ class: k, ...v })).sort((a, b) => b.count - a.count),
    errorClasses: [...errors.entries()].map(([k, v]) => ({ class: k, ...v })).sort((a, b) => b.count - a.count).slice(0, 40),
  };
}

export function formatTable(s: FuzzSummary): string {
  const rows = [['family', 'kind', 'cases', 'ok', 'JS errors', 'unclear', 'reader mismatch', 'native crashes', 'hangs']];
  for (const [name, c] of Object.entries(s.families)) rows.push([name, c.kind, c.cases, c.ok, c.error, c.unclear, c.mismatch, c.crash, c.hang].map(String));
  rows.push(['total', '', s.totals.cases, s.totals.ok, s.totals.error, s.totals.unclear, s.totals.mismatch, s.totals.crash, s.totals.hang].map(String));
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((v, i) => (i < 2 ? v.padEnd(w[i]) : v.padStart(w[i]))).join('  ')).join('\n');
}

function parseArgs(argv: string[]): FuzzOptions & { out?: string; verbose: boolean } {
  const o: FuzzOptions & { out?: string; verbose: boolean } = { seed: 1, calls: 10000, files: 1000, device: 'cpu', jobs: 1, caseTimeout: 10, memLimitGb: 4, only: [], chunk: 100000, quiet: false, verbose: false };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`fuzz: ${flag} expects a non-negative number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case '--seed': o.seed = num(a, v); i++; break;
      case '--calls': o.calls = num(a, v); i++; break;
      case '--files': o.files = num(a, v); i++; break;
      case '--device': o.device = v; i++; break;
      case '--jobs': o.jobs = num(a, v); i++; break;
      case '--case-timeout': o.caseTimeout = num(a, v); i++; break;
      case '--mem-limit-gb': o.memLimitGb = num(a, v); i++; break;
      case '--chunk': o.chunk = Math.max(1, num(a, v)); i++; break;
      case '--only': o.only = v.split(',').filter(Boolean); i++; break;
      case '--case': o.caseIndex = num(a, v); i++; break;
      case '--out': o.out = v; i++; break;
      case '--quiet': o.quiet = true; break;
      case '--verbose': o.verbose = true; break;
      default: throw new Error(`fuzz: unknown argument '${a}' (see the comment at the top of bench/fuzz/main.ts)`);
    }
  }
  if (o.caseIndex !== undefined && o.only.length !== 1) throw new Error('fuzz: --case needs --only with one family');
  return o;
}

async function cli(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.device !== 'cpu') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const torch = require('../../src/torch') as typeof import('../../src/torch');
    if (!torch.cuda.isAvailable()) throw new Error(`fuzz: --device ${o.device}: ${torch.buildInfo().cuda ? 'no CUDA device is available' : 'this build of the native addon has no CUDA support'}`);
  }
  const s = await runFuzz(o);
  console.log(`fuzz: seed ${s.seed}, device ${s.device}: ${s.calls} binding calls, ${s.files} files in ${s.seconds.toFixed(1)} s`);
  console.log(formatTable(s));
  for (const c of s.crashes) console.log(`\n${c.kind.toUpperCase()} ${c.family} #${c.case}: ${c.detail}\n  last calls: ${c.calls.join(' / ')}\n  reproduce: ${c.reproduce}`);
  if (s.unclear.length) {
    console.log('\nunclear errors and reader mismatches (by class):');
    for (const u of s.unclear) console.log(`  ${u.count}× ${u.class}\n     e.g. case ${u.example.case}: ${u.example.calls.slice(-1)[0] ?? ''}\n     ${u.example.detail.slice(0, 300)}`);
  }
  if (o.verbose || o.caseIndex !== undefined) {
    console.log('\nerror classes:');
    for (const e of s.errorClasses) console.log(`  ${e.count}× ${e.class}`);
  }
  if (o.caseIndex === undefined) {
    const out = o.out ?? path.join(repoRoot, 'bench', 'results', `fuzz-${o.device.replace(/[^a-z0-9]/gi, '')}-seed${o.seed}.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(s, null, 2) + '\n');
    console.log(`\nsummary: ${path.relative(process.cwd(), out)}`);
  }
  process.exitCode = s.totals.crash + s.totals.hang > 0 ? 1 : 0;
}

if (require.main === module) {
  cli().catch((err) => {
    console.error((err as Error).message);
    process.exit(2);
  });
}
