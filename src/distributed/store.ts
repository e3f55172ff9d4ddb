/**
 * Rendezvous stores of libtorch's c10d: a key-value store that every process of a job
 * reaches, used by the process group to exchange addresses. TCPStore (one process, rank 0,
 * serves it) and FileStore (a file on a file system every process sees).
 */
import { native, type NativeDistributed, type NativeStore } from '../torch/native';

/** The c10d binding, or an Error saying the addon was built without it. */
export function c10d(): NativeDistributed {
  const d = native.distributed;
  if (!d) {
    throw new Error('tsvision.distributed: the native addon was built without a c10d backend (neither Gloo, whose gloo/config.h ' +
      "was not found under libtorch's include directories at build time, nor NCCL, which only a CUDA libtorch has): with Debian's " +
      'libtorch install libgloo-dev, e.g. `bash scripts/setup.sh`, then `npm run build:native`; a pip PyTorch ships no Gloo headers)');
  }
  return d;
}

/** Throws a TypeError / RangeError naming `fn` and `name` unless v is an integer in [lo, hi]. */
export function checkInt(fn: string, name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${fn}: ${name} should be an integer in [${lo}, ${hi}], got ${describeValue(v)}`);
  }
  if (v < lo || v > hi) throw new RangeError(`${fn}: ${name} should be an integer in [${lo}, ${hi}], got ${v}`);
  return v;
}

export function describeValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Default timeout of stores and process groups: 30 minutes, as torch.distributed. */
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;
const MAX_TIMEOUT_MS = 2 ** 40;

export interface TcpStoreOptions {
  host: string;
  port: number;
  /** Number of processes that will use the store. */
  worldSize: number;
  /** True in exactly one process (rank 0): it listens on host:port; the others connect. */
  isServer: boolean;
  /** How long clients retry connecting and get() waits for a key (default 30 minutes). */
  timeoutMs?: number;
  /** The server's constructor waits until worldSize clients have connected (default false). */
  waitWorkers?: boolean;
}

export interface FileStoreOptions {
  /** A file every process can reach (created if absent; removed when the last process is done with it). */
  path: string;
  worldSize: number;
  timeoutMs?: number;
}

/** A c10d store. close() releases it; a closed store throws on every use. */
export class Store {
  private handle: NativeStore | null;

  private constructor(handle: NativeStore, readonly kind: 'TCPStore' | 'FileStore', readonly timeoutMs: number) {
    this.handle = handle;
  }

  /** c10d::TCPStore. A client retries connecting until the timeout. */
  static tcp(opts: TcpStoreOptions): Store {
    const fn = 'TCPStore';
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`${fn}: options should be an object`);
    if (typeof opts.host !== 'string' || opts.host === '') throw new TypeError(`${fn}: host should be a non-empty string, got ${describeValue(opts.host)}`);
    checkInt(fn, 'port', opts.port, opts.isServer ? 0 : 1, 65535);
    checkInt(fn, 'worldSize', opts.worldSize, 1, 1 << 20);
    if (typeof opts.isServer !== 'boolean') throw new TypeError(`${fn}: isServer should be a boolean, got ${describeValue(opts.isServer)}`);
    const timeoutMs = checkInt(fn, 'timeoutMs', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, MAX_TIMEOUT_MS);
    const h = c10d().tcpStore(opts.host, opts.port, opts.worldSize, opts.isServer, timeoutMs, opts.waitWorkers ?? false);
    return new Store(h, 'TCPStore', timeoutMs);
  }

  /** c10d::FileStore. */
  static file(opts: FileStoreOptions): Store {
    const fn = 'FileStore';
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`${fn}: options should be an object`);
    if (typeof opts.path !== 'string' || opts.path === '') throw new TypeError(`${fn}: path should be a non-empty string, got ${describeValue(opts.path)}`);
    checkInt(fn, 'worldSize', opts.worldSize, 1, 1 << 20);
    const timeoutMs = checkInt(fn, 'timeoutMs', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, MAX_TIMEOUT_MS);
    return new Store(c10d().fileStore(opts.path, opts.worldSize, timeoutMs), 'FileStore', timeoutMs);
  }

  /** @internal the native store (throws once closed). */
  get native(): NativeStore {
    if (!this.handle) throw new Error(`${this.kind}: the store is closed`);
    return this.handle;
  }

  get closed(): boolean {
    return this.handle === null;
  }

  set(key: string, value: string | Uint8Array): void {
    c10d().storeSet(this.native, key, value);
  }

  /** The value of key, waiting for it to be set up to the store's timeout. */
  get(key: string): Uint8Array {
    return c10d().storeGet(this.native, key);
  }

  /** get() decoded as UTF-8. */
  getString(key: string): string {
    return Buffer.from(this.get(key)).toString('utf8');
  }

  /** Adds delta to the integer at key (0 if unset) and returns the new value. */
  add(key: string, delta: number): number {
    return c10d().storeAdd(this.native, key, delta);
  }

  /**
   * Runs fn with every store operation bounded by timeoutMs (a key not set yet, and a server that
   * does not answer: a TCPStore server stalls while a peer stopped in the middle of sending it a
   * request), then restores the store's timeout. For best-effort queries that must not wait the
   * job's whole timeout.
   */
  withTimeout<T>(timeoutMs: number, fn: () => T): T {
    checkInt('Store.withTimeout', 'timeoutMs', timeoutMs, 1, MAX_TIMEOUT_MS);
    const previous = c10d().storeSetTimeout(this.native, timeoutMs);
    try {
      return fn();
    } finally {
      if (this.handle) c10d().storeSetTimeout(this.handle, previous);
    }
  }

  /** Releases the store now (idempotent). A process group built on it keeps its own reference until closed. */
  close(): void {
    if (this.handle) c10d().storeClose(this.handle);
    this.handle = null;
  }
}
