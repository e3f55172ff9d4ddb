/**
 * Misuse of the tensor API: each case must throw a JavaScript Error whose message
 * matches, never crash the process. Shared by misuse.test.ts (in process) and its
 * child-process run (`node _misuse_cases.js` exits 0 when every case threw). Where libtorch
 * 2.x words a message differently from Debian's 1.13, the pattern accepts both.
 */
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';

export interface MisuseCase {
  name: string;
  fn: () => unknown;
  error: RegExp;
}

const F = torch.F;
const ops = torch.ops;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const any = (v: unknown) => v as any;
const disposed = (): Tensor => {
  const t = torch.ones([2, 2]);
  t.dispose();
  return t;
};
const img = () => torch.randn([1, 3, 8, 8]);
const rois = (r: number[][]) => torch.tensor(r);

export const misuseCases: MisuseCase[] = [
  // wrong shapes
  { name: 'add non-broadcastable', fn: () => torch.ones([2, 3]).add(torch.ones([4, 5])), error: /aten::add.*size of tensor a \(3\) must match/ },
  { name: 'matmul mismatch', fn: () => torch.ones([2, 3]).matmul(torch.ones([4, 5])), error: /aten::matmul.*cannot be multiplied/ },
  { name: 'conv2d channel mismatch', fn: () => F.conv2d(img(), torch.ones([4, 2, 3, 3])), error: /aten::conv2d.*channels/ },
  { name: 'conv2d kernel larger than input', fn: () => F.conv2d(torch.ones([1, 1, 2, 2]), torch.ones([1, 1, 5, 5])), error: /aten::conv2d.*Kernel size can't be greater than actual input size/ },
  { name: 'linear mismatch', fn: () => F.linear(torch.ones([2, 3]), torch.ones([4, 5])), error: /aten::linear.*cannot be multiplied/ },
  { name: 'view incompatible', fn: () => torch.ones([2, 3]).view(7), error: /aten::view: shape '\[7\]' is invalid for input of size 6/ },
  { name: 'view of a non-contiguous tensor', fn: () => torch.ones([2, 3]).t().view(6), error: /view size is not compatible/ },
  { name: 'cat sizes differ', fn: () => torch.cat([torch.ones([2, 3]), torch.ones([2, 4])]), error: /aten::cat.*Sizes of tensors must match/ },
  { name: 'stack sizes differ', fn: () => torch.stack([torch.ones([2]), torch.ones([3])]), error: /aten::stack.*stack expects each tensor to be equal size/ },
  { name: 'cat of nothing', fn: () => torch.cat([]), error: /aten::cat.*expected a non-empty list/ },
  { name: 'batchNorm stats size', fn: () => F.batchNorm(img(), torch.zeros([4]), torch.ones([4])), error: /aten::batch_norm.*running_mean should contain 3 elements not 4/ },
  { name: 'groupNorm groups', fn: () => F.groupNorm(img(), 2), error: /aten::group_norm.*Expected number of channels in input to be divisible by num_groups/ },
  { name: 'crossEntropy target shape', fn: () => F.crossEntropy(torch.ones([4, 3]), torch.zeros([5], { dtype: 'int64' })), error: /aten::cross_entropy_loss.*Expected input batch_size \(4\) to match target batch_size \(5\)/ },
  { name: 'mseLoss shape', fn: () => F.mseLoss(torch.ones([2, 3]), torch.ones([4, 3])), error: /aten::mse_loss.*must match/ },
  { name: 'expand to smaller', fn: () => torch.ones([2, 3]).expand(4, 3), error: /aten::expand.*must match the existing size/ },
  { name: 'permute wrong rank', fn: () => torch.ones([2, 3]).permute(0, 1, 2), error: /aten::permute.*number of dimensions/ },
  { name: 'maskedFill mask shape', fn: () => torch.ones([2, 3]).maskedFill(torch.ones([4], { dtype: 'bool' }), 0), error: /aten::masked_fill.*must match/ },
  { name: 'gridSample grid last dim', fn: () => F.gridSample(torch.ones([1, 1, 2, 2]), torch.ones([1, 2, 2, 3])), error: /grid_sampler.*size 2 in last dimension/ },
  { name: 'interpolate 3-d input bilinear', fn: () => F.interpolate(torch.ones([1, 2, 3]), { size: 4, mode: 'bilinear' }), error: /upsample_bilinear2d/ },
  { name: 'backward of a non-scalar without gradient', fn: () => torch.ones([2], { requiresGrad: true }).mul(2).backward(), error: /backward.*grad can be implicitly created only for scalar outputs/ },
  { name: 'backward gradient of wrong shape', fn: () => torch.ones([2], { requiresGrad: true }).mul(2).backward(torch.ones([3])), error: /backward: invalid gradient at index 0 - got \[3\] but expected shape compatible with \[2\]/ },
  { name: 'backward of a tensor without grad', fn: () => torch.ones([2]).sum().backward(), error: /backward.*does not require grad/ },
  { name: 'backward twice', fn: () => { const y = torch.ones([2], { requiresGrad: true }).exp().sum(); y.backward(); y.backward(); }, error: /backward.*second time/ },
  { name: 'assign a grad of another shape', fn: () => { torch.ones([2], { requiresGrad: true }).grad = torch.ones([3]); }, error: /grad.*shape/ },
  { name: 'assign a grad of another dtype', fn: () => { torch.ones([2], { requiresGrad: true }).grad = torch.ones([2], { dtype: 'float64' }); }, error: /grad.*dtype/ },
  // disposed tensors
  { name: 'method of a disposed tensor', fn: () => disposed().add(1), error: /aten::add.Scalar: tensor has been disposed/ },
  { name: 'disposed argument', fn: () => torch.ones([2, 2]).mul(disposed()), error: /tensor has been disposed/ },
  { name: 'disposed in a list', fn: () => torch.cat([torch.ones([2, 2]), disposed()]), error: /aten::cat: tensor has been disposed/ },
  { name: 'disposed in an index list', fn: () => torch.ones([2, 2]).index([null, disposed()]), error: /tensor has been disposed/ },
  { name: 'disposed metadata', fn: () => disposed().shape, error: /shape: tensor has been disposed/ },
  { name: 'disposed data out', fn: () => disposed().toTypedArray(), error: /tensor has been disposed/ },
  { name: 'disposed item', fn: () => disposed().item(), error: /item: tensor has been disposed/ },
  { name: 'disposed roiAlign input', fn: () => ops.roiAlign(disposed(), rois([[0, 0, 0, 1, 1]]), { outputSize: 2 }), error: /roiAlign input: tensor has been disposed/ },
  { name: 'disposed grad target', fn: () => { const t = torch.ones([2], { requiresGrad: true }); t.grad = disposed(); }, error: /tensor has been disposed/ },
  { name: 'disposed backward', fn: () => { const t = torch.ones([2], { requiresGrad: true }).sum(); t.dispose(); t.backward(); }, error: /backward: tensor has been disposed/ },
  // bad dtypes
  { name: 'float index for indexSelect', fn: () => torch.ones([3]).indexSelect(0, torch.tensor([0, 1])), error: /aten::index_select.*Expected dtype int32 or int64 for index/ },
  { name: 'float index for gather', fn: () => torch.ones([3]).gather(0, torch.tensor([0, 1])), error: /aten::gather.*int64/ },
  { name: 'float index tensor', fn: () => torch.ones([3]).index([torch.tensor([0, 1])]), error: /aten::index.Tensor: tensors used as indices must be long, (int, )?byte or bool tensors/ },
  { name: 'float mask for maskedSelect', fn: () => torch.ones([3]).maskedSelect(torch.ones([3])), error: /aten::masked_select.*expected BoolTensor( or ByteTensor)? for mask/ },
  { name: 'float target for class indices', fn: () => F.crossEntropy(torch.ones([2, 3]), torch.tensor([0.5, 1.5])), error: /aten::cross_entropy_loss/ },
  { name: 'bool tensor into conv2d', fn: () => F.conv2d(torch.ones([1, 1, 3, 3], { dtype: 'bool' }), torch.ones([1, 1, 1, 1], { dtype: 'bool' })), error: /aten::conv2d.*not implemented for 'Bool'/ },
  { name: 'mixed dtypes in conv2d', fn: () => F.conv2d(torch.ones([1, 1, 3, 3]), torch.ones([1, 1, 1, 1], { dtype: 'float64' })), error: /aten::conv2d.*should be the same|type/ },
  { name: 'int tensor requiring grad', fn: () => torch.ones([2], { dtype: 'int64' }).requiresGrad_(), error: /requiresGrad_: Only Tensors of floating point/ },
  { name: 'unknown dtype', fn: () => torch.zeros([2], { dtype: any('float128') }), error: /unknown dtype 'float128'/ },
  { name: 'nms on int boxes', fn: () => ops.nms(torch.ones([2, 4], { dtype: 'int64' }), torch.ones([2], { dtype: 'int64' }), 0.5), error: /nms.*not implemented for 'Long'/ },
  { name: 'nms dtypes differ', fn: () => ops.nms(torch.ones([2, 4]), torch.ones([2], { dtype: 'float64' }), 0.5), error: /nms: boxes and scores should have the same dtype/ },
  { name: 'roiAlign dtypes differ', fn: () => ops.roiAlign(img(), rois([[0, 0, 0, 1, 1]]).double(), { outputSize: 2 }), error: /roiAlign: input and rois should have the same dtype/ },
  { name: 'roiAlign int input', fn: () => ops.roiAlign(img().long(), rois([[0, 0, 0, 1, 1]]).long(), { outputSize: 2 }), error: /roiAlign: input should be a floating-point tensor, got Long/ },
  { name: 'unsupported typed array', fn: () => torch.fromTypedArray(any(new Uint16Array(2)), [2]), error: /cannot make a tensor from a Uint16Array/ },
  { name: 'int64 from fractional numbers', fn: () => torch.tensor([1.5], { dtype: 'int64' }), error: /int64 values must be integers/ },
  // out of range
  { name: 'indexSelect out of range', fn: () => torch.ones([3]).indexSelect(0, torch.tensor([5], { dtype: 'int64' })), error: /aten::index_select.*out of range/ },
  { name: 'gather out of range', fn: () => torch.ones([3]).gather(0, torch.tensor([3], { dtype: 'int64' })), error: /aten::gather.*out of bounds/ },
  { name: 'index out of range', fn: () => torch.ones([3]).index([torch.tensor([-4], { dtype: 'int64' })]), error: /aten::index.Tensor: index -4 is out of bounds for dimension 0 with size 3/ },
  { name: 'indexPut out of range', fn: () => torch.ones([3]).indexPut([torch.tensor([7], { dtype: 'int64' })], torch.tensor([1])), error: /aten::index_put.*out of bounds/ },
  { name: 'scatter out of range', fn: () => torch.zeros([3]).scatter(0, torch.tensor([3], { dtype: 'int64' }), torch.ones([1])), error: /aten::scatter.*out of bounds/ },
  { name: 'scatterAdd out of range', fn: () => torch.zeros([3]).scatterAdd(0, torch.tensor([-1], { dtype: 'int64' }), torch.ones([1])), error: /aten::scatter_add.*out of bounds/ },
  { name: 'select out of range', fn: () => torch.ones([2, 3]).select(1, 3), error: /aten::select.int.*out of range/ },
  { name: 'dim out of range', fn: () => torch.ones([2, 3]).sum({ dim: 2 }), error: /Dimension out of range/ },
  { name: 'narrow past the end', fn: () => torch.ones([4]).narrow(0, 2, 3), error: /aten::narrow.*exceeds dimension size/ },
  { name: 'size() dimension out of range', fn: () => torch.ones([2]).size(1), error: /size: dimension 1 out of range/ },
  { name: 'oneHot class too large', fn: () => F.oneHot(torch.tensor([0, 5], { dtype: 'int64' }), 3), error: /aten::one_hot.*Class values must be smaller than num_classes/ },
  { name: 'crossEntropy target out of range', fn: () => F.crossEntropy(torch.ones([2, 3]), torch.tensor([0, 3], { dtype: 'int64' })), error: /aten::cross_entropy_loss.*Target 3 is out of bounds/ },
  { name: 'topk k too large', fn: () => torch.ones([4]).topk(10), error: /aten::topk.*out of range/ },
  { name: 'as_strided past the storage', fn: () => torch.ones([4]).asStrided([100], [1]), error: /aten::as_strided.*out of bounds for storage/ },
  { name: 'allocation too large', fn: () => torch.empty([1e7, 1e7]), error: /aten::empty.*can't allocate memory/ },
  // non-tensor arguments
  { name: 'object as a tensor', fn: () => F.conv2d(any({}), torch.ones([1, 1, 1, 1])), error: /F\.conv2d: input: expected a Tensor, got an object/ },
  { name: 'number as a tensor', fn: () => torch.ones([2]).matmul(any(3)), error: /Tensor\.matmul: other: expected a Tensor, got number 3/ },
  { name: 'number in a tensor list', fn: () => torch.cat([torch.ones([2]), any(3)]), error: /torch\.cat: tensors\[1\]: expected a Tensor, got number 3/ },
  { name: 'number in an index list', fn: () => torch.ones([2]).index([any(1)]), error: /Tensor\.index: indices\[0\]: expected a Tensor or null, got number 1/ },
  { name: 'forged handle', fn: () => torch.keep(new torch.Tensor(any({}))).add(1), error: /expected a Tensor/ },
  { name: 'string as a scalar', fn: () => torch.ones([2]).add(any('1')), error: /Tensor\.add: other: expected a Tensor or a number, got '1'/ },
  { name: 'null tensor argument', fn: () => torch.ones([2]).matmul(any(null)), error: /null|Tensor/ },
  { name: 'non-tensor grad', fn: () => { torch.ones([2], { requiresGrad: true }).grad = any({}); }, error: /Tensor\.grad: value: expected a Tensor or null, got an object \{\}/ },
  { name: 'nms boxes not a tensor', fn: () => ops.nms(any([[0, 0, 1, 1]]), torch.ones([1]), 0.5), error: /ops\.nms: boxes: expected a Tensor, got an array/ },
  // wrong argument types and values
  { name: 'fractional size', fn: () => torch.ones([4]).view(2.5, 2), error: /aten::view: argument 'size' expected an integer/ },
  { name: 'fractional dim', fn: () => torch.ones([2, 2]).transpose(0, 1.5), error: /aten::transpose.int: argument 'dim1' expected an integer/ },
  { name: 'string dim', fn: () => torch.ones([2, 2]).sum({ dim: any('a') }), error: /aten::sum.dim_IntList: argument 'dim' expected an array of integers/ },
  { name: 'string kernel size', fn: () => F.maxPool2d(img(), any('a')), error: /F\.maxPool2d: kernelSize: expected an integer or \[integer, integer\], got 'a'/ },
  { name: 'string clamp bound', fn: () => torch.ones([2]).clamp({ min: any('a') }), error: /Tensor\.clamp: options\.min: expected a number, a Tensor or null, got 'a'/ },
  { name: 'boolean option given a number', fn: () => torch.ones([2, 2]).sum({ dim: 0, keepdim: any(1) }), error: /argument 'keepdim' expected a boolean/ },
  { name: 'too many arguments', fn: () => torch.ones([2]).add(1, { alpha: any('x') }), error: /aten::add.Scalar: argument 'alpha' expected a number/ },
  { name: 'interpolate without size or scale', fn: () => F.interpolate(img(), {}), error: /interpolate: give exactly one of size and scaleFactor/ },
  { name: 'interpolate unknown mode', fn: () => F.interpolate(img(), { size: 4, mode: any('bicubic') }), error: /F\.interpolate: options\.mode: expected 'nearest' or 'bilinear', got 'bicubic'/ },
  { name: 'dropout p out of range', fn: () => F.dropout(img(), { p: 1.5 }), error: /dropout: p must be in \[0, 1\], got 1.5/ },
  { name: 'dropout2d p out of range', fn: () => F.dropout2d(img(), { p: -0.5 }), error: /dropout2d: p must be in \[0, 1\], got -0.5/ },
  { name: 'dropout2d on a 3-d tensor', fn: () => F.dropout2d(img().flatten(0, 1)), error: /dropout2d: expected a 4-d input \[N, C, H, W\], got 3-d/ },
  { name: 'unknown reduction', fn: () => F.l1Loss(torch.ones([2]), torch.ones([2]), { reduction: any('avg') }), error: /reduction: expected 'none', 'mean' or 'sum', got 'avg'/ },
  { name: 'reflect pad of 6 values', fn: () => F.pad(img(), [1, 1, 1, 1, 1, 1], { mode: 'reflect' }), error: /pad: mode 'reflect' supports 4 padding values/ },
  { name: 'negative shape', fn: () => torch.zeros([-1, 2]), error: /zeros: shape must hold non-negative integers/ },
  { name: 'fractional shape', fn: () => torch.ones([1.5]), error: /ones: shape must hold non-negative integers/ },
  { name: 'arange step 0', fn: () => torch.arange(0, 5, 0), error: /arange: step must be non-zero/ },
  { name: 'negative seed', fn: () => torch.manualSeed(-1), error: /manualSeed: seed should be an integer in \[0, 9007199254740991\], got -1/ },
  { name: 'string seed', fn: () => torch.manualSeed(any('a')), error: /manualSeed: seed should be an integer in \[0, 9007199254740991\], got a/ },
  { name: 'zero threads', fn: () => torch.setNumThreads(0), error: /setNumThreads: n should be an integer in \[1, 1024\], got 0/ },
  { name: 'where without tensors', fn: () => torch.where(torch.ones([2], { dtype: 'bool' }), 1, 2), error: /where: at least one of x and y must be a Tensor/ },
  { name: 'ragged nested array', fn: () => torch.tensor([[1, 2], [3]]), error: /tensor: ragged nested array at \[1\]/ },
  { name: 'fromTypedArray shape mismatch', fn: () => torch.fromTypedArray(new Float32Array(4), [2, 3]), error: /fromTypedArray: shape \[2, 3\] holds 6 elements, the array has 4/ },
  { name: 'fromBytes length mismatch', fn: () => torch.fromBytes(new Uint8Array(6), 'float32', [2]), error: /fromBuffer: shape \[2\] of Float needs 8 bytes, the buffer has 6/ },
  { name: 'item of many elements', fn: () => torch.ones([2, 2]).item(), error: /item: a tensor with 4 elements cannot be converted to a number/ },
  { name: 'item of no elements', fn: () => torch.ones([0]).item(), error: /item: a tensor with 0 elements/ },
  // detection ops
  { name: 'roiAlign rois [K, 4]', fn: () => ops.roiAlign(img(), rois([[0, 0, 1, 1]]), { outputSize: 2 }), error: /ops\.roiAlign: rois should be \[K, 5\], got \[1, 4\]/ },
  { name: 'roiAlign per-image boxes [K, 5]', fn: () => ops.roiAlign(img(), [rois([[0, 0, 0, 1, 1]])], { outputSize: 2 }), error: /ops\.roiAlign: rois\[0\] \(boxes of image 0\) should be \[K, 4\]/ },
  { name: 'roiAlign batch index out of range', fn: () => ops.roiAlign(img(), rois([[1, 0, 0, 4, 4]]), { outputSize: 2 }), error: /roiAlign: rois refer to batch index 1 but the input batch has 1 images/ },
  { name: 'roiAlign negative batch index', fn: () => ops.roiAlign(img(), rois([[-1, 0, 0, 4, 4]]), { outputSize: 2 }), error: /roiAlign: rois refer to batch index -1/ },
  { name: 'roiAlign NaN coordinates', fn: () => ops.roiAlign(img(), rois([[0, NaN, 0, 4, 4]]), { outputSize: 2, samplingRatio: 2 }), error: /roiAlign: rois should hold finite numbers/ },
  { name: 'roiAlign infinite coordinates', fn: () => ops.roiAlign(img(), rois([[0, 0, 0, Infinity, 4]]), { outputSize: 2 }), error: /roiAlign: rois should hold finite numbers/ },
  { name: 'roiAlign output size 0', fn: () => ops.roiAlign(img(), rois([[0, 0, 0, 4, 4]]), { outputSize: 0 }), error: /roiAlign: outputSize should be positive integers/ },
  { name: 'roiAlign 3-d input', fn: () => ops.roiAlign(torch.ones([3, 8, 8]), rois([[0, 0, 0, 4, 4]]), { outputSize: 2 }), error: /roiAlign: input should be \[N, C, H, W\]/ },
  { name: 'roiPool batch index out of range', fn: () => ops.roiPool(img(), rois([[3, 0, 0, 4, 4]]), { outputSize: 2 }), error: /roiPool: rois refer to batch index 3/ },
  { name: 'roiPool NaN coordinates', fn: () => ops.roiPool(img(), rois([[0, 0, NaN, 4, 4]]), { outputSize: 2 }), error: /roiPool: rois should hold finite numbers/ },
  { name: 'roiPool bad rois shape', fn: () => ops.roiPool(img(), torch.ones([5]), { outputSize: 2 }), error: /ops\.roiPool: rois should be \[K, 5\], got \[5\]/ },
  { name: 'nms boxes shape', fn: () => ops.nms(torch.ones([3, 5]), torch.ones([3]), 0.5), error: /nms: boxes should be a \[N, 4\] tensor/ },
  { name: 'nms scores length', fn: () => ops.nms(torch.ones([3, 4]), torch.ones([2]), 0.5), error: /nms: scores should be a \[N\] tensor matching boxes/ },
  { name: 'nms threshold not a number', fn: () => ops.nms(torch.ones([3, 4]), torch.ones([3]), any('0.5')), error: /nms: iouThreshold should be a number/ },
  { name: 'batchedNms idxs length', fn: () => ops.batchedNms(torch.ones([3, 4]), torch.ones([3]), torch.zeros([2], { dtype: 'int64' }), 0.5), error: /size of tensor a \(3\) must match/ },
];

/** Runs every case; returns the names of those that did not throw a matching Error. */
export function runMisuseCases(): string[] {
  const bad: string[] = [];
  for (const c of misuseCases) {
    try {
      torch.tidy(() => {
        c.fn();
      });
      bad.push(`${c.name}: did not throw`);
    } catch (err) {
      if (!(err instanceof Error)) bad.push(`${c.name}: threw a non-Error ${String(err)}`);
      else if (!c.error.test(err.message)) bad.push(`${c.name}: message '${err.message.split('\n')[0]}' does not match ${c.error}`);
    }
  }
  return bad;
}

if (require.main === module) {
  const bad = runMisuseCases();
  // after all of that, the engine still works
  const ok = torch.tidy(() => torch.ones([2]).add(1).sum().item()) === 4;
  process.stdout.write(`misuse: ${misuseCases.length} cases, ${bad.length} unexpected\n${bad.join('\n')}\n`);
  process.exit(bad.length === 0 && ok ? 0 : 1);
}
