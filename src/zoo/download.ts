/**
 * Checkpoint download and cache (torch.hub's download_url_to_file, with resume and mirrors).
 *
 * - Cache: `$TSVISION_HOME/checkpoints/<basename of the URL>`; TSVISION_HOME defaults to
 *   `$XDG_CACHE_HOME/tsvision`, i.e. `~/.cache/tsvision`. A file under its final name is complete
 *   and verified: it is used without any request.
 * - Integrity: a name ending in `-<hex>.<ext>` with 8..64 hex digits (torchvision's and OpenMMLab's
 *   `resnet50-0676ba61.pth`) is checked: the sha256 of the download must start with those digits.
 *   A name that ends in a date (`…-20200130.pth`) looks the same: pass `checkHash: false` for it.
 * - Atomicity: bytes go to `<file>.part`, fsynced, then renamed; the final name never holds a
 *   partial or unverified file.
 * - Resume: when `<file>.part` exists (a truncated earlier attempt, this run or a previous one) the
 *   request asks for the rest with `Range: bytes=<size>-`; a 206 appends, a 200 restarts from zero.
 * - Failures: network errors, a truncated body (fewer bytes than Content-Length), HTTP 5xx/408/429
 *   are retried (`attempts` per source, exponential backoff); other HTTP errors move on to the next
 *   source at once. A truncated body keeps its `.part` so the next attempt (or the next run) resumes.
 *   A checksum mismatch deletes the `.part` (nothing in it can be trusted); if that download had
 *   resumed an older `.part`, it is downloaded once more from zero before giving up.
 * - Mirrors: `TSVISION_MIRRORS` (or `opts.mirrors`), comma-separated base URLs, each serving the
 *   files flat under their cache names (`<base>/<basename>`, so a copy of a cache folder behind any
 *   static web server is a mirror). They are tried in order BEFORE the original URL: one sets a
 *   mirror because it is nearer or the original is unreachable, and the checksum in the name guards
 *   what it serves. The original URL is the last resort.
 * - Errors are one line: `download <url> → <cache file>: <reason>` (with each mirror's reason).
 * - Progress: a bar on stderr (bytes, %, speed) when stderr is a TTY and not `quiet`.
 *
 * Two processes fetching the same file at once are not coordinated (no lock): start them after
 * one has filled the cache.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRemote } from './urls';

export interface FetchOptions {
  /** Where checkpoints are cached (default `$TSVISION_HOME/checkpoints`). */
  cacheDir?: string;
  /** No progress bar and no log lines on stderr (default false; the bar needs a TTY anyway). */
  quiet?: boolean;
  /** Attempts per source for retryable failures (default 4). */
  attempts?: number;
  /** Wait before the second attempt, doubled after each (default 1000 ms, at most 30 s). */
  backoffMs?: number;
  /** Mirror base URLs, tried in order before the original (default: TSVISION_MIRRORS, comma-separated). */
  mirrors?: readonly string[];
  /** Check the sha256 prefix a `name-<hex>.pth` file name carries (default true). */
  checkHash?: boolean;
  /** Abort a request that sends nothing for this long (default 60 000 ms). */
  timeoutMs?: number;
  /** Receives one line per event worth telling (download start, retry, mirror fallback). Default: stderr unless quiet. */
  log?: (line: string) => void;
}

/** `$TSVISION_HOME`, by default `~/.cache/tsvision` (read at call time). */
export function tsvisionHome(): string {
  if (process.env.TSVISION_HOME) return process.env.TSVISION_HOME;
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'tsvision');
}

/** The default checkpoint cache, `$TSVISION_HOME/checkpoints`. */
export function checkpointCacheDir(): string {
  return path.join(tsvisionHome(), 'checkpoints');
}

/** Mirror base URLs from TSVISION_MIRRORS. */
export function mirrorsFromEnv(): string[] {
  return (process.env.TSVISION_MIRRORS ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** The sha256 prefix a file name carries (`resnet50-0676ba61.pth` → `0676ba61`), if any. */
export function hashPrefixOf(fileName: string): string | undefined {
  return /-([0-9a-f]{8,64})\.[A-Za-z0-9]+$/.exec(fileName)?.[1];
}

/** The cache file name of a URL: its last path segment, decoded. */
export function cacheNameOf(url: string): string {
  const seg = new URL(url).pathname.split('/').pop() ?? '';
  let name: string;
  try {
    name = decodeURIComponent(seg);
  } catch {
    name = seg;
  }
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new Error(`download ${url}: the URL does not end in a file name to cache it under`);
  }
  return name;
}

/**
 * A local path for a checkpoint location: http(s) URLs are downloaded into the cache (once),
 * `file://` URLs and paths are checked to exist and returned.
 */
export async function fetchCheckpoint(location: string, opts: FetchOptions = {}): Promise<string> {
  if (!isRemote(location)) {
    const file = /^file:\/\//i.test(location) ? fileURLToPath(location) : location;
    if (!fs.existsSync(file)) throw new Error(`checkpoint ${location}: no such file`);
    return file;
  }
  const url = location;
  const file = path.join(opts.cacheDir ?? checkpointCacheDir(), cacheNameOf(url));
  if (fs.existsSync(file)) return file;

  const quiet = opts.quiet ?? false;
  const ctx: Ctx = {
    file,
    part: `${file}.part`,
    expected: opts.checkHash === false ? undefined : hashPrefixOf(path.basename(file)),
    attempts: Math.max(1, opts.attempts ?? 4),
    backoffMs: opts.backoffMs ?? 1000,
    timeoutMs: opts.timeoutMs ?? 60_000,
    log: opts.log ?? (quiet ? () => {} : (line) => process.stderr.write(`${line}\n`)),
    progress: !quiet && process.stderr.isTTY === true,
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });

  const mirrors = (opts.mirrors ?? mirrorsFromEnv()).map((base) => {
    if (!isRemote(base) || !URL.canParse(base)) {
      throw new Error(`download ${url} → ${file}: mirror '${base}' (TSVISION_MIRRORS) is not an http(s) base URL`);
    }
    return `${base.replace(/\/+$/, '')}/${encodeURIComponent(path.basename(file))}`;
  });
  const sources = [...mirrors, url];
  const failures: string[] = [];
  for (const src of sources) {
    try {
      ctx.log(`downloading ${src} → ${file}`);
      await downloadWithRetries(src, ctx);
      fs.renameSync(ctx.part, file);
      return file;
    } catch (e) {
      const reason = (e as Error).message;
      failures.push(src === url ? reason : `mirror ${src}: ${reason}`);
      if (src !== url) ctx.log(`download ${src} failed (${reason}); trying the next source`);
    }
  }
  throw new Error(`download ${url} → ${file}: ${failures.join('; ')}`);
}

interface Ctx {
  file: string;
  part: string;
  /** sha256 prefix to check, lower-case hex. */
  expected: string | undefined;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  log: (line: string) => void;
  progress: boolean;
}

/** A failure of one attempt; `retry` says whether another attempt at the same source may help. */
class AttemptError extends Error {
  constructor(message: string, readonly retry: boolean) {
    super(message);
  }
}

/** Downloads `src` into ctx.part (complete and verified on return), retrying what may pass. */
async function downloadWithRetries(src: string, ctx: Ctx): Promise<void> {
  let freshAfterMismatch = false;
  for (let attempt = 1; ; attempt++) {
    const resumedFrom = partSize(ctx.part);
    try {
      await downloadOnce(src, ctx, resumedFrom);
      return;
    } catch (e) {
      const err = e instanceof AttemptError ? e : new AttemptError(networkReason(e), true);
      if (err instanceof ChecksumError) {
        removeIfExists(ctx.part);
        // A mismatch after resuming may come from a stale .part (another file, another version):
        // one clean download decides.
        if (resumedFrom > 0 && !freshAfterMismatch) {
          freshAfterMismatch = true;
          ctx.log(`download ${src}: ${err.message} after resuming at byte ${resumedFrom}; downloading it again from the start`);
          attempt--;
          continue;
        }
        throw err;
      }
      if (!err.retry || attempt >= ctx.attempts) {
        throw new Error(attempt > 1 ? `${err.message} (after ${attempt} attempts)` : err.message);
      }
      const wait = Math.min(30_000, ctx.backoffMs * 2 ** (attempt - 1));
      ctx.log(`download ${src}: attempt ${attempt}/${ctx.attempts} failed (${err.message}); retrying in ${(wait / 1000).toFixed(1)} s`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

class ChecksumError extends AttemptError {
  constructor(expected: string, got: string) {
    super(`sha256 mismatch (expected ${expected}…, got ${got.slice(0, Math.max(expected.length, 8))}…)`, false);
  }
}

/** One request: appends to ctx.part from `offset` (or restarts it), checks length and checksum. */
async function downloadOnce(src: string, ctx: Ctx, offset: number): Promise<void> {
  const res = await get(src, offset > 0 ? { Range: `bytes=${offset}-` } : {}, ctx.timeoutMs);
  const status = res.statusCode ?? 0;
  let start = 0;
  let total: number | undefined;
  if (status === 206 && offset > 0) {
    const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
    if (cr === null || Number(cr[1]) !== offset) {
      res.destroy();
      removeIfExists(ctx.part);
      throw new AttemptError(`server answered Range bytes=${offset}- with Content-Range '${res.headers['content-range'] ?? ''}'; restarting`, true);
    }
    start = offset;
    total = cr[3] === '*' ? undefined : Number(cr[3]);
  } else if (status === 416 && offset > 0) {
    res.resume();
    // The .part may already hold the whole file (a run that stopped before the rename).
    const cr = /^bytes \*\/(\d+)$/.exec(res.headers['content-range'] ?? '');
    if (cr !== null && Number(cr[1]) === offset) {
      await verify(ctx, await hashFile(ctx.part));
      return;
    }
    removeIfExists(ctx.part);
    throw new AttemptError(`server refused Range bytes=${offset}- (HTTP 416); restarting`, true);
  } else if (status === 200) {
    const len = res.headers['content-length'];
    total = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
  } else {
    res.resume();
    const retry = status >= 500 || status === 408 || status === 429;
    throw new AttemptError(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, retry);
  }

  const hash = start > 0 ? await hashFile(ctx.part, start) : crypto.createHash('sha256');
  let received = start;
  const bar = ctx.progress ? new ProgressBar(path.basename(ctx.file), total, start) : undefined;
  // Not stream.pipeline: on a network error it would destroy the file stream and drop the bytes
  // queued for it; here they reach the .part and the resume starts after them. (What the response
  // holds while paused for back-pressure is lost with it; the resume starts at the .part's size.)
  const out = fs.createWriteStream(ctx.part, { flags: start > 0 ? 'a' : 'w' });
  try {
    await new Promise<void>((resolve, reject) => {
      let netError: unknown;
      let diskError: unknown;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        bar?.update(received);
        if (!out.write(chunk)) {
          res.pause();
          out.once('drain', () => res.resume());
        }
      });
      res.on('error', (e) => { netError = e; });
      // 'close' follows 'end' and errors alike.
      res.on('close', () => { if (!out.destroyed && !out.writableEnded) out.end(); });
      out.on('error', (e) => { diskError = e; res.destroy(); });
      out.on('close', () => {
        if (diskError !== undefined) reject(new AttemptError(`writing ${ctx.part}: ${(diskError as Error).message}`, false));
        else if (netError !== undefined || !res.complete) {
          const why = netError !== undefined ? ` (${networkReason(netError)})` : '';
          reject(new AttemptError(`connection lost after ${received}${total !== undefined ? ` of ${total}` : ''} bytes${why}`, true));
        } else resolve();
      });
    });
  } finally {
    bar?.done();
  }
  if (total !== undefined && received !== total) {
    throw new AttemptError(`truncated body: ${received} of ${total} bytes`, true);
  }
  await verify(ctx, hash);
}

/** Checks the sha256 prefix and makes the .part durable (the caller renames it). */
async function verify(ctx: Ctx, hash: crypto.Hash): Promise<void> {
  const digest = hash.digest('hex');
  if (ctx.expected !== undefined && !digest.startsWith(ctx.expected)) throw new ChecksumError(ctx.expected, digest);
  const fd = fs.openSync(ctx.part, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** GET with redirects followed (at most 10), resolving once the final response's headers arrive. */
function get(url: string, headers: Record<string, string>, timeoutMs: number, redirects = 0): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (mod === undefined) {
      reject(new AttemptError(`unsupported protocol ${u.protocol}`, false));
      return;
    }
    // agent: false, a connection per request: no keep-alive sockets outlive the download.
    const req = mod.get(u, { headers: { 'User-Agent': 'tsvision', ...headers }, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(status) && location) {
        res.resume();
        if (redirects >= 10) {
          reject(new AttemptError('too many redirects', false));
          return;
        }
        get(new URL(location, u).toString(), headers, timeoutMs, redirects + 1).then(resolve, reject);
        return;
      }
      resolve(res);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no data for ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

/** A short reason for a socket-level error (`ECONNREFUSED 127.0.0.1:8080`, `ECONNRESET`). */
function networkReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err instanceof AggregateError && err.errors.length > 0) return networkReason(err.errors[0]);
  return err?.message ?? String(e);
}

/** sha256 of a file's first `length` bytes (all of it by default), as an updatable Hash. */
async function hashFile(file: string, length?: number): Promise<crypto.Hash> {
  const hash = crypto.createHash('sha256');
  if (length === 0) return hash;
  const stream = fs.createReadStream(file, length !== undefined ? { start: 0, end: length - 1 } : {});
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash;
}

function partSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function removeIfExists(file: string): void {
  fs.rmSync(file, { force: true });
}

/** `resnet50-0676ba61.pth  45.2/97.8 MB  46%  12.3 MB/s`, redrawn at most 10 times a second. */
class ProgressBar {
  private readonly t0 = Date.now();
  private last = 0;
  private bytes = 0;

  constructor(private readonly name: string, private readonly total: number | undefined, private readonly start: number) {}

  update(bytes: number, force = false): void {
    this.bytes = bytes;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const speed = (bytes - this.start) / Math.max(1e-3, (now - this.t0) / 1000);
    const size = this.total !== undefined ? `${mb(bytes)}/${mb(this.total)} MB  ${Math.floor((100 * bytes) / Math.max(1, this.total))}%` : `${mb(bytes)} MB`;
    process.stderr.write(`\r${this.name}  ${size}  ${mb(speed)} MB/s\x1b[K`);
  }

  done(): void {
    this.update(this.bytes, true);
    process.stderr.write('\n');
  }
}
