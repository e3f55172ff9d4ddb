import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { HttpBackend, LocalBackend, MemcachedBackend, startMemcached, type MemcachedServer } from '../../src/data/backends';
import { cacheFiles } from '../../src/data/cache';
import { tempDir } from './helpers';

let server: MemcachedServer;
let dir: string;

before(async () => {
  server = await startMemcached({ memoryMb: 64 });
  dir = await tempDir('backends');
});
after(async () => {
  await server?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
  return out;
}

test('memcached against a real server: small and >1 MB values, text, exists, list, missing keys', async () => {
  const mc = new MemcachedBackend(server.server, 'test/');
  try {
    const small = bytes(1000, 1);
    const big = bytes(3 * 1024 * 1024 + 17, 2); // over the 1 MB item size: chunked
    await mc.put('/data/a.jpg', small);
    await mc.put('/data/sub/b.jpg', big);
    await mc.put('/data/c.txt', new TextEncoder().encode('héllo'));
    assert.deepEqual(await mc.get('/data/a.jpg'), small);
    assert.deepEqual(await mc.get('/data/sub/b.jpg'), big);
    assert.equal(await mc.getText('/data/c.txt'), 'héllo');
    assert.equal(await mc.exists('/data/a.jpg'), true);
    assert.equal(await mc.exists('/data/none.jpg'), false);
    await mc.addToIndex(['/data/a.jpg', '/data/sub/b.jpg', '/data/c.txt']);
    assert.deepEqual(await mc.list('/data/'), ['/data/a.jpg', '/data/c.txt', '/data/sub/b.jpg']);
    assert.deepEqual(await mc.list('/data/sub/'), ['/data/sub/b.jpg']);
    await assert.rejects(mc.get('/data/none.jpg'), /\/data\/none\.jpg: not found \(memcached 127\.0\.0\.1:\d+/);
    // Many pipelined requests on one connection come back in order.
    const got = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? mc.get('/data/a.jpg') : mc.get('/data/sub/b.jpg'))));
    got.forEach((g, i) => assert.equal(g.length, i % 2 ? small.length : big.length));
  } finally {
    await mc.close();
  }
});

test('cacheFiles loads files into memcached; fallbackToDisk reads what is not cached', async () => {
  const a = path.join(dir, 'x.bin');
  const b = path.join(dir, 'y.bin');
  await fs.writeFile(a, bytes(2_500_000, 3));
  await fs.writeFile(b, bytes(10, 4));
  const r = await cacheFiles([a], new LocalBackend(), { kind: 'memcached', server: server.server, prefix: 'ds/' });
  assert.deepEqual(r, { files: 1, bytes: 2_500_000 });
  await fs.rm(a); // from now on only memcached has it
  const mc = new MemcachedBackend(server.server, 'ds/', true);
  try {
    assert.deepEqual(await mc.get(a), bytes(2_500_000, 3));
    assert.deepEqual(await mc.get(b), bytes(10, 4));
  } finally {
    await mc.close();
  }
});

test('http backend: retries 5xx, gives up with the URL named, 404 is not-found', async () => {
  let hits = 0;
  const srv = http.createServer((req, res) => {
    hits++;
    if (req.url === '/flaky.bin' && hits < 3) return void res.writeHead(503).end();
    if (req.url === '/flaky.bin' || req.url === '/dir/a%20b.txt') return void res.writeHead(200).end(req.url === '/flaky.bin' ? 'ok' : 'space');
    if (req.url === '/down') return void res.writeHead(500).end();
    if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 500);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(srv.address() as { port: number }).port}/`;
  const hb = new HttpBackend(base, { retries: 3, backoffMs: 5, timeoutMs: 200 });
  try {
    assert.equal(await hb.getText('flaky.bin'), 'ok');
    assert.equal(hits, 3);
    assert.equal(await hb.getText('dir/a b.txt'), 'space');
    assert.equal(await hb.exists('missing'), false);
    await assert.rejects(hb.get('missing'), /missing: not found/);
    await assert.rejects(hb.get('down'), new RegExp(`${base}down: HTTP 500.*after 4 tries`));
    await assert.rejects(hb.get('slow'), /slow: no answer in 200 ms/);
  } finally {
    srv.closeAllConnections();
    srv.close();
  }
});
