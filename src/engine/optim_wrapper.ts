/**
 * MMEngine's OptimWrapper, reduced to what a training step needs: build the optimizer
 * from the config, sum the loss terms, back-propagate, clip and step.
 */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import { SGD, Adam, AdamW, buildParamGroups, clipGradNorm_, type Optimizer, type ParamGroupInput, type BaseOptions } from '../optim';
import type { Module } from '../nn';
import type { OptimWrapperConfig } from '../config/types';
import type { TrainableModel } from './types';
import type { GradSync } from './grad_sync';

/** Builds the optimizer of `cfg` over the model's trainable parameters (grouped by `paramwise` when set). */
export function buildOptimizer(cfg: OptimWrapperConfig, model: TrainableModel<unknown, unknown>): Optimizer {
  const o = cfg.optimizer;
  let params: Tensor[] | ParamGroupInput<BaseOptions>[];
  if (cfg.paramwise) {
    // buildParamGroups walks the module tree (norm layers, depth-wise convs): the model must be an nn.Module.
    params = buildParamGroups(model as unknown as Module, { ...cfg.paramwise, lr: o.lr, weightDecay: o.weightDecay ?? 0 })
      .map((g) => ({ ...g, params: [...g.params].filter((p) => p.requiresGrad) }))
      .filter((g) => g.params.length > 0);
  } else {
    params = [...model.namedParameters()].map(([, p]) => p).filter((p) => p.requiresGrad);
  }
  if (params.length === 0) throw new Error('buildOptimizer: the model has no trainable parameters');
  const { type, ...options } = o;
  switch (type) {
    case 'SGD': return new SGD(params as never, options as typeof options & { lr: number });
    case 'Adam': return new Adam(params as never, options);
    case 'AdamW': return new AdamW(params as never, options);
    default: throw new Error(`optimWrapper.optimizer.type: expected SGD, Adam or AdamW, got '${type as string}'`);
  }
}

/** Numbers logged for one training iteration: each loss term, their sum `loss`, and `grad_norm` when clipping. */
export type StepLog = Record<string, number>;

/**
 * One optimization step: zero the gradients, compute the loss terms, back-propagate
 * the sum of those whose key contains 'loss' (a term with several elements counts by
 * its mean), clip, step. Returns the terms as numbers (this process's, in a distributed run).
 * With `gradSync` (distributed training), the gradients are averaged across ranks between
 * backward and clipping, so every rank clips and steps with the same gradients.
 */
export function trainStep<B>(model: TrainableModel<B, unknown>, optimizer: Optimizer, batch: B, clipGrad: OptimWrapperConfig['clipGrad'], gradSync?: GradSync): StepLog {
  optimizer.zeroGrad();
  const log = torch.tidy(() => {
    const terms = model.loss(batch);
    const out: StepLog = {};
    let total: Tensor | undefined;
    for (const [key, value] of Object.entries(terms)) {
      const v = value.numel() === 1 ? value : value.mean();
      out[key] = v.item();
      if (key.includes('loss')) total = total === undefined ? v : total.add(v);
    }
    if (total === undefined) throw new Error(`model.loss returned no term whose key contains 'loss' (keys: ${Object.keys(terms).join(', ') || 'none'})`);
    out.loss = total.item();
    if (!Number.isFinite(out.loss)) throw new Error(`loss is ${out.loss} (${Object.entries(out).map(([k, v]) => `${k}: ${v}`).join(', ')})`);
    gradSync?.beforeBackward(total);
    try {
      total.backward();
    } catch (e) {
      throw e instanceof Error && gradSync?.explainBackwardError ? gradSync.explainBackwardError(e) : e;
    }
    return out;
  });
  gradSync?.afterBackward();
  if (clipGrad) {
    const params = optimizer.paramGroups.flatMap((g) => g.params);
    log.grad_norm = clipGradNorm_(params, clipGrad.maxNorm, clipGrad.normType ?? 2);
  }
  optimizer.step();
  return log;
}
