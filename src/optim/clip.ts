/** Gradient clipping, as torch.nn.utils.clip_grad_norm_. */
import * as torch from '../torch';
import type { Tensor } from '../torch';

/**
 * Scales the gradients of params in place so that their joint normType-norm is at
 * most maxNorm (coefficient maxNorm / (norm + 1e-6), capped at 1). Returns the
 * norm before clipping; parameters without a gradient are skipped (0 if none has one).
 */
export function clipGradNorm_(params: Iterable<Tensor>, maxNorm: number, normType = 2): number {
  return torch.noGrad(() => torch.tidy(() => {
    const grads: Tensor[] = [];
    for (const p of params) {
      const g = p.grad;
      if (g !== null) grads.push(g);
    }
    if (grads.length === 0) return 0;
    let total: Tensor;
    if (normType === Infinity) {
      const norms = grads.map((g) => g.abs().max());
      total = norms.length === 1 ? norms[0] : torch.stack(norms).max();
    } else {
      total = torch.stack(grads.map((g) => g.norm({ p: normType }))).norm({ p: normType });
    }
    // Same float32 arithmetic as PyTorch: max_norm / (total + 1e-6) is reciprocal × max_norm.
    const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp({ max: 1 });
    for (const g of grads) g.mul_(coef);
    return total.item();
  }));
}
