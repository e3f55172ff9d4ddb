/**
 * Scopes under concurrency and with results in any container (issue 14, item 7):
 * concurrent tidyAsync calls keep their own results; tidy keeps tensors returned inside
 * class instances, Sets, Maps (keys too) and deeply nested arrays; nothing leaks.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

describe('tidyAsync concurrency', () => {
  it('two concurrent tidyAsync calls with interleaved awaits keep their own results and free their own intermediates', async () => {
    const base = torch.liveTensors();
    const scratch: Tensor[] = [];
    const task = (v: number, delays: number[]) => torch.tidyAsync(async () => {
      let acc = torch.full([2], v);
      for (const d of delays) {
        await tick(d);
        const next = acc.add(1);
        scratch.push(acc);
        acc = next;
      }
      return acc;
    });
    // A finishes first while B is between awaits; B finishes later.
    const [a, b] = await Promise.all([task(10, [1, 1, 1]), task(20, [2, 5, 10])]);
    assert.equal(a.isDisposed, false, "A's result was disposed");
    assert.equal(b.isDisposed, false, "B's result was disposed");
    assert.deepEqual(a.toArray(), [13, 13]);
    assert.deepEqual(b.toArray(), [23, 23]);
    assert.ok(scratch.every((t) => t.isDisposed), 'intermediates of both tasks are freed');
    assert.equal(torch.scopeDepth(), 0);
    a.dispose();
    b.dispose();
    assert.equal(torch.liveTensors(), base);
  });

  it('nested sync tidy and tidyAsync inside concurrent tasks route results to the right scope', async () => {
    const base = torch.liveTensors();
    const task = (v: number) => torch.tidyAsync(async () => {
      await tick(v);
      const inner = torch.tidy(() => torch.full([1], v).mul(2)); // moves to this task's scope
      const nested = await torch.tidyAsync(async () => {
        await tick(3 - v);
        return inner.add(1);
      });
      await tick(1);
      return { inner, nested };
    });
    const [r1, r2] = await Promise.all([task(1), task(2)]);
    assert.deepEqual([r1.inner.toArray(), r1.nested.toArray(), r2.inner.toArray(), r2.nested.toArray()], [[2], [3], [4], [5]]);
    torch.dispose([r1, r2]);
    assert.equal(torch.liveTensors(), base);
  });

  it('a tidyAsync started inside a sync tidy does not hand its tensors to the sync scope', async () => {
    let p: Promise<Tensor> | undefined;
    torch.tidy(() => {
      p = torch.tidyAsync(async () => {
        const t = torch.ones([2]); // created synchronously, while the sync tidy is open
        await tick();
        return t;
      });
    });
    const t = await p!;
    assert.equal(t.isDisposed, false);
    t.dispose();
  });
});

class Pair {
  constructor(readonly left: Tensor, readonly right: Tensor) {}
  get sum(): number {
    throw new Error('getters are not run');
  }
}

describe('tidy keeps tensors returned in any container', () => {
  it('class instances, Sets, Map keys, depth-20 arrays and cycles', () => {
    const base = torch.liveTensors();
    let scratch: Tensor | undefined;
    const out = torch.tidy(() => {
      scratch = torch.ones([1]).add(0);
      let deep: unknown = torch.full([1], 20);
      for (let i = 0; i < 20; i++) deep = [deep];
      const cyc: { self?: unknown; t: Tensor } = { t: torch.full([1], 7) };
      cyc.self = cyc;
      return {
        pair: new Pair(torch.full([1], 1), torch.full([1], 2)),
        set: new Set([torch.full([1], 3)]),
        map: new Map([[torch.full([1], 4), 'key']]),
        deep,
        cyc,
      };
    });
    assert.equal(scratch!.isDisposed, true);
    assert.deepEqual(out.pair.left.toArray(), [1]);
    assert.deepEqual(out.pair.right.toArray(), [2]);
    assert.deepEqual([...out.set][0].toArray(), [3]);
    assert.deepEqual([...out.map.keys()][0].toArray(), [4]);
    let d: unknown = out.deep;
    for (let i = 0; i < 20; i++) d = (d as unknown[])[0];
    assert.deepEqual((d as Tensor).toArray(), [20]);
    assert.deepEqual(out.cyc.t.toArray(), [7]);
    torch.dispose(out);
    assert.equal(out.pair.left.isDisposed && [...out.set][0].isDisposed && (d as Tensor).isDisposed, true);
    assert.equal(torch.liveTensors(), base);
  });

  it('a very deep result (10,000 levels) neither overflows the stack nor loses the tensor', () => {
    const out = torch.tidy(() => {
      let deep: unknown = torch.ones([1]);
      for (let i = 0; i < 10000; i++) deep = { next: deep };
      return deep;
    });
    let d: unknown = out;
    for (let i = 0; i < 10000; i++) d = (d as { next: unknown }).next;
    assert.equal((d as Tensor).isDisposed, false);
    (d as Tensor).dispose();
  });
});
