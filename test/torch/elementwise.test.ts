/**
 * Elementwise ops and reductions against python3-torch: arithmetic with tensors and
 * scalars, broadcasting, unary math, comparisons, logical ops, reductions over dims
 * with keepdim, in-place variants.
 */
import { describe, it, before } from 'node:test';
import * as torch from '../../src/torch';
import { hasReference, NO_REFERENCE } from '../helpers/reference';
import { checkCase, given, ints, bools, normal, uniform, referenceResults, type Data, type Encoded, type RefCase } from './_util';

const pool: Record<string, Data> = {
  a: normal(1, [3, 4]),
  b: normal(2, [3, 4]),
  c: normal(3, [4]),
  col: normal(4, [3, 1]),
  pos: uniform(5, [3, 4], 0.1, 3),
  x3: normal(6, [2, 3, 4]),
  d: normal(7, [3, 4], 'float64'),
  ia: ints(8, [3, 4], -6, 6),
  ib: ints(9, [3, 4], 1, 5),
  i32: ints(10, [3, 4], -100, 100, 'int32'),
  u8: ints(11, [3, 4], 0, 255, 'uint8'),
  m: bools(12, [3, 4]),
  m2: bools(13, [3, 4]),
  halves: given([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49, 2.51], [8]),
  special: given([0, -1, 1, 4], [4]),
  z: given([2, 0, 3, 1, 5, 4], [2, 3]),
};

const cases: RefCase[] = [
  // arithmetic: tensor, scalar, broadcasting, alpha, dtype promotion
  { name: 'add', py: 'a + b', ts: (p) => p.a.add(p.b) },
  { name: 'add alpha', py: 'torch.add(a, b, alpha=0.5)', ts: (p) => p.a.add(p.b, { alpha: 0.5 }) },
  { name: 'add scalar', py: 'a + 2.5', ts: (p) => p.a.add(2.5) },
  { name: 'add broadcast row', py: 'a + c', ts: (p) => p.a.add(p.c) },
  { name: 'add broadcast col x row', py: 'col + c', ts: (p) => p.col.add(p.c) },
  { name: 'add broadcast 3d', py: 'x3 + a', ts: (p) => p.x3.add(p.a) },
  { name: 'sub', py: 'a - b', ts: (p) => p.a.sub(p.b) },
  { name: 'sub scalar alpha', py: 'torch.sub(a, 1.5, alpha=2)', ts: (p) => p.a.sub(1.5, { alpha: 2 }) },
  { name: 'rsub', py: '1 - a', ts: (p) => p.a.rsub(1) },
  { name: 'mul', py: 'a * b', ts: (p) => p.a.mul(p.b) },
  { name: 'mul scalar', py: 'a * -3.25', ts: (p) => p.a.mul(-3.25) },
  { name: 'div', py: 'a / pos', ts: (p) => p.a.div(p.pos) },
  { name: 'div scalar', py: 'a / 3', ts: (p) => p.a.div(3) },
  { name: 'div floor', py: 'torch.div(a * 5, pos, rounding_mode="floor")', ts: (p) => p.a.mul(5).div(p.pos, { roundingMode: 'floor' }) },
  { name: 'div trunc', py: 'torch.div(a * 5, pos, rounding_mode="trunc")', ts: (p) => p.a.mul(5).div(p.pos, { roundingMode: 'trunc' }) },
  { name: 'remainder', py: 'torch.remainder(a * 5, 1.5)', ts: (p) => p.a.mul(5).remainder(1.5) },
  { name: 'pow tensor', py: 'torch.pow(pos, a)', ts: (p) => p.pos.pow(p.a) },
  { name: 'pow scalar', py: 'a ** 3', ts: (p) => p.a.pow(3) },
  { name: 'pow fractional', py: 'pos ** 0.5', ts: (p) => p.pos.pow(0.5) },
  { name: 'maximum', py: 'torch.maximum(a, b)', ts: (p) => p.a.maximum(p.b) },
  { name: 'minimum', py: 'torch.minimum(a, b)', ts: (p) => p.a.minimum(p.b) },
  { name: 'float64 math', py: 'd * 2 + d.exp()', ts: (p) => p.d.mul(2).add(p.d.exp()) },
  { name: 'float32 + float64 promotes', py: 'a + d', ts: (p) => p.a.add(p.d) },
  // integer arithmetic stays integral; int + float scalar promotes
  { name: 'int add', py: 'ia + ib', ts: (p) => p.ia.add(p.ib) },
  { name: 'int mul scalar', py: 'ia * 3', ts: (p) => p.ia.mul(3) },
  { name: 'int add float scalar', py: 'ia + 0.5', ts: (p) => p.ia.add(0.5) },
  { name: 'int true div', py: 'ia / ib', ts: (p) => p.ia.div(p.ib) },
  { name: 'int floor div', py: 'torch.div(ia, ib, rounding_mode="floor")', ts: (p) => p.ia.div(p.ib, { roundingMode: 'floor' }) },
  { name: 'int32 + int64', py: 'i32 + ia', ts: (p) => p.i32.add(p.ia) },
  { name: 'uint8 wraps', py: 'u8 + 200', ts: (p) => p.u8.add(200) },
  { name: 'int abs neg', py: '[ia.abs(), ia.neg()]', ts: (p) => [p.ia.abs(), p.ia.neg()] },
  // unary
  { name: 'neg', py: '-a', ts: (p) => p.a.neg() },
  { name: 'abs', py: 'a.abs()', ts: (p) => p.a.abs() },
  { name: 'sqrt', py: 'pos.sqrt()', ts: (p) => p.pos.sqrt() },
  { name: 'sqrt negative is nan', py: 'a.sqrt()', ts: (p) => p.a.sqrt() },
  { name: 'rsqrt', py: 'pos.rsqrt()', ts: (p) => p.pos.rsqrt() },
  { name: 'exp', py: 'a.exp()', ts: (p) => p.a.exp() },
  { name: 'log', py: 'pos.log()', ts: (p) => p.pos.log() },
  { name: 'log special', py: 'special.log()', ts: (p) => p.special.log() },
  { name: 'sigmoid', py: 'a.sigmoid()', ts: (p) => p.a.sigmoid() },
  { name: 'tanh', py: 'a.tanh()', ts: (p) => p.a.tanh() },
  { name: 'floor', py: '(a * 3).floor()', ts: (p) => p.a.mul(3).floor() },
  { name: 'ceil', py: '(a * 3).ceil()', ts: (p) => p.a.mul(3).ceil() },
  { name: 'round half to even', py: 'halves.round()', ts: (p) => p.halves.round() },
  { name: 'round', py: '(a * 3).round()', ts: (p) => p.a.mul(3).round() },
  { name: 'clamp both', py: 'a.clamp(-0.5, 0.5)', ts: (p) => p.a.clamp({ min: -0.5, max: 0.5 }) },
  { name: 'clamp min', py: 'a.clamp(min=0)', ts: (p) => p.a.clamp({ min: 0 }) },
  { name: 'clamp max int', py: 'ia.clamp(max=2)', ts: (p) => p.ia.clamp({ max: 2 }) },
  { name: 'clamp tensor bounds', py: 'a.clamp(min=b, max=b + 1)', ts: (p) => p.a.clamp({ min: p.b, max: p.b.add(1) }) },
  // comparisons
  { name: 'eq', py: 'ia == ib', ts: (p) => p.ia.eq(p.ib) },
  { name: 'ne scalar', py: 'ia != 2', ts: (p) => p.ia.ne(2) },
  { name: 'lt', py: 'a < b', ts: (p) => p.a.lt(p.b) },
  { name: 'le scalar', py: 'a <= 0.25', ts: (p) => p.a.le(0.25) },
  { name: 'gt broadcast', py: 'a > c', ts: (p) => p.a.gt(p.c) },
  { name: 'ge scalar', py: 'ia >= 0', ts: (p) => p.ia.ge(0) },
  { name: 'isnan isfinite', py: '[special.log().isnan(), special.log().isfinite()]', ts: (p) => [p.special.log().isnan(), p.special.log().isfinite()] },
  // logical
  { name: 'logical and', py: 'm.logical_and(m2)', ts: (p) => p.m.logicalAnd(p.m2) },
  { name: 'logical or', py: 'm.logical_or(m2)', ts: (p) => p.m.logicalOr(p.m2) },
  { name: 'logical xor', py: 'm.logical_xor(m2)', ts: (p) => p.m.logicalXor(p.m2) },
  { name: 'logical not', py: 'm.logical_not()', ts: (p) => p.m.logicalNot() },
  { name: 'logical on floats', py: 'a.logical_and(ia)', ts: (p) => p.a.logicalAnd(p.ia) },
  // reductions
  { name: 'sum all', py: 'a.sum()', ts: (p) => p.a.sum() },
  { name: 'sum dim', py: 'x3.sum(1)', ts: (p) => p.x3.sum({ dim: 1 }) },
  { name: 'sum dims keepdim', py: 'x3.sum((0, 2), keepdim=True)', ts: (p) => p.x3.sum({ dim: [0, 2], keepdim: true }) },
  { name: 'sum negative dim', py: 'x3.sum(-1)', ts: (p) => p.x3.sum({ dim: -1 }) },
  { name: 'sum int', py: 'ia.sum()', ts: (p) => p.ia.sum() },
  { name: 'sum bool', py: 'm.sum(1)', ts: (p) => p.m.sum({ dim: 1 }) },
  { name: 'sum dtype', py: 'ia.sum(dtype=torch.float64)', ts: (p) => p.ia.sum({ dtype: 'float64' }) },
  { name: 'mean all', py: 'a.mean()', ts: (p) => p.a.mean() },
  { name: 'mean dim keepdim', py: 'x3.mean(2, keepdim=True)', ts: (p) => p.x3.mean({ dim: 2, keepdim: true }) },
  { name: 'mean dims', py: 'x3.mean((0, 1))', ts: (p) => p.x3.mean({ dim: [0, 1] }) },
  { name: 'std all', py: 'a.std()', ts: (p) => p.a.std() },
  { name: 'std dim biased', py: 'x3.std(1, unbiased=False)', ts: (p) => p.x3.std({ dim: 1, unbiased: false }) },
  { name: 'std dim keepdim', py: 'x3.std(2, keepdim=True)', ts: (p) => p.x3.std({ dim: 2, keepdim: true }) },
  { name: 'var all', py: 'a.var()', ts: (p) => p.a.var() },
  { name: 'var dims keepdim', py: 'x3.var((0, 2), keepdim=True)', ts: (p) => p.x3.var({ dim: [0, 2], keepdim: true }) },
  { name: 'var unbiased false', py: 'a.var(unbiased=False)', ts: (p) => p.a.var({ unbiased: false }) },
  { name: 'prod all', py: 'pos.prod()', ts: (p) => p.pos.prod() },
  { name: 'prod dim keepdim', py: 'x3.prod(1, keepdim=True)', ts: (p) => p.x3.prod({ dim: 1, keepdim: true }) },
  { name: 'prod int', py: 'ib.prod(0)', ts: (p) => p.ib.prod({ dim: 0 }) },
  { name: 'all any', py: '[m.all(), m.any(), m.all(1), m.any(0, keepdim=True)]', ts: (p) => [p.m.all(), p.m.any(), p.m.all({ dim: 1 }), p.m.any({ dim: 0, keepdim: true })] },
  { name: 'all any on numbers', py: '[ia.all(), ia.any(1)]', ts: (p) => [p.ia.all(), p.ia.any({ dim: 1 })] },
  { name: 'amax amin', py: '[x3.amax((0, 2)), x3.amin(1, keepdim=True)]', ts: (p) => [p.x3.amax({ dim: [0, 2] }), p.x3.amin({ dim: 1, keepdim: true })] },
  { name: 'norm', py: '[a.norm(), x3.norm(1, dim=2), x3.norm(2, dim=(0, 1), keepdim=True)]', ts: (p) => [p.a.norm(), p.x3.norm({ p: 1, dim: 2 }), p.x3.norm({ dim: [0, 1], keepdim: true })] },
  { name: 'logsumexp', py: 'x3.logsumexp(1)', ts: (p) => p.x3.logsumexp({ dim: 1 }) },
  { name: 'cumsum', py: '[x3.cumsum(1), ia.cumsum(0), m.cumsum(1)]', ts: (p) => [p.x3.cumsum(1), p.ia.cumsum(0), p.m.cumsum(1)] },
  { name: 'cumsum dtype', py: 'ia.cumsum(1, dtype=torch.float32)', ts: (p) => p.ia.cumsum(1, { dtype: 'float32' }) },
  { name: 'cumprod', py: 'pos.cumprod(1)', ts: (p) => p.pos.cumprod(1) },
  // in-place variants on clones
  { name: 'add_', py: 'a.clone().add_(b, alpha=2)', ts: (p) => p.a.clone().add_(p.b, { alpha: 2 }) },
  { name: 'add_ scalar broadcast', py: 'a.clone().add_(c).add_(1)', ts: (p) => p.a.clone().add_(p.c).add_(1) },
  { name: 'sub_', py: 'a.clone().sub_(b).sub_(0.5)', ts: (p) => p.a.clone().sub_(p.b).sub_(0.5) },
  { name: 'mul_', py: 'a.clone().mul_(b).mul_(3)', ts: (p) => p.a.clone().mul_(p.b).mul_(3) },
  { name: 'div_', py: 'a.clone().div_(pos).div_(2)', ts: (p) => p.a.clone().div_(p.pos).div_(2) },
  { name: 'addcmul_ addcdiv_', py: 'a.clone().addcmul_(b, c, value=0.5).addcdiv_(b, pos, value=-2)', ts: (p) => p.a.clone().addcmul_(p.b, p.c, { value: 0.5 }).addcdiv_(p.b, p.pos, { value: -2 }) },
  { name: 'lerp_', py: 'a.clone().lerp_(b, 0.3)', ts: (p) => p.a.clone().lerp_(p.b, 0.3) },
  { name: 'clamp_ relu_ neg_', py: '[a.clone().clamp_(-0.2, 0.3), a.clone().relu_(), a.clone().neg_()]', ts: (p) => [p.a.clone().clamp_({ min: -0.2, max: 0.3 }), p.a.clone().relu_(), p.a.clone().neg_()] },
  { name: 'sqrt_ exp_', py: '[pos.clone().sqrt_(), a.clone().exp_()]', ts: (p) => [p.pos.clone().sqrt_(), p.a.clone().exp_()] },
  { name: 'fill_ zero_ copy_', py: '[a.clone().fill_(7), a.clone().zero_(), a.clone().copy_(c)]', ts: (p) => [p.a.clone().fill_(7), p.a.clone().zero_(), p.a.clone().copy_(p.c)] },
  { name: 'int add_', py: 'ia.clone().add_(ib).mul_(2)', ts: (p) => p.ia.clone().add_(p.ib).mul_(2) },
  { name: 'misc unary', py: '[a.sign(), pos.reciprocal(), a.square(), pos.log2(), pos.log1p(), a.sin(), a.cos(), (a * 3).trunc()]', ts: (p) => [p.a.sign(), p.pos.reciprocal(), p.a.square(), p.pos.log2(), p.pos.log1p(), p.a.sin(), p.a.cos(), p.a.mul(3).trunc()] },
];

describe('elementwise ops and reductions vs python3-torch', { skip: hasReference() ? false : NO_REFERENCE }, () => {
  let ref: Record<string, Encoded> = {};
  before(() => {
    ref = referenceResults(pool, cases);
  });
  for (const c of cases) it(c.name, () => checkCase(pool, c, ref[c.name]));
});

describe('in-place ops mutate and return this', () => {
  it('add_ returns the same object and changes its data', () => {
    torch.tidy(() => {
      const t = torch.tensor([1, 2, 3]);
      const r = t.add_(1);
      if (r !== t) throw new Error('add_ did not return this');
      if (JSON.stringify(t.toArray()) !== '[2,3,4]') throw new Error(`add_ gave ${t.toArray()}`);
    });
  });
});
