/**
 * Collectives inside the autograd graph, as torch.distributed.nn.functional: the gradient
 * flows back through them to every rank. What SyncBatchNorm (src/nn/sync_batchnorm.ts) builds on.
 */
import { Tensor, wrap } from '../torch/tensor';
import { describeValue, c10d } from './store';
import { ProcessGroup } from './process_group';

/**
 * The sum of `input` over the ranks of `pg`, as a new tensor (input is left as it is); blocks until
 * the collective completes. Differentiable: its backward sums the output's gradients over the
 * ranks (the gradient of a loss that is the sum of every rank's loss), which is a collective too,
 * so every rank must call backward through it. A failure (a dead peer, the group's timeout) is an
 * Error, thrown by this call or by backward(). input: a dense tensor on the group's kind of device
 * (CPU for Gloo, CUDA for NCCL) of a type the backend reduces.
 */
export function differentiableAllreduce(input: Tensor, pg: ProcessGroup): Tensor {
  const fn = 'differentiableAllreduce';
  if (!(input instanceof Tensor)) throw new TypeError(`${fn}: input should be a Tensor, got ${describeValue(input)}`);
  if (!(pg instanceof ProcessGroup)) throw new TypeError(`${fn}: pg should be a ProcessGroup, got ${describeValue(pg)}`);
  if (pg.closed) throw new Error(`${fn}: the process group is closed`);
  return wrap(c10d().differentiableAllreduce(input._h, pg.live('differentiableAllreduce')));
}
