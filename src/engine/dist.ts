/**
 * What the runner exchanges between ranks besides gradients: barriers, small JSON values chosen
 * by rank 0 (the checkpoint to resume from, validation metrics), per-rank RNG states, and the
 * evaluators' accumulated results gathered to rank 0 one rank at a time through the store.
 *
 * Every method is collective: all ranks call the same methods in the same order (the store keys
 * are numbered by call). A failure (a peer that died, a collective that timed out) becomes an
 * Error that names this rank and what it was doing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as torch from '../torch';
import type { Tensor } from '../torch';
import type { ProcessGroup } from '../distributed';

const KEY_PREFIX = 'tsvision/runner/';

/** The phases of a training iteration a rank marks (RunDist.mark), in order. */
export const PHASES = ['data', 'forward', 'backward', 'step', 'hooks'] as const;
export type Phase = (typeof PHASES)[number];

/**
 * Whether process `pid` of this host still runs: it exists and (where /proc says) is not a
 * zombie; a killed rank stays a zombie until its launcher reaps it, which may be after a peer
 * noticed the broken connection.
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true; // no /proc: it exists
  }
}

export class RunDist {
  private calls = 0;
  /** Set once every rank has registered its host and pid (see register()). */
  private registered = false;

  constructor(readonly pg: ProcessGroup) {}

  /**
   * Records this process's host and pid in the store, then runs `firstCollective`: once it
   * returns, every rank has registered, so a later failure can look its peers up (deadPeers).
   */
  register<T>(firstCollective: () => T): T {
    this.pg.store.set(`${KEY_PREFIX}proc/${this.rank}`, JSON.stringify({ host: os.hostname(), pid: process.pid }));
    const out = firstCollective();
    this.registered = true;
    return out;
  }

  /**
   * After a failed collective: the peers on this host that are no longer running, as
   * ' (rank 1, pid 123, is no longer running)', or '' when none is known to have died (a peer on
   * another host, a hung one, or rank 0 whose store is gone). A dying process closes its
   * sockets before it is gone, so the peers are watched for up to `waitMs`.
   */
  deadPeers(waitMs = 1000): string {
    if (!this.registered) return '';
    const peers: { rank: number; pid: number }[] = [];
    for (let r = 0; r < this.worldSize; r++) {
      if (r === this.rank) continue;
      try {
        const { host, pid } = JSON.parse(this.pg.store.getString(`${KEY_PREFIX}proc/${r}`)) as { host: string; pid: number };
        if (host === os.hostname()) peers.push({ rank: r, pid });
      } catch {
        // rank 0's store is unreachable: rank 0 is gone
        return r === 0 ? ' (rank 0 is gone: its store is unreachable)' : '';
      }
    }
    const until = Date.now() + waitMs;
    for (;;) {
      const dead = peers.filter((p) => !isRunning(p.pid)).map((p) => `rank ${p.rank}, pid ${p.pid}`);
      if (dead.length > 0) return ` (${dead.join('; ')}: no longer running)`;
      if (peers.length === 0 || Date.now() >= until) return '';
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }

  /**
   * Records in the store where this rank is (the iteration it works on and the phase), so that a
   * peer whose collective fails or times out can say which rank is behind. Best effort: a store
   * that is gone makes the next collective fail, with its own message.
   */
  mark(iter: number, phase: Phase): void {
    try {
      this.pg.store.withTimeout(this.queryTimeoutMs, () => this.pg.store.set(`${KEY_PREFIX}at/${this.rank}`, `${iter} ${phase}`));
    } catch {
      // reported by the next collective
    }
  }

  /**
   * The bound on the best-effort store operations (mark, and the queries after a failure): a peer
   * stopped while sending the store server a request stalls the server, and each operation would
   * otherwise wait the job's whole timeout (seen: 8 s of queries after a 4 s collective timeout).
   */
  private get queryTimeoutMs(): number {
    return Math.min(1000, this.pg.timeoutMs);
  }

  /**
   * After a failed collective: the ranks behind this one by their last mark(), as
   * ' (rank 1 is behind, at iteration 7 (forward), this rank at iteration 7 (backward): it hung or is slow)',
   * or '' when no rank is known to be behind.
   */
  laggards(): string {
    const order = (iter: number, phase: string) => iter * PHASES.length + Math.max(0, PHASES.indexOf(phase as Phase));
    const at: { rank: number; iter: number; phase: string }[] = [];
    try {
      for (let r = 0; r < this.worldSize; r++) {
        const [iter, phase] = this.pg.store.getString(`${KEY_PREFIX}at/${r}`).split(' ');
        at.push({ rank: r, iter: Number(iter), phase });
      }
    } catch {
      return ''; // a rank that never marked, or the store is gone
    }
    const me = at[this.rank];
    const behind = at.filter((a) => order(a.iter, a.phase) < order(me.iter, me.phase));
    if (behind.length === 0) return '';
    const where = (a: { iter: number; phase: string }) => `iteration ${a.iter} (${a.phase})`;
    return ` (${behind.map((b) => `rank ${b.rank} is behind, at ${where(b)}`).join('; ')}; this rank at ${where(me)}: it hung or is slow)`;
  }

  /** What a failure message adds about the peers: the dead ones on this host, else the ones behind. */
  peers(): string {
    try {
      return this.pg.store.withTimeout(this.queryTimeoutMs, () => this.deadPeers() || this.laggards());
    } catch {
      return ''; // the store is closed
    }
  }

  get rank(): number {
    return this.pg.rank;
  }
  get worldSize(): number {
    return this.pg.worldSize;
  }
  get isMain(): boolean {
    return this.pg.rank === 0;
  }

  /** Runs `fn`, turning its error into one that names this rank, `what`, and the likely cause. */
  guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw this.failure(what, e);
    }
  }

  private failure(what: string, e: unknown): Error {
    const message = e instanceof Error ? e.message : String(e);
    if (/^rank \d+: /.test(message)) return e as Error;
    return new Error(`rank ${this.rank}: ${what} failed: ${message} (another rank died, failed or hung; collectives time out after ${this.pg.timeoutMs / 1000} s)${this.peers()}`);
  }

  /** Returns once every rank got here. */
  barrier(what: string): void {
    this.guard(`barrier (${what})`, () => this.pg.barrier().wait());
  }

  private key(what: string): string {
    return `${KEY_PREFIX}${this.calls++}/${what}`;
  }

  /**
   * Rank 0's `value()` on every rank (JSON). If value() throws on rank 0, the others throw an
   * error quoting it instead of waiting for the timeout.
   */
  async shareFromMain<T>(what: string, value: () => T | Promise<T>): Promise<T> {
    const key = this.key(what);
    const store = this.pg.store;
    if (this.isMain) {
      let v: T;
      try {
        v = await value();
      } catch (e) {
        store.set(key, JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
        throw e;
      }
      this.guard(`sharing ${what}`, () => store.set(key, JSON.stringify({ value: v })));
      return v;
    }
    const got = JSON.parse(this.guard(`waiting for rank 0's ${what}`, () => store.getString(key))) as { value?: T; error?: string };
    if (got.error !== undefined) throw new Error(`rank ${this.rank}: rank 0 failed computing ${what}: ${got.error}`);
    return got.value as T;
  }

  /** Every rank's copy of `t` (same shape and dtype on all ranks), by rank. The caller owns them. */
  allgather(what: string, t: Tensor): Tensor[] {
    const outputs = Array.from({ length: this.worldSize }, () => torch.zerosLike(t));
    try {
      this.guard(`allgather (${what})`, () => this.pg.allgather(outputs, t.contiguous()).wait());
    } catch (e) {
      torch.dispose(outputs);
      throw e;
    }
    return outputs;
  }

  /**
   * Gathers `state()` of every rank to rank 0, one rank at a time: rank 0 asks rank r for its
   * state, reads it, clears the store's copy and hands it to `take` before asking rank r + 1, so
   * neither the store nor rank 0 holds more than one other rank's state at once. Ranks > 0 return
   * after sending.
   */
  async gatherToMain(what: string, state: () => unknown | Promise<unknown>, take: (state: unknown, rank: number) => void): Promise<void> {
    const key = this.key(what);
    const store = this.pg.store;
    if (this.isMain) {
      for (let r = 1; r < this.worldSize; r++) {
        this.guard(`asking rank ${r} for its ${what}`, () => store.set(`${key}/go/${r}`, '1'));
        const text = this.guard(`waiting for rank ${r}'s ${what}`, () => store.getString(`${key}/state/${r}`));
        store.set(`${key}/state/${r}`, ''); // frees the store's copy
        take(JSON.parse(text), r);
      }
      return;
    }
    this.guard(`waiting for rank 0 to ask for the ${what}`, () => store.getString(`${key}/go/${this.rank}`));
    const text = JSON.stringify(await state());
    this.guard(`sending the ${what}`, () => store.set(`${key}/state/${this.rank}`, text));
  }
}
