/**
 * Shape and indexing ops against python3-torch: views and reshapes, cat/stack/split,
 * gather/scatter, masked ops, advanced indexing (get and put) with int64 and bool
 * tensors, sort/topk/arg-reductions with indices, unique.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { hasReference, NO_REFERENCE } from '../helpers/reference';
import { checkCase, given, ints, bools, normal, referenceResults, type Data, type Encoded, type RefCase } from './_util';

const pool: Record<string, Data> = {
  x: normal(21, [2, 3, 4]),
  y: normal(22, [2, 3, 4]),
  v: normal(23, [5]),
  s: normal(24, [2, 1, 4]),
  m2d: normal(25, [3, 4]),
  idx: given([2, 0, 1, 2], [4], 'int64'),
  idx2: given([1, 0], [2], 'int64'),
  gidx: ints(26, [2, 3, 4], 0, 3),
  gidx2: ints(27, [2, 2, 4], 0, 3),
  src: normal(28, [2, 2, 4]),
  mask: bools(29, [2, 3, 4]),
  rowmask: given([1, 0, 1], [3], 'bool'),
  ties: given([3, 1, 2, 3, 1, 0, 2, 3], [8]),
  dup: given([3, 1, 2, 3, 1, 0, 2, 3, 5, 1], [10], 'int64'),
  rows: given([1, 2, 0, 1, 1, 2, 0, 1, 3, 3, 3, 3], [4, 3], 'int64'),
  dupidx: given([0, 2, 0, 0, 1], [5], 'int64'),
  vals5: given([1, 2, 3, 4, 5], [5]),
};

const cases: RefCase[] = [
  // views and reshapes
  { name: 'view', py: 'x.view(6, 4)', ts: (p) => p.x.view(6, 4) },
  { name: 'view -1 array', py: 'x.view(-1)', ts: (p) => p.x.view([-1]) },
  { name: 'reshape', py: 'x.reshape(4, -1, 2)', ts: (p) => p.x.reshape(4, -1, 2) },
  { name: 'reshape non-contiguous', py: 'x.permute(2, 0, 1).reshape(8, 3)', ts: (p) => p.x.permute(2, 0, 1).reshape(8, 3) },
  { name: 'flatten', py: '[x.flatten(), x.flatten(1), x.flatten(0, 1)]', ts: (p) => [p.x.flatten(), p.x.flatten(1), p.x.flatten(0, 1)] },
  { name: 'unflatten', py: 'x.unflatten(2, (2, 2))', ts: (p) => p.x.unflatten(2, [2, 2]) },
  { name: 'permute', py: 'x.permute(2, 0, 1)', ts: (p) => p.x.permute(2, 0, 1) },
  { name: 'permute array', py: 'x.permute(1, 2, 0)', ts: (p) => p.x.permute([1, 2, 0]) },
  { name: 'transpose', py: '[x.transpose(0, 2), x.transpose(-1, -2)]', ts: (p) => [p.x.transpose(0, 2), p.x.transpose(-1, -2)] },
  { name: 't', py: 'm2d.t()', ts: (p) => p.m2d.t() },
  { name: 'contiguous', py: 'x.transpose(0, 1).contiguous()', ts: (p) => p.x.transpose(0, 1).contiguous() },
  { name: 'squeeze', py: '[s.squeeze(), s.squeeze(1), s.squeeze(0)]', ts: (p) => [p.s.squeeze(), p.s.squeeze(1), p.s.squeeze(0)] },
  { name: 'unsqueeze', py: '[x.unsqueeze(0), x.unsqueeze(-1), x.unsqueeze(2)]', ts: (p) => [p.x.unsqueeze(0), p.x.unsqueeze(-1), p.x.unsqueeze(2)] },
  { name: 'expand', py: '[s.expand(2, 3, 4), s.expand(3, 2, 5, 4), s.expand(-1, 6, -1)]', ts: (p) => [p.s.expand(2, 3, 4), p.s.expand([3, 2, 5, 4]), p.s.expand(-1, 6, -1)] },
  { name: 'expand_as', py: 's.expand_as(x)', ts: (p) => p.s.expandAs(p.x) },
  { name: 'repeat', py: '[x.repeat(2, 1, 2), v.repeat(2, 3)]', ts: (p) => [p.x.repeat(2, 1, 2), p.v.repeat([2, 3])] },
  { name: 'repeat_interleave', py: '[v.repeat_interleave(2), x.repeat_interleave(3, dim=1)]', ts: (p) => [p.v.repeatInterleave(2), p.x.repeatInterleave(3, 1)] },
  { name: 'flip', py: '[x.flip(0, 2), x.flip(-1)]', ts: (p) => [p.x.flip([0, 2]), p.x.flip(-1)] },
  { name: 'narrow', py: '[x.narrow(2, 1, 2), x.narrow(-2, 0, 1)]', ts: (p) => [p.x.narrow(2, 1, 2), p.x.narrow(-2, 0, 1)] },
  { name: 'slice', py: '[x[:, 0:3:2], x[..., 1:], x[:, :, :100], v[-3:], v[1:4:2]]', ts: (p) => [p.x.slice(1, 0, 3, 2), p.x.slice(2, 1), p.x.slice(2, undefined, 100), p.v.slice(0, -3), p.v.slice(0, 1, 4, 2)] },
  { name: 'select', py: '[x[:, 2], x[1], x[..., -1]]', ts: (p) => [p.x.select(1, 2), p.x.select(0, 1), p.x.select(-1, -1)] },
  { name: 'as_strided', py: 'v.as_strided((2, 2), (1, 2), 1)', ts: (p) => p.v.asStrided([2, 2], [1, 2], 1) },
  // joining and splitting
  { name: 'cat', py: '[torch.cat([x, y]), torch.cat([x, y], 2), torch.cat([x, s], 1)]', ts: (p) => [torch.cat([p.x, p.y]), torch.cat([p.x, p.y], 2), torch.cat([p.x, p.s], 1)] },
  { name: 'cat promotes dtype', py: 'torch.cat([v, idx.double()])', ts: (p) => torch.cat([p.v, p.idx.double()]) },
  { name: 'stack', py: '[torch.stack([x, y]), torch.stack([x, y], -1)]', ts: (p) => [torch.stack([p.x, p.y]), torch.stack([p.x, p.y], -1)] },
  { name: 'split size', py: 'list(x.split(3, 2))', ts: (p) => p.x.split(3, 2) },
  { name: 'split sizes', py: 'list(x.split([1, 3], 2))', ts: (p) => p.x.split([1, 3], 2) },
  { name: 'chunk', py: '[list(x.chunk(3, 2)), list(v.chunk(2))]', ts: (p) => [p.x.chunk(3, 2), p.v.chunk(2)] },
  { name: 'unbind', py: 'list(x.unbind(1))', ts: (p) => p.x.unbind(1) },
  { name: 'meshgrid', py: 'list(torch.meshgrid(v, idx.float(), indexing="ij")) + list(torch.meshgrid(v, idx.float(), indexing="xy"))', ts: (p) => [...torch.meshgrid([p.v, p.idx.float()], 'ij'), ...torch.meshgrid([p.v, p.idx.float()], 'xy')] },
  // gather / scatter / index_select
  { name: 'index_select', py: '[x.index_select(1, idx[:3]), x.index_select(2, idx), v.index_select(0, idx)]', ts: (p) => [p.x.indexSelect(1, p.idx.slice(0, 0, 3)), p.x.indexSelect(2, p.idx), p.v.indexSelect(0, p.idx)] },
  { name: 'gather', py: 'x.gather(1, gidx)', ts: (p) => p.x.gather(1, p.gidx) },
  { name: 'gather smaller index', py: 'x.gather(1, gidx2)', ts: (p) => p.x.gather(1, p.gidx2) },
  { name: 'scatter', py: 'torch.zeros(2, 3, 4).scatter(1, gidx2, src)', ts: (p) => torch.zeros([2, 3, 4]).scatter(1, p.gidx2, p.src) },
  { name: 'scatter value', py: 'x.scatter(1, gidx2, 5.0)', ts: (p) => p.x.scatter(1, p.gidx2, 5) },
  { name: 'scatter_add', py: 'x.scatter_add(1, gidx2, src)', ts: (p) => p.x.scatterAdd(1, p.gidx2, p.src) },
  { name: 'scatter_ scatter_add_', py: '[x.clone().scatter_(1, gidx2, src), x.clone().scatter_add_(1, gidx2, src)]', ts: (p) => [p.x.clone().scatter_(1, p.gidx2, p.src), p.x.clone().scatterAdd_(1, p.gidx2, p.src)] },
  { name: 'index_add_', py: 'torch.zeros(2, 4).index_add_(0, dupidx[:3] % 2, m2d, alpha=2)', ts: (p) => torch.zeros([2, 4]).indexAdd_(0, p.dupidx.slice(0, 0, 3).remainder(2), p.m2d, 2) },
  // masks, where, nonzero
  { name: 'masked_fill', py: '[x.masked_fill(mask, -1.5), x.masked_fill(mask, torch.tensor(2.0))]', ts: (p) => [p.x.maskedFill(p.mask, -1.5), p.x.maskedFill(p.mask, torch.tensor(2))] },
  { name: 'masked_fill broadcast', py: 'm2d.masked_fill(rowmask.view(3, 1), 0)', ts: (p) => p.m2d.maskedFill(p.rowmask.view(3, 1), 0) },
  { name: 'masked_fill_', py: 'x.clone().masked_fill_(mask, 9)', ts: (p) => p.x.clone().maskedFill_(p.mask, 9) },
  { name: 'masked_select', py: '[x.masked_select(mask), m2d.masked_select(rowmask.view(3, 1))]', ts: (p) => [p.x.maskedSelect(p.mask), p.m2d.maskedSelect(p.rowmask.view(3, 1))] },
  { name: 'where', py: 'torch.where(mask, x, y)', ts: (p) => torch.where(p.mask, p.x, p.y) },
  { name: 'where scalars', py: '[torch.where(mask, x, 0.0), torch.where(mask, -1.0, y)]', ts: (p) => [torch.where(p.mask, p.x, 0), torch.where(p.mask, -1, p.y)] },
  { name: 'where broadcast', py: 'torch.where(rowmask.view(3, 1), m2d, v[:4])', ts: (p) => torch.where(p.rowmask.view(3, 1), p.m2d, p.v.slice(0, 0, 4)) },
  { name: 'nonzero', py: '[mask.nonzero(), (v > 0).nonzero(), dup.nonzero()]', ts: (p) => [p.mask.nonzero(), p.v.gt(0).nonzero(), p.dup.nonzero()] },
  // advanced indexing: get
  { name: 'index int64', py: '[x[idx2], x[:, idx[:3]], x[:, :, idx], v[idx]]', ts: (p) => [p.x.index([p.idx2]), p.x.index([null, p.idx.slice(0, 0, 3)]), p.x.index([null, null, p.idx]), p.v.index([p.idx])] },
  { name: 'index paired', py: 'x[idx2, idx[:2]]', ts: (p) => p.x.index([p.idx2, p.idx.slice(0, 0, 2)]) },
  { name: 'index bool', py: '[x[mask], m2d[rowmask], x[:, rowmask]]', ts: (p) => [p.x.index([p.mask]), p.m2d.index([p.rowmask]), p.x.index([null, p.rowmask])] },
  // advanced indexing: put
  { name: 'index_put int64', py: 'v.index_put((idx2,), torch.tensor([10.0, 20.0]))', ts: (p) => p.v.indexPut([p.idx2], torch.tensor([10, 20])) },
  { name: 'index_put accumulate duplicates', py: 'torch.zeros(3).index_put((dupidx,), vals5, accumulate=True)', ts: (p) => torch.zeros([3]).indexPut([p.dupidx], p.vals5, true) },
  { name: 'index_put bool mask scalar', py: 'x.index_put((mask,), torch.tensor(0.0))', ts: (p) => p.x.indexPut([p.mask], torch.tensor(0)) },
  { name: 'index_put_ rows', py: 'm2d.clone().index_put_((rowmask,), torch.tensor([1.0, 2.0, 3.0, 4.0]))', ts: (p) => p.m2d.clone().indexPut_([p.rowmask], torch.tensor([1, 2, 3, 4])) },
  { name: 'index_put_ columns', py: '(lambda t: (t.__setitem__((slice(None), idx2), 7.0), t)[1])(x.clone())', ts: (p) => p.x.clone().indexPut_([null, p.idx2], torch.tensor(7)) },
  // sorting and selection
  { name: 'sort', py: 'list(x.sort())', ts: (p) => { const r = p.x.sort(); return [r.values, r.indices]; } },
  { name: 'sort dim descending', py: 'list(x.sort(1, descending=True))', ts: (p) => { const r = p.x.sort({ dim: 1, descending: true }); return [r.values, r.indices]; } },
  { name: 'sort stable ties', py: 'list(ties.sort(stable=True)) + list(ties.sort(stable=True, descending=True))', ts: (p) => { const a = p.ties.sort({ stable: true }); const b = p.ties.sort({ stable: true, descending: true }); return [a.values, a.indices, b.values, b.indices]; } },
  { name: 'argsort', py: '[x.argsort(), x.argsort(0, descending=True), ties.sort(stable=True)[1]]', ts: (p) => [p.x.argsort(), p.x.argsort({ dim: 0, descending: true }), p.ties.argsort({ stable: true })] },
  { name: 'topk', py: 'list(x.topk(2)) + list(x.topk(2, dim=1, largest=False))', ts: (p) => { const a = p.x.topk(2); const b = p.x.topk(2, { dim: 1, largest: false }); return [a.values, a.indices, b.values, b.indices]; } },
  { name: 'argmax argmin', py: '[x.argmax(), x.argmax(1), x.argmin(2, keepdim=True), ties.argmax(), ties.argmin()]', ts: (p) => [p.x.argmax(), p.x.argmax({ dim: 1 }), p.x.argmin({ dim: 2, keepdim: true }), p.ties.argmax(), p.ties.argmin()] },
  { name: 'max min all', py: '[x.max(), x.min(), dup.max()]', ts: (p) => [p.x.max(), p.x.min(), p.dup.max()] },
  { name: 'max min with indices', py: 'list(x.max(1)) + list(x.min(2, keepdim=True)) + list(rows.max(1))', ts: (p) => { const a = p.x.max({ dim: 1 }); const b = p.x.min({ dim: 2, keepdim: true }); const c = p.rows.max({ dim: 1 }); return [a.values, a.indices, b.values, b.indices, c.values, c.indices]; } },
  { name: 'unique', py: 'torch.unique(dup)', ts: (p) => p.dup.unique().values },
  { name: 'unique inverse counts', py: 'list(torch.unique(dup, return_inverse=True, return_counts=True))', ts: (p) => { const r = p.dup.unique({ returnInverse: true, returnCounts: true }); return [r.values, r.inverse, r.counts]; } },
  { name: 'unique float', py: 'torch.unique(ties)', ts: (p) => p.ties.unique().values },
  { name: 'unique dim', py: 'list(torch.unique(rows, dim=0, return_inverse=True, return_counts=True))', ts: (p) => { const r = p.rows.unique({ dim: 0, returnInverse: true, returnCounts: true }); return [r.values, r.inverse, r.counts]; } },
  { name: 'cumsum clamp', py: '[x.cumsum(2), x.cumsum(0).clamp(-1, 1)]', ts: (p) => [p.x.cumsum(2), p.x.cumsum(0).clamp({ min: -1, max: 1 })] },
  { name: 'bucketize searchsorted', py: '[torch.bucketize(v, torch.tensor([-1.0, 0.0, 1.0])), torch.searchsorted(torch.tensor([-1.0, 0.0, 1.0]), v, right=True)]', ts: (p) => [torch.bucketize(p.v, torch.tensor([-1, 0, 1])), torch.searchsorted(torch.tensor([-1, 0, 1]), p.v, { right: true })] },
];

describe('shape and indexing ops vs python3-torch', { skip: hasReference() ? false : NO_REFERENCE }, () => {
  let ref: Record<string, Encoded> = {};
  before(() => {
    ref = referenceResults(pool, cases);
  });
  for (const c of cases) it(c.name, () => checkCase(pool, c, ref[c.name]));
});

describe('views share storage; metadata', () => {
  it('view/permute/transpose/expand/narrow/slice/select are views, contiguous() copies only when needed', () => {
    torch.tidy(() => {
      const x = torch.arange(24).reshape(2, 3, 4);
      // each view, written through, changes the base
      const views: [torch.Tensor, number][] = [[x.view(6, 4), 0], [x.permute(2, 0, 1), 0], [x.transpose(0, 1), 0], [x.narrow(1, 1, 2), 4],
        [x.slice(2, 1), 1], [x.select(0, 1), 12], [x.unsqueeze(0), 0], [x.flatten(), 0], [x.expand(3, 2, 3, 4), 0]];
      for (const [v, first] of views) {
        const before = x.toArray()[first];
        let e = v;
        while (e.ndim > 0) e = e.select(0, 0);
        e.fill_(before + 100);
        assert.equal(x.toArray()[first], before + 100);
        x.view(-1).select(0, first).fill_(before);
      }
      const p = x.permute(2, 0, 1);
      assert.equal(p.isContiguous(), false);
      assert.deepEqual(p.stride(), [1, 12, 4]);
      const c = p.contiguous();
      assert.equal(c.isContiguous(), true);
      assert.deepEqual(c.stride(), [6, 3, 1]);
      assert.equal(x.narrow(2, 1, 2).storageOffset(), 1);
      assert.equal(x.select(0, 1).storageOffset(), 12);
      // writing through a view changes the base
      x.select(0, 0).select(0, 0).fill_(-1);
      assert.deepEqual(x.toArray().slice(0, 5), [-1, -1, -1, -1, 4]);
      assert.equal(x.size(-1), 4);
      assert.equal(x.size(0), 2);
      assert.equal(x.ndim, 3);
      assert.equal(x.numel(), 24);
      assert.equal(x.nbytes, 24 * 8);
    });
  });
});
