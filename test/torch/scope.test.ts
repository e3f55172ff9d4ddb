/** Scopes: tidy frees what it does not return, keep, dispose, Symbol.dispose (using), disposed-tensor errors. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';

describe('tidy', () => {
  it('frees intermediates and keeps what it returns (also inside arrays, objects, Maps)', () => {
    let inner: Tensor[] = [];
    const out = torch.tidy(() => {
      const a = torch.ones([2]);
      const b = a.add(1);
      const c = b.mul(2);
      inner = [a, b];
      return { c, list: [b.sub(1)], map: new Map([['k', c.neg()]]) };
    });
    assert.ok(inner.every((t) => t.isDisposed));
    assert.equal(out.c.isDisposed, false);
    assert.deepEqual(out.c.toArray(), [4, 4]);
    assert.deepEqual(out.list[0].toArray(), [1, 1]);
    assert.deepEqual(out.map.get('k')!.toArray(), [-4, -4]);
    torch.dispose(out);
    assert.ok(out.c.isDisposed && out.list[0].isDisposed && out.map.get('k')!.isDisposed);
  });

  it('nested: a returned tensor moves to the enclosing scope and is freed by it', () => {
    let moved: Tensor | undefined;
    torch.tidy(() => {
      moved = torch.tidy(() => torch.zeros([3]).add(1));
      assert.equal(moved.isDisposed, false);
      assert.equal(torch.scopeDepth(), 1);
    });
    assert.equal(moved!.isDisposed, true);
    assert.equal(torch.scopeDepth(), 0);
  });

  it('keep survives every scope; unkeep hands it back', () => {
    const kept = torch.tidy(() => torch.keep(torch.ones([2])));
    torch.tidy(() => {
      torch.tidy(() => kept.mul(2));
    });
    assert.equal(kept.isDisposed, false);
    let k2: Tensor | undefined;
    torch.tidy(() => {
      k2 = torch.keep(torch.ones([1]));
      torch.unkeep(k2);
    });
    assert.equal(k2!.isDisposed, true);
    kept.dispose();
  });

  it('frees its tensors when fn throws, and rejects async functions', () => {
    let a: Tensor | undefined;
    assert.throws(() => torch.tidy(() => {
      a = torch.ones([2]);
      throw new Error('boom');
    }), /boom/);
    assert.equal(a!.isDisposed, true);
    assert.equal(torch.scopeDepth(), 0);
    assert.throws(() => torch.tidy((async () => torch.ones([1])) as unknown as () => Tensor), /Promise/);
    assert.equal(torch.scopeDepth(), 0);
  });

  it('tidyAsync keeps the returned tensor', async () => {
    const t = await torch.tidyAsync(async () => {
      const a = torch.ones([2]);
      await new Promise((r) => setTimeout(r, 1));
      return a.add(1);
    });
    assert.deepEqual(t.toArray(), [2, 2]);
    t.dispose();
  });

  it('grad reads inside tidy are freed; parameter grads survive', () => {
    const w = torch.keep(torch.ones([3], { requiresGrad: true }));
    torch.tidy(() => w.mul(2).sum().backward());
    let g: Tensor | undefined;
    torch.tidy(() => {
      g = w.grad!;
      assert.deepEqual(g.toArray(), [2, 2, 2]);
    });
    assert.equal(g!.isDisposed, true);
    const again = w.grad!; // the accumulated gradient itself lives on in the parameter
    assert.deepEqual(again.toArray(), [2, 2, 2]);
    again.dispose();
    w.dispose();
  });
});

describe('dispose', () => {
  it('is idempotent; a disposed tensor says so when used', () => {
    const t = torch.ones([2, 2]);
    t.dispose();
    t.dispose();
    assert.equal(t.isDisposed, true);
    assert.equal(t.toString(), 'Tensor(disposed)');
    const other = torch.ones([2, 2]);
    assert.throws(() => t.add(1), /disposed/);
    assert.throws(() => other.add(t), /disposed/);
    assert.throws(() => t.shape, /disposed/);
    assert.throws(() => t.toArray(), /disposed/);
    assert.throws(() => t.item(), /disposed/);
    assert.throws(() => torch.cat([other, t]), /disposed/);
    assert.throws(() => torch.F.conv2d(t, other), /disposed/);
    assert.throws(() => torch.ops.nms(t, other, 0.5), /disposed/);
    assert.throws(() => t.backward(), /disposed/);
    other.dispose();
  });

  it('using frees at the end of the block', () => {
    let seen: Tensor | undefined;
    {
      using t = torch.ones([3]);
      seen = t;
      assert.equal(t.isDisposed, false);
    }
    assert.equal(seen.isDisposed, true);
  });

  it('disposing a view leaves the base (and other handles) alive', () => {
    torch.tidy(() => {
      const base = torch.arange(6);
      const v = base.view(2, 3);
      const alias = base.alias();
      v.dispose();
      alias.dispose();
      assert.deepEqual(base.toArray(), [0, 1, 2, 3, 4, 5]);
    });
  });
});
