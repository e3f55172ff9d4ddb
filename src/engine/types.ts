/**
 * The narrow interfaces the runner trains, evaluates and checkpoints through, so that
 * it depends on no model, dataset or metric in particular.
 */
import type { Tensor } from '../torch';
import type { LoadStateDictResult } from '../nn';

/** A model the runner can train and evaluate (an nn.Module with `loss` and `predict`). */
export interface TrainableModel<B, P> {
  training: boolean;
  train(mode?: boolean): unknown;
  eval(): unknown;
  /** Loss terms; those whose key contains 'loss' are summed and back-propagated, all are logged (MMEngine's parse_losses). */
  loss(batch: B): Record<string, Tensor>;
  /** Predictions for a batch, in whatever typed form the task's evaluator reads. */
  predict(batch: B): P;
  namedParameters(): Iterable<[string, Tensor]>;
  /** The model's own tensors by key (not copies). */
  stateDict(): Map<string, Tensor>;
  loadStateDict(source: Map<string, Tensor>, opts?: { strict?: boolean; dryRun?: boolean }): LoadStateDictResult;
  /**
   * Loads the pretrained weights the config names (MMDetection's init_cfg), downloading them if
   * needed; the runner calls it when training starts from scratch (MMEngine's init_weights),
   * before `--load-from` weights, and not when resuming.
   */
  initWeights?(log: (line: string) => void): Promise<void>;
}

/**
 * Batches, epoch by epoch. The order of epoch `e` must depend only on (seed, e), so a
 * resumed run that skips the batches already trained sees the rest of the epoch in the
 * same order as an uninterrupted run.
 */
export interface BatchSource<B> {
  /** Batches per epoch, when known (progress, ETA, and jumping straight to the right epoch on resume). */
  readonly length?: number;
  epoch(epoch: number): AsyncIterable<B> | Iterable<B>;
  /** Releases workers, files, connections. */
  close?(): Promise<void> | void;
}

/** An iterator over one epoch of a BatchSource, whichever kind of iterable it returned. */
export function iteratorOf<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> | Iterator<T> {
  return Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
}

/** Accumulates predictions over an evaluation set, then computes metrics (MMEngine's Evaluator). */
export interface Evaluator<B, P> {
  /** Forget what was processed (called before each evaluation). */
  reset(): void;
  process(batch: B, predictions: P): void;
  /** Metrics by name, e.g. `{ 'bbox_mAP': 0.372 }`. */
  evaluate(): Record<string, number> | Promise<Record<string, number>>;
  /** The raw results, JSON-serializable (e.g. COCO results), for `tsvision test --out`. */
  results?(): unknown;
  /**
   * What process() accumulated, JSON-serializable (distributed evaluation: each rank's state is
   * sent to rank 0, which merges it into its own evaluator and evaluates).
   */
  state?(): unknown | Promise<unknown>;
  /** Adds another evaluator's state(), as if this one had processed that evaluator's batches too. */
  merge?(state: unknown): void;
}
