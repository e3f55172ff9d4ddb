/**
 * A TrainableModel that adapts another model (a Module, or a TrainableModel of its own):
 * mode, parameters and state dict are the wrapped one's; subclasses say how batches become
 * losses and predictions.
 */
import type { Tensor } from '../torch';
import type { LoadStateDictResult } from '../nn';
import type { TrainableModel } from './types';

export type WrappedModel = Pick<TrainableModel<unknown, unknown>, 'training' | 'train' | 'eval' | 'namedParameters' | 'stateDict' | 'loadStateDict'>;

export abstract class ModelWrapper<B, P, W extends WrappedModel = WrappedModel> implements TrainableModel<B, P> {
  constructor(protected readonly wrapped: W) {}

  get training(): boolean {
    return this.wrapped.training;
  }
  train(mode = true): this {
    this.wrapped.train(mode);
    return this;
  }
  eval(): this {
    this.wrapped.eval();
    return this;
  }
  namedParameters(): Iterable<[string, Tensor]> {
    return this.wrapped.namedParameters();
  }
  stateDict(): Map<string, Tensor> {
    return this.wrapped.stateDict();
  }
  loadStateDict(source: Map<string, Tensor>, opts?: { strict?: boolean; dryRun?: boolean }): LoadStateDictResult {
    return this.wrapped.loadStateDict(source, opts);
  }

  abstract loss(batch: B): Record<string, Tensor>;
  abstract predict(batch: B): P;
}
