/** One interface for reading dataset files from local disk, a memcached server or HTTP(S). */

export interface FileBackend {
  /** The bytes stored under `key` (a file path, or a path relative to the backend's root); throws naming the key when missing. */
  get(key: string): Promise<Uint8Array>;
  /** `get` decoded as UTF-8. */
  getText(key: string): Promise<string>;
  exists(key: string): Promise<boolean>;
  /** Keys below `prefix` (recursively), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Releases connections; the backend is unusable afterwards. */
  close(): Promise<void>;
}

/** A missing key; the message names it and the backend. */
export class FileNotFoundError extends Error {
  override name = 'FileNotFoundError';
  constructor(readonly key: string, where: string) {
    super(`${key}: not found (${where})`);
  }
}

/** Serializable backend settings (the loader sends them to its worker threads). */
export type BackendSpec =
  | { kind: 'local'; /** Relative keys resolve against this folder (default: the working directory). */ root?: string }
  | {
      kind: 'memcached';
      /** 'host:port', e.g. '127.0.0.1:11211'. */
      server: string;
      /** Prepended to every key, so several datasets can share a server. */
      prefix?: string;
      /** Read keys that are not cached from local disk instead of failing. */
      fallbackToDisk?: boolean;
    }
  | { kind: 'http'; /** Keys are appended to this URL. */ baseUrl: string; retries?: number; timeoutMs?: number };
