/**
 * Deferred release: dispose() queues the handle in memory shared with the binding, which frees
 * queued tensors before its next call does anything else; tidy scopes, a full queue and the end
 * of the task flush it. Also the garbage-collection safety net for tensors that escape every scope.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { native } from '../../src/torch/native';

/** Handles waiting in the release queue (its first int32). */
const queued = (): number => new Int32Array(native.releaseQueue!, 0, 1)[0];
const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve));
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

describe('deferred release', () => {
  it('the binding has a release queue, and dispose() only queues the handle', () => {
    assert.ok(native.releaseQueue instanceof ArrayBuffer);
    torch.liveTensors(); // drains whatever earlier tests left queued
    const t = torch.ones([2, 2]);
    t.dispose();
    assert.equal(t.isDisposed, true);
    assert.equal(queued(), 1);
  });

  it('liveTensors() reflects a dispose at once', () => {
    const before = torch.liveTensors();
    const t = torch.ones([3]);
    const u = t.add(1);
    assert.equal(torch.liveTensors(), before + 2);
    u.dispose();
    assert.equal(torch.liveTensors(), before + 1);
    t.dispose();
    assert.equal(torch.liveTensors(), before);
    t.dispose(); // idempotent: queued once
    assert.equal(queued(), 0);
    assert.equal(torch.liveTensors(), before);
  });

  it('a queued tensor is never seen as live: using it throws the usual error', () => {
    const other = torch.ones([2]);
    const t = torch.ones([2]);
    t.dispose();
    assert.equal(queued(), 1);
    assert.throws(() => other.add(t), /aten::add.Tensor: tensor has been disposed/);
    const u = torch.ones([2]);
    u.dispose();
    assert.throws(() => u.shape, /shape: tensor has been disposed/);
    const w = torch.ones([2]);
    w.dispose();
    assert.throws(() => w.mul(2), /aten::mul.Scalar: tensor has been disposed/);
    assert.equal(native.isDisposed(w._h), true);
    other.dispose();
  });

  it('a freed slot is reused only after the release: old handles stay disposed', () => {
    const before = torch.liveTensors();
    const old = torch.ones([2]);
    old.dispose();
    const fresh = torch.zeros([2]); // may take the same slot, with a new generation
    assert.throws(() => old.toArray(), /tensor has been disposed/);
    assert.deepEqual(fresh.toArray(), [0, 0]);
    fresh.dispose();
    assert.equal(torch.liveTensors(), before);
  });

  it('the end of a tidy scope frees its tensors (more than a queue-full of them too)', () => {
    const before = torch.liveTensors();
    const kept = torch.tidy(() => {
      let x = torch.zeros([4]);
      for (let i = 0; i < 3000; i++) x = x.add(1);
      return x;
    });
    assert.equal(queued(), 0);
    assert.equal(torch.liveTensors(), before + 1);
    assert.deepEqual(kept.toArray(), [3000, 3000, 3000, 3000]);
    kept.dispose();
    assert.equal(torch.liveTensors(), before);
  });

  it('fills past the queue capacity outside any scope', () => {
    const before = torch.liveTensors();
    const ts: Tensor[] = [];
    for (let i = 0; i < 2500; i++) ts.push(torch.ones([1]));
    for (const t of ts) t.dispose();
    assert.ok(queued() < 1024);
    assert.equal(torch.liveTensors(), before);
  });

  it('nothing stays queued once the task ends', async () => {
    torch.ones([2]).dispose();
    assert.equal(queued(), 1);
    await nextTask();
    assert.equal(queued(), 0);
  });

  it('1,000 iterations of allocate 16 MB + dispose keep resident memory flat', () => {
    const step = () => torch.ones([4 * 2 ** 20]).dispose();
    for (let i = 0; i < 100; i++) step();
    const before = rssMiB();
    const live = torch.liveTensors();
    for (let i = 100; i < 1000; i++) step();
    const growth = rssMiB() - before;
    assert.equal(torch.liveTensors(), live);
    assert.ok(growth < 48, `resident memory grew ${growth.toFixed(1)} MiB over 900 iterations`);
  });

  it('a disposed 64 MB tensor is freed before the next one is allocated', () => {
    const before = rssMiB();
    let peak = before;
    for (let i = 0; i < 30; i++) {
      const t = torch.ones([16 * 2 ** 20]);
      peak = Math.max(peak, rssMiB());
      t.dispose();
    }
    assert.ok(peak - before < 2 * 64, `resident memory peaked ${(peak - before).toFixed(0)} MiB above the start`);
  });
});

describe('garbage-collection safety net', () => {
  it('frees tensors that escape every scope and are never disposed', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const handles = (() => {
      const hs = [];
      for (let i = 0; i < 50; i++) hs.push(torch.ones([8])._h); // the Tensors are dropped without dispose()
      return hs;
    })();
    const freed = () => handles.filter((h) => native.isDisposed(h)).length;
    assert.equal(freed(), 0);
    await nextTask(); // registered with the FinalizationRegistry at the end of the task
    for (let round = 0; round < 20 && freed() < handles.length; round++) {
      gc();
      await nextTask(); // finalizers run as tasks
    }
    assert.equal(freed(), handles.length);
  });
});
