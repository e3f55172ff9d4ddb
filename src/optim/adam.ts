/** Adam and AdamW, exactly as torch.optim.Adam / AdamW (1.13, single-tensor path). */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import { Optimizer, type BaseOptions, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer';

export interface AdamOptions extends BaseOptions {
  betas: [number, number];
  eps: number;
  amsgrad: boolean;
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  /** AdamW: weight decay shrinks the parameter (p *= 1 − lr·wd) instead of adding to the gradient. */
  protected abstract readonly decoupled: boolean;

  protected override checkOptions(g: ParamGroup<AdamOptions>): void {
    super.checkOptions(g);
    const [b1, b2] = g.betas;
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) throw new RangeError(`${this.constructor.name}: invalid betas [${g.betas}]`);
    if (!(g.eps >= 0)) throw new RangeError(`${this.constructor.name}: invalid eps ${g.eps}`);
  }

  protected update(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdamOptions>): void {
    const [beta1, beta2] = g.betas;
    if (state.step === undefined) {
      state.step = 0;
      this.keepState(state, 'exp_avg', torch.zerosLike(p));
      this.keepState(state, 'exp_avg_sq', torch.zerosLike(p));
      if (g.amsgrad) this.keepState(state, 'max_exp_avg_sq', torch.zerosLike(p));
    }
    const expAvg = state.exp_avg as Tensor;
    const expAvgSq = state.exp_avg_sq as Tensor;
    const step = (state.step as number) + 1;
    state.step = step;

    if (this.decoupled) p.mul_(1 - g.lr * g.weightDecay);
    else if (g.weightDecay !== 0) grad = grad.add(p, { alpha: g.weightDecay });

    expAvg.mul_(beta1).add_(grad, { alpha: 1 - beta1 });
    expAvgSq.mul_(beta2).addcmul_(grad, grad, { value: 1 - beta2 });
    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
    const stepSize = g.lr / biasCorrection1;
    let second = expAvgSq;
    if (g.amsgrad) {
      const maxSq = state.max_exp_avg_sq as Tensor;
      maxSq.copy_(maxSq.maximum(expAvgSq));
      second = maxSq;
    }
    const denom = second.sqrt().div(biasCorrection2Sqrt).add_(g.eps);
    p.addcdiv_(expAvg, denom, { value: -stepSize });
  }
}

/** Adam with L2 weight decay added to the gradient (default weightDecay 0). */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: Iterable<Tensor> | ParamGroupInput<AdamOptions>[], opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, ...opts });
  }
}

/** Adam with decoupled weight decay (default weightDecay 1e-2). */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: Iterable<Tensor> | ParamGroupInput<AdamOptions>[], opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, ...opts });
  }
}
