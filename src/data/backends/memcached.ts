/**
 * A memcached client over node:net (text protocol), and the memcached file backend.
 *
 * Requests are pipelined on one connection and answered in order. Values larger than
 * memcached's item size (1 MB by default) are split: the key holds a small header
 * (flags = CHUNKED, body "chunks:<n>:<bytes>") and the parts live under "<key>#<i>".
 */
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { FileNotFoundError, type FileBackend } from './backend';
import { LocalBackend } from './local';

const CHUNKED = 1;
/** Key (after the prefix) of the JSON list of cached file keys. */
const INDEX_KEY = '__tsvision_index__';
/** Bytes per chunk: under the default 1 MB item size once key and item overhead are counted. */
export const CHUNK_BYTES = 1000 * 1000;

interface Pending {
  /** Tries to parse a full reply at buf[offset..]; returns the bytes consumed, or -1 if incomplete. */
  parse(buf: Buffer, offset: number): number;
  reject(err: Error): void;
}

export class MemcachedClient {
  private socket: net.Socket | undefined;
  private connecting: Promise<net.Socket> | undefined;
  private queue: Pending[] = [];
  private buf: Buffer = Buffer.alloc(0);

  constructor(readonly host: string, readonly port: number, readonly timeoutMs = 10000) {}

  /** Parses 'host:port'. */
  static fromServer(server: string): MemcachedClient {
    const m = /^(.+):(\d+)$/.exec(server);
    if (!m) throw new Error(`memcached: server should be 'host:port', got '${server}'`);
    return new MemcachedClient(m[1], Number(m[2]));
  }

  private connect(): Promise<net.Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection({ host: this.host, port: this.port });
      s.setNoDelay(true);
      const onError = (err: Error) => {
        this.connecting = undefined;
        reject(new Error(`memcached ${this.host}:${this.port}: ${err.message}`));
      };
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        s.on('error', (err) => this.fail(new Error(`memcached ${this.host}:${this.port}: ${err.message}`)));
        s.on('close', () => this.fail(new Error(`memcached ${this.host}:${this.port}: connection closed`)));
        s.on('data', (d) => this.onData(d));
        this.socket = s;
        resolve(s);
      });
    });
    return this.connecting;
  }

  private fail(err: Error): void {
    const q = this.queue;
    this.queue = [];
    this.socket?.destroy();
    this.socket = undefined;
    this.connecting = undefined;
    for (const p of q) p.reject(err);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let offset = 0;
    while (this.queue.length) {
      let used: number;
      try {
        used = this.queue[0].parse(this.buf, offset);
      } catch (err) {
        this.queue.shift()!.reject(err as Error);
        this.fail(err as Error); // the stream is out of step: start over
        return;
      }
      if (used < 0) break;
      this.queue.shift();
      offset += used;
    }
    this.buf = offset >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(offset);
  }

  private async request<T>(payload: Buffer[], parse: (buf: Buffer, offset: number, done: (v: T) => void) => number): Promise<T> {
    const s = await this.connect();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`memcached ${this.host}:${this.port}: no reply in ${this.timeoutMs} ms`)), this.timeoutMs);
      this.queue.push({
        parse: (buf, off) => parse(buf, off, (v) => { clearTimeout(timer); resolve(v); }),
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      for (const p of payload) s.write(p);
    });
  }

  /** Values of `keys` that exist (multi-get). */
  async getMulti(keys: string[]): Promise<Map<string, { flags: number; value: Buffer }>> {
    keys.forEach(checkKey);
    return this.request([Buffer.from(`get ${keys.join(' ')}\r\n`)], (buf, off, done) => {
      const out = new Map<string, { flags: number; value: Buffer }>();
      let p = off;
      for (;;) {
        const eol = buf.indexOf('\r\n', p);
        if (eol < 0) return -1;
        const line = buf.toString('latin1', p, eol);
        if (line === 'END') {
          done(out);
          return eol + 2 - off;
        }
        const m = /^VALUE (\S+) (\d+) (\d+)/.exec(line);
        if (!m) throw new Error(`memcached: unexpected reply '${line.slice(0, 80)}'`);
        const n = Number(m[3]);
        if (buf.length < eol + 2 + n + 2) return -1;
        out.set(m[1], { flags: Number(m[2]), value: Buffer.from(buf.subarray(eol + 2, eol + 2 + n)) });
        p = eol + 2 + n + 2;
      }
    });
  }

  /** One line of reply to a storage/delete/admin command. */
  private simple(cmd: Buffer[]): Promise<string> {
    return this.request(cmd, (buf, off, done) => {
      const eol = buf.indexOf('\r\n', off);
      if (eol < 0) return -1;
      done(buf.toString('latin1', off, eol));
      return eol + 2 - off;
    });
  }

  async set(key: string, value: Uint8Array, flags = 0, exptime = 0): Promise<void> {
    checkKey(key);
    const reply = await this.simple([Buffer.from(`set ${key} ${flags} ${exptime} ${value.byteLength}\r\n`), Buffer.from(value.buffer, value.byteOffset, value.byteLength), Buffer.from('\r\n')]);
    if (reply !== 'STORED') throw new Error(`memcached: set ${key} (${value.byteLength} bytes): ${reply}`);
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    const reply = await this.simple([Buffer.from(`delete ${key}\r\n`)]);
    return reply === 'DELETED';
  }

  async flushAll(): Promise<void> {
    await this.simple([Buffer.from('flush_all\r\n')]);
  }

  /** All keys in the server (lru_crawler metadump), URL-decoded. */
  async keys(): Promise<string[]> {
    return this.request([Buffer.from('lru_crawler metadump all\r\n')], (buf, off, done) => {
      const keys: string[] = [];
      let p = off;
      for (;;) {
        // metadump lines end in a bare \n; only the final END has \r\n.
        const eol = buf.indexOf('\n', p);
        if (eol < 0) return -1;
        const line = buf.toString('latin1', p, eol).replace(/\r$/, '');
        p = eol + 1;
        if (line === 'END') break;
        if (line.startsWith('BUSY') || line.startsWith('ERROR') || line.startsWith('CLIENT_ERROR')) throw new Error(`memcached: metadump: ${line}`);
        const m = /^key=(\S+)/.exec(line);
        if (m) keys.push(decodeURIComponent(m[1]));
      }
      done(keys);
      return p - off;
    });
  }

  /** Stores a value of any size, chunking when it is over CHUNK_BYTES. */
  async setLarge(key: string, value: Uint8Array): Promise<void> {
    if (value.byteLength <= CHUNK_BYTES) return this.set(key, value);
    const n = Math.ceil(value.byteLength / CHUNK_BYTES);
    const parts: Promise<void>[] = [];
    for (let i = 0; i < n; i++) parts.push(this.set(`${key}#${i}`, value.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)));
    await Promise.all(parts);
    // The header goes last, so a reader never sees a header whose parts are missing.
    await this.set(key, Buffer.from(`chunks:${n}:${value.byteLength}`), CHUNKED);
  }

  /** Reads a value stored by setLarge; undefined when missing (or when a part was evicted). */
  async getLarge(key: string): Promise<Uint8Array | undefined> {
    const head = (await this.getMulti([key])).get(key);
    if (!head) return undefined;
    if (head.flags !== CHUNKED) return new Uint8Array(head.value.buffer, head.value.byteOffset, head.value.byteLength);
    const m = /^chunks:(\d+):(\d+)$/.exec(head.value.toString('latin1'));
    if (!m) throw new Error(`memcached: ${key}: bad chunk header`);
    const n = Number(m[1]);
    const names = Array.from({ length: n }, (_, i) => `${key}#${i}`);
    const parts = await this.getMulti(names);
    const out = new Uint8Array(Number(m[2]));
    let pos = 0;
    for (const name of names) {
      const part = parts.get(name);
      if (!part) return undefined;
      out.set(part.value, pos);
      pos += part.value.byteLength;
    }
    if (pos !== out.byteLength) throw new Error(`memcached: ${key}: parts hold ${pos} bytes, header says ${out.byteLength}`);
    return out;
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    this.connecting = undefined;
    if (s) {
      s.removeAllListeners('close');
      await new Promise<void>((resolve) => s.end(resolve));
    }
  }
}

function checkKey(key: string): void {
  if (key.length === 0 || Buffer.byteLength(key) > 250 || /[\s\x00-\x20\x7f]/.test(key)) throw new Error(`memcached: invalid key '${key.slice(0, 80)}'`);
}

/** The memcached key for a file path: the path itself when it is a valid key, else a hash of it. */
export function memcachedKey(prefix: string, filePath: string): string {
  const k = prefix + filePath;
  if (Buffer.byteLength(k) <= 240 && !/[\s\x00-\x20\x7f#]/.test(k)) return k;
  return prefix + 'sha1:' + createHash('sha1').update(filePath).digest('hex');
}

/** Files read from memcached (loaded there by `tsvision cache-dataset`), optionally falling back to disk. */
export class MemcachedBackend implements FileBackend {
  readonly client: MemcachedClient;
  private readonly disk = new LocalBackend();

  constructor(server: string, readonly prefix = '', readonly fallbackToDisk = false) {
    this.client = MemcachedClient.fromServer(server);
  }

  private where(): string {
    return `memcached ${this.client.host}:${this.client.port}`;
  }

  async get(key: string): Promise<Uint8Array> {
    const v = await this.client.getLarge(memcachedKey(this.prefix, key));
    if (v) return v;
    if (this.fallbackToDisk) return this.disk.get(key);
    throw new FileNotFoundError(key, `${this.where()}; run \`tsvision cache-dataset\` first`);
  }

  async getText(key: string): Promise<string> {
    return new TextDecoder().decode(await this.get(key));
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    await this.client.setLarge(memcachedKey(this.prefix, key), value);
  }

  async exists(key: string): Promise<boolean> {
    const k = memcachedKey(this.prefix, key);
    if ((await this.client.getMulti([k])).has(k)) return true;
    return this.fallbackToDisk ? this.disk.exists(key) : false;
  }

  /**
   * Records `keys` in the cache's index (merged with what is there), so `list` finds them:
   * memcached's own key dump (lru_crawler metadump) is best-effort and can miss items.
   */
  async addToIndex(keys: string[]): Promise<void> {
    const all = new Set([...(await this.readIndex()), ...keys]);
    await this.client.setLarge(this.prefix + INDEX_KEY, Buffer.from(JSON.stringify([...all])));
  }

  private async readIndex(): Promise<string[]> {
    const v = await this.client.getLarge(this.prefix + INDEX_KEY);
    return v ? (JSON.parse(new TextDecoder().decode(v)) as string[]) : [];
  }

  /** Cached keys below `prefix`: the index plus whatever the server's key dump shows. */
  async list(prefix: string): Promise<string[]> {
    const found = new Set((await this.readIndex()).filter((k) => k.startsWith(prefix)));
    const start = this.prefix + prefix;
    for (const k of await this.client.keys()) {
      // Chunk parts ('#') and hashed keys cannot be mapped back to a path.
      if (k.startsWith(start) && !k.includes('#') && !k.startsWith(this.prefix + 'sha1:') && k !== this.prefix + INDEX_KEY) found.add(k.slice(this.prefix.length));
    }
    return [...found].sort();
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
