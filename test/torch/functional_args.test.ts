/**
 * The functional API rejects misplaced and malformed arguments (issue 14, item 8):
 * an options object in a tensor-or-null slot, a non-tensor bias, unknown option keys and
 * options of the wrong type are TypeErrors naming the function, argument and value,
 * never silently ignored.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';

const { F } = torch;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const any = (v: unknown): any => v;

const isTypeError = (re: RegExp) => (err: unknown) => {
  assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`);
  assert.match(err.message, re);
  return true;
};

describe('functional: misplaced options and non-tensor arguments', () => {
  const x = torch.ones([1, 1, 4, 4]);
  const w = torch.ones([1, 1, 1, 1]);

  it('conv2d(x, w, { stride: 2 }) is rejected, not run with stride 1', () => {
    assert.throws(() => F.conv2d(x, w, any({ stride: 2 })), isTypeError(/F\.conv2d: bias: expected a Tensor or null, got an object \{stride\}.*options go in the next argument/));
    // the correct call still works
    assert.deepEqual(F.conv2d(x, w, null, { stride: 2 }).shape, [1, 1, 2, 2]);
  });

  it('linear(x, w, { bias: 5 }) and a number bias are rejected', () => {
    const a = torch.ones([2, 3]);
    const lw = torch.ones([4, 3]);
    assert.throws(() => F.linear(a, lw, any({ bias: 5 })), isTypeError(/F\.linear: bias: expected a Tensor or null, got an object \{bias\}/));
    assert.throws(() => F.linear(a, lw, any(5)), isTypeError(/F\.linear: bias: expected a Tensor or null, got number 5/));
    assert.throws(() => F.linear(a, any([1, 2])), isTypeError(/F\.linear: weight: expected a Tensor, got an array \[1, 2\]/));
  });

  it('convTranspose2d and batchNorm tensor-or-null slots', () => {
    assert.throws(() => F.convTranspose2d(x, w, any({ stride: 2 })), isTypeError(/F\.convTranspose2d: bias: expected a Tensor or null/));
    assert.throws(() => F.batchNorm(x, any({ training: true }), null), isTypeError(/F\.batchNorm: runningMean: expected a Tensor or null/));
    assert.throws(() => F.batchNorm(x, null, null, { weight: any(1) }), isTypeError(/F\.batchNorm: options\.weight: expected a Tensor or null, got number 1/));
  });

  it('unknown option keys are rejected (typos do not silently fall back to defaults)', () => {
    assert.throws(() => F.conv2d(x, w, null, any({ strides: 2 })), isTypeError(/F\.conv2d: options\.strides: unknown option \(known: stride, padding, dilation, groups\)/));
    assert.throws(() => F.maxPool2d(x, 2, any({ ceil_mode: true })), isTypeError(/F\.maxPool2d: options\.ceil_mode: unknown option/));
    assert.throws(() => F.crossEntropy(torch.ones([2, 3]), torch.zeros([2], { dtype: 'int64' }), any({ ignore_index: 1 })), isTypeError(/F\.crossEntropy: options\.ignore_index: unknown option/));
    assert.throws(() => F.interpolate(x, any({ size: 2, align_corners: true })), isTypeError(/F\.interpolate: options\.align_corners: unknown option/));
  });

  it('options of the wrong type are rejected', () => {
    assert.throws(() => F.conv2d(x, w, null, any({ stride: '2' })), isTypeError(/F\.conv2d: options\.stride: expected an integer or \[integer, integer\], got '2'/));
    assert.throws(() => F.conv2d(x, w, null, any({ groups: 1.5 })), isTypeError(/F\.conv2d: options\.groups: expected an integer in \[1, 2147483647\], got number 1\.5/));
    assert.throws(() => F.batchNorm(x, null, null, any({ eps: NaN })), isTypeError(/F\.batchNorm: options\.eps: expected a finite number, got number NaN/));
    assert.throws(() => F.dropout(x, any({ training: 'yes' })), isTypeError(/F\.dropout: options\.training: expected true or false/));
    assert.throws(() => F.gridSample(x, torch.zeros([1, 2, 2, 2]), any({ mode: 'cubic' })), isTypeError(/F\.gridSample: options\.mode: expected 'bilinear', 'nearest' or 'bicubic', got 'cubic'/));
    assert.throws(() => F.conv2d(x, w, null, any(2)), isTypeError(/F\.conv2d: options: expected an options object/));
  });

  it('positional numbers given options objects are rejected', () => {
    assert.throws(() => F.softmax(x, any({ dim: 1 })), isTypeError(/F\.softmax: dim: expected an integer, got an object \{dim\}/));
    assert.throws(() => F.leakyRelu(x, any({ negativeSlope: 0.2 })), isTypeError(/F\.leakyRelu: negativeSlope: expected a finite number/));
    assert.throws(() => F.groupNorm(x, any({ numGroups: 1 })), isTypeError(/F\.groupNorm: numGroups: expected an integer/));
    assert.throws(() => F.pad(x, any({ padding: [1, 1] })), isTypeError(/F\.pad: padding: expected an array of integers/));
  });

  it('sigmoidFocalLoss: an unknown reduction is an error, not a silent sum', () => {
    const l = torch.zeros([2, 3]);
    assert.throws(() => F.sigmoidFocalLoss(l, l, any({ reduction: 'avg' })), isTypeError(/F\.sigmoidFocalLoss: options\.reduction: expected 'none', 'mean' or 'sum', got 'avg'/));
  });
});
