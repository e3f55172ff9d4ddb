/** Starts a private memcached server on a free loopback port (tests, benchmarks, cache-dataset --start). */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

export interface MemcachedServer {
  /** 'host:port' for MemcachedBackend. */
  server: string;
  port: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`memcached exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createConnection({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`memcached did not listen on 127.0.0.1:${port} within ${ms} ms`);
}

/** Spawns `binary` with `memoryMb` of cache on 127.0.0.1 (default item size, 1 MB: big values are chunked). */
export async function startMemcached(opts: { binary?: string; memoryMb?: number } = {}): Promise<MemcachedServer> {
  const port = await freePort();
  const binary = opts.binary ?? '/usr/bin/memcached';
  const args = ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', String(opts.memoryMb ?? 256)];
  // memcached refuses to run as root without a user to drop to.
  if (process.getuid?.() === 0) args.push('-u', 'nobody');
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`cannot start ${binary}: ${err.message} (install Debian's memcached package)`)));
  });
  await spawned;
  await waitForPort(port, child, 5000);
  return {
    server: `127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
