/**
 * The NCCL backend (CUDA builds). What each build can check:
 * - a build without NCCL (Debian's CPU libtorch): asking for 'nccl' is a clear Error, not a crash,
 *   and each backend refuses the other's options;
 * - a CUDA build on a machine without a GPU: creating an NCCL group is c10d's Error, as a
 *   JavaScript Error;
 * - a CUDA build with GPUs (scripts/gpu-check.sh runs this file): the collectives of
 *   collectives.test.ts on CUDA tensors, world size 1 in this process and 2 ranks (one GPU each,
 *   when two are visible), DistributedDataParallel over NCCL against one process, and 2 ranks
 *   sharing one GPU through Gloo (NCCL refuses two ranks on one GPU: "Duplicate GPU detected").
 * The expected values are the hand-computed ones of collectives.test.ts and the single-process run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { initProcessGroup, isBackendAvailable, ProcessGroup, Store } from '../../src/distributed';
import { freePort, runRank, runRanks } from './spawn';

const nccl = isBackendAvailable('nccl');
const gpus = torch.cuda.isAvailable() ? torch.cuda.deviceCount() : 0;
const noGpu = !nccl ? 'this build has no NCCL (build against a CUDA libtorch with LIBTORCH_DIR)' : gpus === 0 ? 'no CUDA device visible' : false;

function fileStore(t: { after(fn: () => void): void }, worldSize = 1): Store {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-nccl-'));
  const store = Store.file({ path: path.join(dir, 'store'), worldSize, timeoutMs: 10_000 });
  t.after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

test('a build without NCCL: backend nccl is an Error naming the build, from ProcessGroup and initProcessGroup', { skip: nccl ? 'this build has NCCL' : false }, (t) => {
  assert.equal(isBackendAvailable('nccl'), false);
  const store = fileStore(t);
  assert.throws(() => new ProcessGroup({ store, rank: 0, worldSize: 1, backend: 'nccl' }),
    (e: Error) => e.constructor === Error && /backend 'nccl' is not in this build of the addon .*CUDA libtorch.*use 'gloo'/.test(e.message));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-nccl-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => initProcessGroup({ backend: 'nccl', initMethod: `file://${path.join(dir, 's')}`, rank: 0, worldSize: 1 }), /backend 'nccl' is not in this build/);
});

test('each backend refuses the other one\'s options; an unknown backend is a TypeError', { skip: isBackendAvailable('gloo') ? false : 'this build has no Gloo' }, (t) => {
  const store = fileStore(t);
  assert.throws(() => new ProcessGroup({ store, rank: 0, worldSize: 1, cudaDevice: 0 }), /ProcessGroup: cudaDevice is an NCCL option; the 'gloo' backend takes device and threads/);
  assert.throws(() => new ProcessGroup({ store, rank: 0, worldSize: 1, highPriorityStream: true }), /highPriorityStream is an NCCL option/);
  assert.throws(() => new ProcessGroup({ store, rank: 0, worldSize: 1, backend: 'mpi' as 'gloo' }), (e: Error) => e instanceof TypeError && /backend should be 'gloo' or 'nccl', got 'mpi'/.test(e.message));
  assert.throws(() => initProcessGroup({ backend: 'ucc' as 'gloo', initMethod: 'env://' }), /initProcessGroup: backend should be 'gloo' or 'nccl', got 'ucc'/);
  if (nccl) {
    assert.throws(() => new ProcessGroup({ store, rank: 0, worldSize: 1, backend: 'nccl', threads: 2 }), /threads is a Gloo option; the 'nccl' backend takes cudaDevice/);
    assert.throws(() => new ProcessGroup({ store, rank: 0, worldSize: 1, backend: 'nccl', device: { hostname: '127.0.0.1' } }), /device is a Gloo option/);
  }
});

test('Gloo on CUDA tensors, 2 ranks sharing GPU 0 (NCCL refuses two ranks on one GPU; Gloo goes through the host)', { skip: !isBackendAvailable('gloo') ? 'this build has no Gloo' : gpus === 0 ? 'no CUDA device visible' : false }, async () => {
  const port = await freePort();
  const runs = await runRanks(2, { scenario: 'collectives', backend: 'gloo', cuda: true, noReduceScatter: true, initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 60_000, device: { hostname: '127.0.0.1' } });
  runs.forEach((run, r) => {
    assert.equal(run.code, 0, `rank ${r} exit code (stderr: ${run.stderr.slice(-2000)})`);
    const got = run.results[0];
    assert.equal(got.device, 'cuda:0');
    assert.deepEqual(got.sum, [3, 30, -1]);
    assert.deepEqual(got.avg, [1.5, 1]);
    assert.deepEqual(got.broadcast, [7, 7, 7, 7]);
    assert.deepEqual(got.allgather, [[0, 0], [1, 100]]);
  });
});

test('a CUDA build without a GPU: creating an NCCL group is c10d\'s error as a JavaScript Error', { skip: !nccl ? 'this build has no NCCL' : gpus > 0 ? 'a GPU is visible' : false }, (t) => {
  assert.throws(() => new ProcessGroup({ store: fileStore(t), rank: 0, worldSize: 1, backend: 'nccl' }),
    (e: Error) => e instanceof Error && /^processGroupNccl: .*GPU/.test(e.message));
});

test('NCCL, world size 1 in this process: collectives on CUDA tensors; CPU tensors are a TypeError', { skip: noGpu }, (t) => {
  const pg = new ProcessGroup({ store: fileStore(t), rank: 0, worldSize: 1, backend: 'nccl', cudaDevice: 0 });
  t.after(() => pg.close());
  assert.equal(pg.backend, 'nccl');
  torch.tidy(() => {
    const a = torch.tensor([1, 10, 0], { device: 'cuda' });
    pg.allreduce(a).wait();
    assert.deepEqual(a.cpu().toArray(), [1, 10, 0]);
    const b = torch.tensor([3, 5], { device: 'cuda', dtype: 'float64' });
    pg.allreduce(b, { op: 'avg' }).wait();
    assert.deepEqual(b.cpu().toArray(), [3, 5]);
    const outs = [torch.zeros([2], { device: 'cuda', dtype: 'int64' })];
    pg.allgather(outs, torch.tensor([4, 400], { device: 'cuda', dtype: 'int64' })).wait();
    assert.deepEqual(outs[0].cpu().toArray(), [4, 400]);
    pg.barrier().wait();
    assert.throws(() => pg.allreduce(torch.ones([2])), /allreduce: tensors\[0\] should be a dense CUDA tensor \(the group is NCCL's\), got .* on cpu/);
  });
});

test('NCCL, 2 ranks (one GPU each): allreduce, broadcast, allgather, reduceScatter, barrier', { skip: noGpu || (gpus < 2 ? `${gpus} GPU visible: NCCL needs one per rank` : false) }, async () => {
  const port = await freePort();
  const runs = await runRanks(2, { scenario: 'collectives', backend: 'nccl', initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 60_000 });
  runs.forEach((run, r) => {
    assert.equal(run.code, 0, `rank ${r} exit code (stderr: ${run.stderr.slice(-2000)})`);
    const got = run.results[0];
    assert.equal(got.device, `cuda:${r}`);
    assert.deepEqual(got.sum, [3, 30, -1]);
    assert.deepEqual(got.avg, [1.5, 1]);
    assert.deepEqual(got.max, [1, 0]);
    assert.deepEqual(got.broadcast, [7, 7, 7, 7]);
    assert.deepEqual(got.allgather, [[0, 0], [1, 100]]);
    assert.deepEqual(got.reduceScatter, [(r + 1) * 3, (r + 1) * 3]);
  });
});

test('DistributedDataParallel over NCCL: 2 ranks x 2 samples (or 1 rank x 4) end where 1 process x 4 samples does', { skip: noGpu }, async () => {
  const single = await runRank({ scenario: 'ddp', backend: 'nccl', rank: 0, worldSize: 1, initMethod: 'env://', timeoutMs: 60_000 });
  assert.equal(single.code, 0, single.stderr.slice(-2000));
  const ref = single.results[0] as { params: number[][]; device: string };
  assert.equal(ref.device, 'cuda:0');
  const n = gpus >= 2 ? 2 : 1;
  const port = await freePort();
  const runs = await runRanks(n, { scenario: 'ddp', backend: 'nccl', reducer: true, initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 60_000 });
  runs.forEach((run, r) => {
    assert.equal(run.code, 0, `rank ${r} (stderr: ${run.stderr.slice(-2000)})`);
    const got = run.results[0] as { params: number[][]; comm: { buckets: number }[] };
    assert.ok(got.comm.every((c) => c.buckets > 0), `rank ${r}: buckets were allreduced every step`);
    got.params.forEach((p, i) => p.forEach((v, k) => {
      assert.ok(Math.abs(v - ref.params[i][k]) <= 1e-5 + 1e-4 * Math.abs(ref.params[i][k]), `rank ${r} parameter ${i}[${k}]: ${v} vs ${ref.params[i][k]}`);
    }));
  });
});
