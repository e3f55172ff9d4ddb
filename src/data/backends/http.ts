/** HTTP(S) file backend: GET with a timeout per try and retries with backoff on network errors, 5xx and 429. */
import { FileNotFoundError, type FileBackend } from './backend';

export interface HttpBackendOptions {
  retries?: number;
  timeoutMs?: number;
  /** First backoff in ms (doubles per retry). */
  backoffMs?: number;
}

export class HttpBackend implements FileBackend {
  private readonly retries: number;
  private readonly timeoutMs: number;
  private readonly backoffMs: number;

  constructor(readonly baseUrl: string, opts: HttpBackendOptions = {}) {
    this.retries = opts.retries ?? 3;
    this.timeoutMs = opts.timeoutMs ?? 30000;
    this.backoffMs = opts.backoffMs ?? 200;
  }

  url(key: string): string {
    if (/^https?:\/\//.test(key)) return key;
    const base = this.baseUrl.endsWith('/') ? this.baseUrl : this.baseUrl + '/';
    return base + key.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
  }

  /** Fetches with retries; 404 resolves to undefined. */
  private async fetchRetrying(key: string, method: 'GET' | 'HEAD'): Promise<Response | undefined> {
    const url = this.url(key);
    let lastError = '';
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** (attempt - 1)));
      try {
        const res = await fetch(url, { method, signal: AbortSignal.timeout(this.timeoutMs) });
        if (res.status === 404 || res.status === 410) return undefined;
        if (res.ok) return res;
        lastError = `HTTP ${res.status} ${res.statusText}`;
        await res.body?.cancel();
        if (res.status < 500 && res.status !== 429) break; // other client errors will not change on retry
      } catch (err) {
        const e = err as Error;
        lastError = e.name === 'TimeoutError' ? `no answer in ${this.timeoutMs} ms` : `${e.message}${(e.cause as Error)?.message ? `: ${(e.cause as Error).message}` : ''}`;
      }
    }
    throw new Error(`${url}: ${lastError} (after ${this.retries + 1} tries)`);
  }

  async get(key: string): Promise<Uint8Array> {
    const res = await this.fetchRetrying(key, 'GET');
    if (!res) throw new FileNotFoundError(this.url(key), 'HTTP 404');
    return new Uint8Array(await res.arrayBuffer());
  }

  async getText(key: string): Promise<string> {
    return new TextDecoder().decode(await this.get(key));
  }

  async exists(key: string): Promise<boolean> {
    return (await this.fetchRetrying(key, 'HEAD')) !== undefined;
  }

  async list(prefix: string): Promise<string[]> {
    throw new Error(`${this.url(prefix)}: HTTP has no directory listing; read the dataset's annotation file instead`);
  }

  async close(): Promise<void> {}
}
