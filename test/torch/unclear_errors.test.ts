/**
 * Wrong kinds of arguments anywhere in the torch API are clear errors (issue 14: "no silent wrong
 * answer", and the fuzz harness's "unclear errors"): one case per class the harness found
 * (bench/fuzz, seed 1) — a non-tensor where a tensor belongs, a non-array tensor list or shape,
 * null options, symbols and BigInts, non-booleans where Node-API said only "A boolean was
 * expected", tidy/noGrad of a non-function, a CUDA device on a build without CUDA. Each must
 * throw an Error of the given type whose message names the function and the argument, and
 * that the harness classifies as clear (not "Cannot read properties of undefined", "x.map is
 * not a function", "Cannot convert a Symbol value" ...).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { classifyError } from '../../bench/fuzz/common';

const { F, ops } = torch;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const any = (v: unknown): any => v;
const t = (shape = [2, 3]) => torch.ones(shape);
const boxes = () => torch.tensor([[0, 0, 2, 2], [1, 1, 3, 3]]);
const img = () => torch.randn([1, 2, 8, 8]);

interface Case {
  /** The harness's class (old message) this case stands for. */
  name: string;
  fn: () => unknown;
  type: typeof TypeError | typeof Error;
  /** What the message must say: the function, the argument, and what was given. */
  error: RegExp;
}

export const unclearCases: Case[] = [
  // "Cannot read properties of undefined/null (reading '_h')": a non-tensor where a tensor belongs
  { name: 'where: cond undefined', fn: () => torch.where(any(undefined), t(), -3.8), type: TypeError, error: /^where: cond: expected a Tensor, got undefined$/ },
  { name: 'einsum: undefined operand', fn: () => torch.einsum('ij,jk->ik', [t(), t([3, 2]), any(undefined)]), type: TypeError, error: /^torch\.einsum: operands\[2\]: expected a Tensor, got undefined$/ },
  { name: 'index: undefined in the index list', fn: () => t().index([torch.tensor([0, 1], { dtype: 'int64' }), any(undefined)]), type: TypeError, error: /^Tensor\.index: indices\[1\]: expected a Tensor or null, got undefined$/ },
  { name: 'indexSelect: null index', fn: () => t().indexSelect(0, any(null)), type: TypeError, error: /^Tensor\.indexSelect: index: expected a Tensor, got null$/ },
  { name: 'maskedFill: null mask', fn: () => t().maskedFill(any(null), 2), type: TypeError, error: /^Tensor\.maskedFill: mask: expected a Tensor, got null$/ },
  { name: 'gridSample: grid not a tensor', fn: () => F.gridSample(img(), any([[0, 0]])), type: TypeError, error: /^F\.gridSample: grid: expected a Tensor, got an array/ },
  { name: 'conv2d: weight undefined', fn: () => F.conv2d(img(), any(undefined)), type: TypeError, error: /^F\.conv2d: weight: expected a Tensor, got undefined$/ },
  { name: 'nms: null boxes', fn: () => ops.nms(any(null), torch.ones([2]), 0.5), type: TypeError, error: /^ops\.nms: boxes: expected a Tensor, got null$/ },
  { name: 'roiAlign: undefined input', fn: () => ops.roiAlign(any(undefined), [boxes()], { outputSize: 2 }), type: TypeError, error: /^ops\.roiAlign: input: expected a Tensor, got undefined$/ },
  { name: 'randnLike: undefined', fn: () => torch.randnLike(any(undefined)), type: TypeError, error: /^torch\.randnLike: input: expected a Tensor, got undefined$/ },
  { name: 'matmul: a number', fn: () => t().matmul(any(3)), type: TypeError, error: /^Tensor\.matmul: other: expected a Tensor, got number 3$/ },
  // a look-alike object: its _h was passed to the binding as a handle (another tensor's, or none)
  { name: 'indexSelect: a fake tensor {_h}', fn: () => torch.tidy(() => { const i = torch.tensor([0], { dtype: 'int64' }); return t().indexSelect(0, any({ _h: i._h })); }), type: TypeError, error: /^Tensor\.indexSelect: index: expected a Tensor, got an object \{_h\}$/ },
  { name: 'backward: a string gradient (was ignored)', fn: () => torch.ones([2], { requiresGrad: true }).sum().backward(any('x')), type: TypeError, error: /^Tensor\.backward: gradient: expected a Tensor or null, got 'x'$/ },
  { name: "tensor: string elements (were read as numbers or NaN)", fn: () => torch.tensor(any(['3', 'a'])), type: TypeError, error: /^torch\.tensor: data\[0\]: expected a number or a boolean, got '3'$/ },
  { name: "zeros: requiresGrad 'x' (was taken as true)", fn: () => torch.zeros([2], { requiresGrad: any('x') }), type: TypeError, error: /^torch\.zeros: options\.requiresGrad: expected true or false, got 'x'$/ },
  // "x.map / select / numel is not a function"
  { name: 'stack: not an array', fn: () => torch.stack(any({ _h: 1 })), type: TypeError, error: /^torch\.stack: tensors: expected an array of Tensors, got an object \{_h\}$/ },
  { name: 'cat: a single tensor', fn: () => torch.cat(any(t())), type: TypeError, error: /^torch\.cat: tensors: expected an array of Tensors, got a Tensor$/ },
  { name: 'boxIou: an array', fn: () => ops.boxIou(any([]), boxes()), type: TypeError, error: /^ops\.boxIou: a: expected a Tensor, got an array \[\]$/ },
  { name: 'boxIou: null', fn: () => ops.boxIou(any(null), boxes()), type: TypeError, error: /^ops\.boxIou: a: expected a Tensor, got null$/ },
  { name: 'batchedNms: a BigInt', fn: () => ops.batchedNms(any(10n), torch.ones([2]), torch.zeros([2]), 0.5), type: TypeError, error: /^ops\.batchedNms: boxes: expected a Tensor, got a bigint 10n$/ },
  { name: 'roiAlign list form: a non-tensor', fn: () => ops.roiAlign(img(), [boxes(), any([[0, 0, 1, 1]])], { outputSize: 2 }), type: TypeError, error: /^ops\.roiAlign: rois\[1\]: expected a Tensor, got an array/ },
  // "(intermediate value) is not iterable" / "Cannot read properties of undefined (reading 'outputSize')"
  { name: 'roiAlign: no options', fn: () => ops.roiAlign(img(), [boxes()], any(undefined)), type: TypeError, error: /roiAlign: outputSize should be positive integers .*got undefined/ },
  { name: 'roiPool: null options', fn: () => ops.roiPool(img(), [boxes()], any(null)), type: TypeError, error: /^ops\.roiPool: options: expected an options object, got null$/ },
  // creation ops: shapes and options
  { name: 'fromBytes: shape not an array', fn: () => torch.fromBytes(new Uint8Array(4), 'bool', any({ _h: 1 })), type: TypeError, error: /^torch\.fromBytes: shape: expected an array of non-negative integers, got an object \{_h\}$/ },
  { name: 'randint: shape a string', fn: () => torch.randint(-1, 5, any('x')), type: TypeError, error: /^torch\.randint: shape: expected an array of non-negative integers, got 'x'$/ },
  { name: 'zeros: a string size', fn: () => torch.zeros(any([2, '3'])), type: TypeError, error: /^torch\.zeros: shape\[1\]: expected a non-negative integer, got '3'$/ },
  { name: 'fromTypedArray: shape undefined', fn: () => torch.fromTypedArray(new Float32Array(12), any(undefined)), type: TypeError, error: /^torch\.fromTypedArray: shape: expected an array of non-negative integers, got undefined$/ },
  { name: 'randperm: null options', fn: () => torch.randperm(7, any(null)), type: TypeError, error: /^torch\.randperm: options: expected an options object, got null$/ },
  { name: 'zeros: non-string device', fn: () => torch.zeros([2], { device: any(3) }), type: TypeError, error: /^torch\.zeros: options\.device: expected a device string .*got number 3$/ },
  // "Cannot convert a Symbol / BigInt value to a number / string"
  { name: 'randint: a Symbol dtype', fn: () => torch.randint(0, 7, [1], { dtype: any(Symbol('s')) }), type: TypeError, error: /^torch\.randint: options\.dtype: unknown dtype symbol Symbol\(s\)/ },
  { name: 'tensor: a Symbol', fn: () => torch.tensor(any(Symbol('s'))), type: TypeError, error: /^torch\.tensor: data: expected a number or a boolean, got a symbol Symbol\(s\)$/ },
  { name: 'tensor: a BigInt element', fn: () => torch.tensor(any([1, 10n]), { dtype: 'int16' }), type: TypeError, error: /^torch\.tensor: data\[1\]: expected a number or a boolean, got a bigint 10n$/ },
  { name: 'add: a Symbol scalar', fn: () => t().add(any(Symbol('s'))), type: TypeError, error: /^Tensor\.add: other: expected a Tensor or a number, got a symbol Symbol\(s\)$/ },
  { name: 'full: a Symbol fill value', fn: () => torch.full([2], any(Symbol('s'))), type: TypeError, error: /^torch\.full: fillValue: expected a number or a boolean, got a symbol Symbol\(s\)$/ },
  // functional wrappers (already checked in F; the same helper serves them)
  { name: 'F.pad: padding undefined', fn: () => F.pad(img(), any(undefined)), type: TypeError, error: /^F\.pad: padding: expected an array of integers, got undefined$/ },
  { name: 'F.sigmoidFocalLoss: inputs not a tensor', fn: () => F.sigmoidFocalLoss(any([0.5]), torch.ones([1])), type: TypeError, error: /^F\.sigmoidFocalLoss: inputs: expected a Tensor, got an array \[0\.5\]$/ },
  // scopes: "fn is not a function"
  { name: 'tidy: not a function', fn: () => torch.tidy(any(3)), type: TypeError, error: /^tidy: fn: expected a function, got number$/ },
  { name: 'noGrad: not a function', fn: () => torch.noGrad(any('x')), type: TypeError, error: /^noGrad: fn: expected a function, got 'x'$/ },
  // Node-API's bare "A boolean was expected"
  { name: 'requiresGrad setter: an object', fn: () => { t().requiresGrad = any({ 0: 0 }); }, type: TypeError, error: /^Tensor\.requiresGrad: value: expected true or false, got an object \{0\}$/ },
  { name: 'requiresGrad_: a string', fn: () => t().requiresGrad_(any('yes')), type: TypeError, error: /^Tensor\.requiresGrad_: value: expected true or false, got 'yes'$/ },
  { name: 'backward: retainGraph not a boolean', fn: () => torch.ones([2], { requiresGrad: true }).sum().backward(null, { retainGraph: any('x') }), type: TypeError, error: /^Tensor\.backward: options\.retainGraph: expected true or false, got 'x'$/ },
  { name: 'setGradEnabled: a string', fn: () => torch.setGradEnabled(any('x')), type: TypeError, error: /^setGradEnabled: enabled: expected true or false, got 'x'$/ },
  { name: 'setNumThreads: a string', fn: () => torch.setNumThreads(any('x')), type: TypeError, error: /^setNumThreads: n should be an integer/ },
  { name: 'cuda.memoryStats: a string device', fn: () => torch.cuda.memoryStats(any('x')), type: TypeError, error: /^cuda\.memoryStats: device: expected a non-negative integer, got 'x'$/ },
  { name: 'indexPut: accumulate not a boolean', fn: () => t([3]).indexPut([torch.tensor([0], { dtype: 'int64' })], torch.ones([1]), any('yes')), type: TypeError, error: /^Tensor\.indexPut: accumulate: expected true or false, got 'yes'$/ },
];

// libtorch's "Could not run 'aten::empty_strided' with arguments from the 'CUDA' backend"
if (!torch.cuda.isAvailable()) {
  const why = torch.buildInfo().cuda ? /CUDA is not available \(no CUDA device found\)/ : /CUDA is not available in this build of tsvision\/libtorch/;
  unclearCases.push(
    { name: ".to('cuda') without CUDA", fn: () => t().to('cuda'), type: Error, error: new RegExp(`^Tensor\\.to: device 'cuda': ${why.source}`) },
    { name: '.cuda() without CUDA', fn: () => t().cuda(), type: Error, error: new RegExp(`^Tensor\\.to: device 'cuda:0': ${why.source}`) },
    { name: "zeros({ device: 'cuda' }) without CUDA", fn: () => torch.zeros([2], { device: 'cuda' }), type: Error, error: new RegExp(`^torch\\.zeros: options\\.device 'cuda': ${why.source}`) },
  );
}

describe('wrong kinds of arguments are clear errors naming the function and the argument', () => {
  for (const c of unclearCases) {
    it(c.name, () => {
      const live = torch.liveTensors();
      assert.throws(() => torch.tidy(c.fn), (err: unknown) => {
        assert.ok(err instanceof c.type, `expected a ${c.type.name}, got ${String(err)}`);
        assert.match((err as Error).message, c.error);
        const cls = classifyError(err);
        assert.equal(cls.outcome, 'error', `the fuzz harness would call it unclear: ${cls.reason}`);
        return true;
      });
      assert.equal(torch.liveTensors(), live, 'tensors leaked');
    });
  }

  it('the engine keeps working afterwards', () => {
    assert.equal(torch.tidy(() => torch.arange(4).sum().item()), 6);
    assert.equal(torch.isGradEnabled(), true);
    assert.equal(torch.scopeDepth(), 0);
  });
});
