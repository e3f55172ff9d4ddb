/**
 * `tsvision train --nproc-per-node N`: a torchrun-like launcher. The parent process starts N
 * children (this node's ranks) with the same command line minus the launcher's flags and
 * torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR,
 * MASTER_PORT); each child joins the process group from env:// and trains its shard.
 *
 * The parent forwards the children's output (stderr lines, and stdout lines of ranks > 0,
 * prefixed `[rank R] `), forwards SIGINT/SIGTERM to them, and when one child fails (non-zero
 * exit or a signal) stops the others and exits non-zero naming the rank that failed first. The
 * others get a few seconds to fail by themselves first (their collectives fail at once when a
 * peer dies), so their own messages say what they saw.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_TIMEOUT_MS, destroyProcessGroup, initProcessGroup } from '../distributed';
import { UsageError, numberOption } from './command';

/** The command-line options of a command that can be launched distributed (node:util parseArgs form). */
export const DISTRIBUTED_OPTIONS = {
  'nproc-per-node': { type: 'string' },
  nnodes: { type: 'string' },
  'node-rank': { type: 'string' },
  'master-addr': { type: 'string' },
  'master-port': { type: 'string' },
  'dist-timeout': { type: 'string' },
} as const;

/** The CLI entry the launcher starts its children with. */
export const CLI_SCRIPT = path.resolve(__dirname, '..', '..', '..', 'bin', 'tsvision');

/** WORLD_SIZE of the environment (torchrun's), 1 when unset. */
export function envWorldSize(command: string): number {
  const raw = process.env.WORLD_SIZE;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${command}: the environment variable WORLD_SIZE should be an integer >= 1, got '${raw}'`);
  if (n > 1 && (process.env.RANK ?? '') === '') throw new UsageError(`${command}: WORLD_SIZE is set but RANK is not (set both, as torchrun does, or neither)`);
  return n;
}

/**
 * Runs `work` as this process's part of the job: alone when the environment has no WORLD_SIZE > 1;
 * else as rank RANK, after joining the default process group from env:// (torchrun's variables),
 * which is destroyed afterwards. Errors are prefixed with the rank and marked `exitNow`: the CLI
 * then ends the process with process.exit (see the catch below).
 */
export async function runAsRank(command: string, distTimeout: string | undefined, work: () => Promise<number>): Promise<number> {
  const distTimeoutS = numberOption(command, 'dist-timeout', distTimeout, DEFAULT_TIMEOUT_MS / 1000, { min: 0.001 });
  const worldSize = envWorldSize(command);
  if (worldSize <= 1) return work();
  const rank = process.env.RANK ?? '?';
  try {
    initProcessGroup({ initMethod: 'env://', timeoutMs: Math.round(distTimeoutS * 1000) });
  } catch (e) {
    throw new Error(`rank ${rank}: joining the process group of ${worldSize} at ${process.env.MASTER_ADDR}:${process.env.MASTER_PORT} failed: ${(e as Error).message}`);
  }
  let code: number;
  try {
    code = await work();
  } catch (e) {
    // The group is left open: closing it would join rank 0's store server thread, which waits on
    // the sockets of peers that may be hung (a stopped process keeps them open) and would keep this
    // process from ever exiting. The CLI exits the process after reporting the error.
    if (e instanceof Error && !/^rank \d+: /.test(e.message)) e.message = `rank ${rank}: ${e.message}`;
    if (e instanceof Error) (e as Error & { exitNow?: boolean }).exitNow = true;
    throw e;
  }
  destroyProcessGroup();
  return code;
}

/** The launcher's flags (they are not passed on to the children). */
export const LAUNCHER_FLAGS = ['nproc-per-node', 'nnodes', 'node-rank', 'master-addr', 'master-port'] as const;

export interface LaunchOptions {
  /** Processes on this node. */
  nprocPerNode: number;
  /** Nodes in the job (default 1). */
  nnodes: number;
  /** This node's index in [0, nnodes). */
  nodeRank: number;
  /** Address of rank 0's node (it serves the rendezvous store). */
  masterAddr: string;
  masterPort: number;
  /** No start-up lines (world size, ranks' pids); failures are still reported. */
  quiet?: boolean;
}

/** After a child fails, how long the others may take to exit by themselves before SIGTERM. */
const FAIL_GRACE_MS = 3000;
/** How long the children get to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 5000;

/**
 * The launcher options among parsed `values` (undefined: no --nproc-per-node, not a launch).
 * Bad values are UsageErrors that name the flag.
 */
export function launchOptions(command: string, values: Record<string, unknown>): LaunchOptions | undefined {
  const str = (k: string) => values[k] as string | undefined;
  if (values['nproc-per-node'] === undefined) {
    const stray = LAUNCHER_FLAGS.filter((k) => values[k] !== undefined);
    if (stray.length > 0) throw new UsageError(`${command}: --${stray[0]} needs --nproc-per-node (the launcher's process count on this node)`);
    return undefined;
  }
  const nprocPerNode = numberOption(command, 'nproc-per-node', str('nproc-per-node'), 1, { integer: true, min: 1 });
  const nnodes = numberOption(command, 'nnodes', str('nnodes'), 1, { integer: true, min: 1 });
  const nodeRank = numberOption(command, 'node-rank', str('node-rank'), 0, { integer: true, min: 0 });
  if (nodeRank >= nnodes) throw new UsageError(`${command}: --node-rank ${nodeRank} must be less than --nnodes ${nnodes}`);
  const masterPort = numberOption(command, 'master-port', str('master-port'), 29500, { integer: true, min: 1 });
  if (masterPort > 65535) throw new UsageError(`${command}: --master-port expects a port in [1, 65535], got '${str('master-port')}'`);
  const masterAddr = str('master-addr') ?? '127.0.0.1';
  if (masterAddr === '' || /\s/.test(masterAddr)) throw new UsageError(`${command}: --master-addr expects a host name or address, got '${masterAddr}'`);
  if (nnodes > 1 && str('master-addr') === undefined && nodeRank > 0) {
    throw new UsageError(`${command}: --master-addr is required on node ${nodeRank} of ${nnodes} (the address of node 0)`);
  }
  return { nprocPerNode, nnodes, nodeRank, masterAddr, masterPort };
}

/** `argv` without the launcher's flags and their values (`--flag V` and `--flag=V`). */
export function stripLauncherFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const flag = LAUNCHER_FLAGS.find((f) => a === `--${f}` || a.startsWith(`--${f}=`));
    if (flag === undefined) out.push(a);
    else if (a === `--${flag}`) i++; // its value
  }
  return out;
}

/** Writes each complete line of a stream with `prefix` in front. */
function forwardLines(stream: NodeJS.ReadableStream, to: NodeJS.WritableStream, prefix: string): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) to.write(`${prefix}${line}\n`);
  });
  stream.on('end', () => {
    if (rest) to.write(`${prefix}${rest}\n`);
  });
}

/**
 * Runs `node script ...args` once per local rank and resolves to the exit code: 0 when every
 * child exited 0; 1 (with a message naming the first failure) when one failed; 128 + signal
 * number when the launcher itself was interrupted.
 */
export function launch(command: string, script: string, args: readonly string[], o: LaunchOptions): Promise<number> {
  const worldSize = o.nnodes * o.nprocPerNode;
  const threads = String(Math.max(1, Math.floor((os.availableParallelism?.() ?? os.cpus().length) / o.nprocPerNode)));
  const children: { rank: number; local: number; proc: ChildProcess; exited: boolean }[] = [];
  let failure: string | undefined;
  let interrupted: NodeJS.Signals | undefined;
  let termTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const stopOthers = () => {
    termTimer ??= setTimeout(() => {
      for (const c of children) if (!c.exited) c.proc.kill('SIGTERM');
      killTimer = setTimeout(() => {
        for (const c of children) if (!c.exited) c.proc.kill('SIGKILL');
      }, KILL_GRACE_MS);
    }, FAIL_GRACE_MS);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted ??= signal;
    for (const c of children) if (!c.exited) c.proc.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (!o.quiet) console.error(`${command}: launching ${o.nprocPerNode} process(es) on node ${o.nodeRank} of ${o.nnodes} (world size ${worldSize}, master ${o.masterAddr}:${o.masterPort})`);
  return new Promise((resolve) => {
    let running = o.nprocPerNode;
    for (let local = 0; local < o.nprocPerNode; local++) {
      const rank = o.nodeRank * o.nprocPerNode + local;
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        RANK: String(rank),
        LOCAL_RANK: String(local),
        WORLD_SIZE: String(worldSize),
        LOCAL_WORLD_SIZE: String(o.nprocPerNode),
        GROUP_RANK: String(o.nodeRank),
        MASTER_ADDR: o.masterAddr,
        MASTER_PORT: String(o.masterPort),
        OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? threads,
      };
      // libtorch's intra-op threads follow TSVISION_NUM_THREADS (the runtime's default is one per core)
      env.TSVISION_NUM_THREADS ??= env.OMP_NUM_THREADS;
      const proc = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const child = { rank, local, proc, exited: false };
      children.push(child);
      if (!o.quiet) console.error(`${command}: rank ${rank} (local rank ${local}): pid ${proc.pid}`);
      const tag = `[rank ${rank}] `;
      forwardLines(proc.stdout!, process.stdout, rank === 0 ? '' : tag);
      forwardLines(proc.stderr!, process.stderr, tag);
      proc.on('error', (e) => {
        failure ??= `rank ${rank} (local rank ${local}) could not start: ${e.message}`;
        stopOthers();
      });
      proc.on('exit', (code, signal) => {
        child.exited = true;
        if ((code !== 0 || signal !== null) && failure === undefined && interrupted === undefined) {
          failure = `rank ${rank} (local rank ${local}, pid ${proc.pid}) ${signal ? `was killed by signal ${signal}` : `exited with code ${code}`}`;
          stopOthers();
        }
      });
      proc.on('close', () => {
        if (--running > 0) return;
        clearTimeout(termTimer);
        clearTimeout(killTimer);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        if (interrupted) {
          console.error(`${command}: interrupted (${interrupted}); stopped all ${o.nprocPerNode} local process(es)`);
          resolve(128 + (os.constants.signals[interrupted] ?? 2));
        } else if (failure) {
          console.error(`${command}: ${failure}; stopped the other local processes`);
          resolve(1);
        } else resolve(0);
      });
    }
  });
}
