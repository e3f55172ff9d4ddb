/**
 * What the runner exchanges between ranks besides gradients: barriers, small JSON values chosen
 * by rank 0 (the checkpoint to resume from, validation metrics), per-rank RNG states, and the
 * evaluators' accumulated results gathered to rank 0 one rank at a time through the store.
 *
 * Every method is collective: all ranks call the same methods in the same order (the store keys
 * are numbered by call). A failure (a peer that died, a collective that timed out) becomes an
 * Error that names this rank and what it was doing.
 */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import type { ProcessGroup } from '../distributed';

const KEY_PREFIX = 'tsvision/runner/';

export class RunDist {
  private calls = 0;

  constructor(readonly pg: ProcessGroup) {}

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
    return new Error(`rank ${this.rank}: ${what} failed: ${message} (another rank died, failed or hung; collectives time out after ${this.pg.timeoutMs / 1000} s)`);
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
