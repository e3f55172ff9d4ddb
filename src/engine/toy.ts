/**
 * A toy task: regression of y = x·w + b + noise with a two-layer MLP (with dropout, so
 * training consumes libtorch's RNG). Small enough to train in a second on one CPU
 * thread; it exercises every part of the runner and serves as the smallest example of
 * a Task. Config: configs/toy/mlp_regression.ts.
 *
 * Shapes: N samples per batch, D input features, H hidden units.
 */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import { Module, Linear, Dropout } from '../nn';
import { Rng } from '../data/rng';
import { shardIndices, batchIndices } from '../data/samplers';
import type { DataShard, RunConfig, Task } from '../config/types';
import type { BatchSource, Evaluator } from './types';
import { toyConfigSchema } from './toy_config_schema';

export interface ToyConfig extends RunConfig {
  model: {
    /** @asType integer @minimum 1 */
    inFeatures: number;
    /** @asType integer @minimum 1 */
    hidden: number;
    /** Dropout probability after the hidden layer. @minimum 0 @maximum 1 */
    dropout: number;
  };
  data: {
    /** @asType integer @minimum 1 */
    trainSize: number;
    /** @asType integer @minimum 1 */
    valSize: number;
    /** @asType integer @minimum 1 */
    batchSize: number;
    /** Standard deviation of the target noise. @minimum 0 */
    noise: number;
  };
  evaluation: {
    /** Metrics the evaluator computes (`tsvision test --eval` overrides). */
    metrics: ToyMetric[];
  };
}

export type ToyMetric = 'mse' | 'mae';
const TOY_METRICS: readonly ToyMetric[] = ['mse', 'mae'];

/** A batch: row-major inputs and targets. */
export interface ToyBatch {
  x: Float32Array; /* [N, D] */
  y: Float32Array; /* [N] */
  n: number;
}

export class ToyRegressor extends Module {
  readonly fc1: Linear;
  readonly drop: Dropout;
  readonly fc2: Linear;

  constructor(readonly opts: ToyConfig['model']) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(opts.inFeatures, opts.hidden));
    this.drop = this.registerModule('drop', new Dropout(opts.dropout));
    this.fc2 = this.registerModule('fc2', new Linear(opts.hidden, 1));
  }

  /** [N, D] → [N] */
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.drop.forward(this.fc1.forward(x).relu())).flatten();
  }

  private inputs(b: ToyBatch): Tensor {
    return torch.fromTypedArray(b.x, [b.n, this.opts.inFeatures]);
  }

  /** The squared-error loss, and the absolute error (logged, not optimized: its key has no 'loss'). */
  loss(b: ToyBatch): Record<string, Tensor> {
    const pred = this.forward(this.inputs(b));
    const y = torch.fromTypedArray(b.y, [b.n]);
    return { loss_mse: torch.F.mseLoss(pred, y), mae: pred.sub(y).abs().mean() };
  }

  predict(b: ToyBatch): Float32Array {
    return torch.tidy(() => this.forward(this.inputs(b)).toTypedArray() as Float32Array);
  }
}

/** The generated samples of a split: the same weights for every split, different inputs. */
function generate(cfg: ToyConfig, split: 'train' | 'val'): { x: Float32Array; y: Float32Array } {
  const d = cfg.model.inFeatures;
  const n = split === 'train' ? cfg.data.trainSize : cfg.data.valSize;
  const truth = new Rng(cfg.seed);
  const w = Array.from({ length: d }, () => truth.normal());
  const b = truth.normal();
  const rng = new Rng(cfg.seed * 2 + (split === 'train' ? 1 : 2));
  const x = new Float32Array(n * d);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let t = b;
    for (let j = 0; j < d; j++) {
      const v = rng.normal();
      x[i * d + j] = v;
      t += v * w[j];
    }
    y[i] = t + cfg.data.noise * rng.normal();
  }
  return { x, y };
}

/**
 * Batches of a split; shuffled training batches whose order depends only on (seed, epoch).
 * With `shard`, this rank's part (training shards padded to equal length, validation unpadded).
 */
export function toyData(cfg: ToyConfig, split: 'train' | 'val', shard?: DataShard): BatchSource<ToyBatch> {
  const { x, y } = generate(cfg, split);
  const d = cfg.model.inFeatures;
  const n = y.length;
  const { batchSize } = cfg.data;
  const sharding = { length: n, shuffle: split === 'train', seed: cfg.seed, ...shard, pad: split === 'train' };
  return {
    length: Math.ceil(shardIndices(sharding, 0).length / batchSize),
    *epoch(epoch: number) {
      const order = shardIndices(sharding, epoch);
      for (const idx of batchIndices(order, batchSize)) {
        const bx = new Float32Array(idx.length * d);
        const by = new Float32Array(idx.length);
        idx.forEach((i, k) => {
          bx.set(x.subarray(i * d, (i + 1) * d), k * d);
          by[k] = y[i];
        });
        yield { x: bx, y: by, n: idx.length };
      }
    },
  };
}

/** Mean squared and absolute error over the processed batches. */
export class ToyEvaluator implements Evaluator<ToyBatch, Float32Array> {
  private predictions: number[] = [];
  private targets: number[] = [];

  constructor(readonly metrics: readonly ToyMetric[]) {
    for (const m of metrics) {
      if (!TOY_METRICS.includes(m)) throw new Error(`toy evaluator: unknown metric '${m}' (valid: ${TOY_METRICS.join(', ')})`);
    }
  }

  reset(): void {
    this.predictions = [];
    this.targets = [];
  }

  process(batch: ToyBatch, predictions: Float32Array): void {
    this.predictions.push(...predictions);
    this.targets.push(...batch.y);
  }

  /** The predictions and targets processed (distributed evaluation gathers them). */
  state(): { predictions: number[]; targets: number[] } {
    return { predictions: this.predictions, targets: this.targets };
  }

  merge(state: unknown): void {
    const s = state as Partial<ReturnType<ToyEvaluator['state']>>;
    if (!Array.isArray(s?.predictions) || !Array.isArray(s.targets) || s.predictions.length !== s.targets.length) {
      throw new Error('toy evaluator: merge expects { predictions: number[], targets: number[] } of equal length');
    }
    for (const p of s.predictions) this.predictions.push(p);
    for (const t of s.targets) this.targets.push(t);
  }

  evaluate(): Record<string, number> {
    const n = this.targets.length;
    if (n === 0) throw new Error('toy evaluator: nothing was processed');
    let se = 0, ae = 0;
    this.targets.forEach((t, i) => {
      se += (this.predictions[i] - t) ** 2;
      ae += Math.abs(this.predictions[i] - t);
    });
    const all: Record<ToyMetric, number> = { mse: se / n, mae: ae / n };
    return Object.fromEntries(this.metrics.map((m) => [m, all[m]]));
  }

  results(): { prediction: number; target: number }[] {
    return this.predictions.map((p, i) => ({ prediction: p, target: this.targets[i] }));
  }
}

export const toyTask: Task<ToyConfig, ToyBatch, Float32Array> = {
  name: 'toy-regression',
  configSchema: toyConfigSchema,
  buildModel: (cfg) => new ToyRegressor(cfg.model),
  buildTrainData: (cfg, shard) => toyData(cfg, 'train', shard),
  buildValData: (cfg, shard) => toyData(cfg, 'val', shard),
  buildEvaluator: (cfg, opts) => new ToyEvaluator((opts?.metrics ?? cfg.evaluation.metrics) as ToyMetric[]),
};
