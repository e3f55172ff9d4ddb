/**
 * Failures of the c10d binding become JavaScript errors, never native crashes: a collective
 * whose peer never joins fails within the group's timeout, a peer that dies fails it at once,
 * a rendezvous short of a rank times out, and bad arguments name the argument.
 */
import { glooTest as test } from './gloo_test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { initProcessGroup, destroyProcessGroup, parseInitMethod, ProcessGroup, Store, isInitialized } from '../../src/distributed';
import { freePort, runRank, runRanks } from './spawn';

test('a collective with a rank that never joins fails with a JS error after the group timeout', async () => {
  const port = await freePort();
  const timeoutMs = 3000;
  const runs = await runRanks(2, { scenario: 'missing-peer', initMethod: `tcp://127.0.0.1:${port}`, timeoutMs, holdMs: timeoutMs + 4000 });
  const [r0, r1] = runs;
  assert.equal(r0.code, 2, `rank 0 exits 2 after the expected failure (stderr: ${r0.stderr.slice(-2000)})`);
  assert.equal(r0.failures.length, 1);
  const f = r0.failures[0];
  assert.equal(f.where, 'allreduce');
  assert.match(f.message, /^allreduce: .*timed out/i);
  assert.ok(f.elapsedMs >= timeoutMs - 200, `failed after ${f.elapsedMs} ms, before the ${timeoutMs} ms timeout`);
  assert.ok(f.elapsedMs <= timeoutMs + 10_000, `failed after ${f.elapsedMs} ms, long after the ${timeoutMs} ms timeout`);
  assert.equal(r1.code, 0, `rank 1 exits cleanly (stderr: ${r1.stderr.slice(-2000)})`);
  assert.equal(r0.signal, null);
});

test('a peer that exits makes the collective fail at once, with a JS error', async () => {
  const port = await freePort();
  const timeoutMs = 20_000;
  const [r0, r1] = await runRanks(2, { scenario: 'peer-exits', initMethod: `tcp://127.0.0.1:${port}`, timeoutMs });
  assert.equal(r1.code, 0);
  assert.equal(r0.code, 2, `rank 0 exits 2 (stderr: ${r0.stderr.slice(-2000)})`);
  assert.equal(r0.signal, null);
  assert.equal(r0.failures.length, 1);
  assert.ok(r0.failures[0].elapsedMs < timeoutMs, `failed after ${r0.failures[0].elapsedMs} ms: a dead peer should not wait for the timeout`);
  assert.ok(r0.failures[0].message.length > 0);
});

test('a rendezvous short of a rank fails within the timeout', async () => {
  const port = await freePort();
  const timeoutMs = 2000;
  const r0 = await runRank({ scenario: 'collectives', initMethod: `tcp://127.0.0.1:${port}`, rank: 0, worldSize: 2, timeoutMs });
  assert.equal(r0.code, 2, `exit code (stderr: ${r0.stderr.slice(-2000)})`);
  assert.equal(r0.signal, null);
  assert.equal(r0.failures.length, 1);
  const f = r0.failures[0];
  assert.equal(f.where, 'init');
  assert.match(f.message, /^processGroupGloo: /);
  assert.match(f.message, /time(d)? ?out/i);
  assert.ok(f.elapsedMs >= timeoutMs - 200 && f.elapsedMs <= timeoutMs + 10_000, `failed after ${f.elapsedMs} ms (timeout ${timeoutMs} ms)`);
});

test('bad arguments give errors naming the argument', () => {
  const tcp = 'tcp://127.0.0.1:29999';
  assert.throws(() => initProcessGroup({ initMethod: tcp, rank: 2, worldSize: 2 }), { name: 'RangeError', message: /initProcessGroup: rank should be in \[0, worldSize - 1\] = \[0, 1\], got 2/ });
  assert.throws(() => initProcessGroup({ initMethod: tcp, rank: -1, worldSize: 2 }), /initProcessGroup: rank/);
  assert.throws(() => initProcessGroup({ initMethod: tcp, rank: 0.5, worldSize: 2 }), /initProcessGroup: rank should be an integer/);
  assert.throws(() => initProcessGroup({ initMethod: tcp, rank: 0, worldSize: 0 }), /initProcessGroup: worldSize should be an integer in \[1, /);
  assert.throws(() => initProcessGroup({ initMethod: tcp, worldSize: 2 }), /initProcessGroup: rank is required/);
  assert.throws(() => initProcessGroup({ initMethod: 'udp://127.0.0.1:1', rank: 0, worldSize: 1 }), /initProcessGroup: initMethod should be 'tcp:\/\/host:port', 'file:\/\/path' or 'env:\/\/', got 'udp:\/\/127.0.0.1:1'/);
  assert.throws(() => initProcessGroup({ initMethod: 'tcp://127.0.0.1', rank: 0, worldSize: 1 }), /initProcessGroup: initMethod 'tcp:\/\/127.0.0.1' is malformed: expected tcp:\/\/host:port/);
  assert.throws(() => initProcessGroup({ initMethod: 'tcp://127.0.0.1:99999', rank: 0, worldSize: 1 }), /is malformed/);
  assert.throws(() => initProcessGroup({ initMethod: 'tcp://:80', rank: 0, worldSize: 1 }), /is malformed/);
  assert.throws(() => initProcessGroup({ initMethod: 'file://', rank: 0, worldSize: 1 }), /is malformed/);
  assert.throws(() => initProcessGroup({ backend: 'mpi' as 'gloo', initMethod: tcp, rank: 0, worldSize: 1 }), /initProcessGroup: backend should be 'gloo' or 'nccl', got 'mpi'/);
  assert.throws(() => initProcessGroup({ initMethod: tcp, rank: 0, worldSize: 1, timeoutMs: 0 }), /initProcessGroup: timeoutMs/);
  const saved = { ...process.env };
  try {
    for (const k of ['MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE']) delete process.env[k];
    assert.throws(() => initProcessGroup({ initMethod: 'env://' }), /initProcessGroup: initMethod 'env:\/\/' needs the environment variable WORLD_SIZE/);
    assert.throws(() => initProcessGroup({ initMethod: 'env://', rank: 0, worldSize: 1 }), /needs the environment variable MASTER_ADDR/);
    process.env.MASTER_ADDR = '127.0.0.1';
    process.env.MASTER_PORT = 'x';
    assert.throws(() => initProcessGroup({ initMethod: 'env://', rank: 0, worldSize: 1 }), /environment variable MASTER_PORT should be an integer in \[1, 65535\], got 'x'/);
  } finally {
    for (const k of ['MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE']) delete process.env[k];
    Object.assign(process.env, saved);
  }
  assert.deepEqual(parseInitMethod('tcp://[::1]:1234'), { kind: 'tcp', host: '::1', port: 1234 });
  assert.deepEqual(parseInitMethod('file:///tmp/a%20b'), { kind: 'file', path: '/tmp/a b' });
  assert.equal(isInitialized(), false);
  assert.throws(() => Store.tcp({ host: '', port: 1, worldSize: 1, isServer: false }), /TCPStore: host should be a non-empty string/);
  assert.throws(() => Store.file({ path: '/tmp/x', worldSize: 0 }), /FileStore: worldSize should be an integer/);
});

test('a one-rank group in this process: collectives, argument checks, close() is deterministic and final', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-dist1-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pg = initProcessGroup({ initMethod: `file://${path.join(dir, 'store')}`, rank: 0, worldSize: 1, timeoutMs: 10_000, device: { hostname: '127.0.0.1' } });
  try {
    assert.equal(isInitialized(), true);
    assert.throws(() => initProcessGroup({ initMethod: `file://${path.join(dir, 'other')}`, rank: 0, worldSize: 1 }), /already initialized/);
    const a = torch.tensor([1, 2, 3]);
    const w = pg.allreduce(a, { op: 'avg' });
    w.wait(5000);
    assert.equal(w.isCompleted(), true);
    assert.deepEqual(a.toArray(), [1, 2, 3]);
    const out = [torch.zeros([3])];
    pg.allgather(out, a).wait();
    assert.deepEqual(out[0].toArray(), [1, 2, 3]);
    const rs = torch.zeros([3]);
    pg.reduceScatter(rs, [a]).wait();
    assert.deepEqual(rs.toArray(), [1, 2, 3]);
    pg.barrier().wait();
    assert.throws(() => pg.allreduce(torch.tensor([1], { dtype: 'int64' }), { op: 'avg' }), /allreduce: op 'avg' needs floating-point tensors, got int64/);
    assert.throws(() => pg.allreduce(torch.tensor([1]), { op: 'mean' as 'sum' }), /allreduce: op should be 'sum', 'avg', 'product', 'min' or 'max', got 'mean'/);
    assert.throws(() => pg.allreduce(torch.zeros([3, 2]).t()), /allreduce: tensor should be contiguous \(call \.contiguous\(\) first\)/);
    assert.throws(() => pg.allreduce([] as unknown as torch.Tensor), /allreduce: tensor should be a Tensor, got an array/);
    assert.throws(() => pg.allgather([], a), /allgather: outputs should be a non-empty array of Tensors/);
    assert.throws(() => pg.broadcast(a, { src: 1 }), { name: 'RangeError', message: /broadcast: src should be an integer in \[0, 0\], got 1/ });
    assert.throws(() => pg.allgather([torch.zeros([3]), torch.zeros([3])], a), /allgather: outputs should hold worldSize \(1\) tensors, got 2/);
    assert.throws(() => pg.allgather([torch.zeros([2])], a), /allgather: outputs\[0\] should have input's shape/);
    assert.throws(() => new ProcessGroup({ store: pg.store, rank: 1, worldSize: 1 }), /ProcessGroup: rank should be an integer in \[0, 0\], got 1/);
  } finally {
    destroyProcessGroup();
  }
  assert.equal(pg.closed, true);
  assert.equal(isInitialized(), false);
  assert.throws(() => pg.allreduce(torch.tensor([1])), /allreduce: the process group is closed/);
  assert.throws(() => pg.store.get('x'), /FileStore: the store is closed/);
  pg.close(); // idempotent
});
