/**
 * Optimizer base: parameter groups with per-group options (PyTorch's param_groups),
 * per-parameter state, and a state dict of tensors plus JSON-able numbers.
 */
import * as torch from '../torch';
import type { Tensor } from '../torch';

/** Options every optimizer has; each optimizer adds its own. */
export interface BaseOptions {
  /** Learning rate. */
  lr: number;
  weightDecay: number;
}

/** What a caller passes for one group: its parameters and any options that differ from the defaults. */
export type ParamGroupInput<O extends BaseOptions = BaseOptions> = Partial<O> & {
  params: Iterable<Tensor>;
  /** Parameter names, for logs (buildParamGroups fills them). */
  names?: string[];
};

/** One parameter group: its parameters and the full options. Schedulers rewrite `lr` (and keep `initialLr`). */
export type ParamGroup<O extends BaseOptions = BaseOptions> = O & {
  params: Tensor[];
  names?: string[];
  /** The lr before any scheduler ran (MMEngine's initial_lr); set by the first scheduler. */
  initialLr?: number;
  /** Likewise for schedulers of other options (`initialMomentum`, ...). */
  [initial: `initial${string}`]: number | undefined;
};

/** Per-parameter state: tensors (kept alive by the optimizer) and numbers (`step`). Keys follow PyTorch (`momentum_buffer`, `exp_avg`). */
export type ParamState = Record<string, Tensor | number>;

/** An optimizer's state: per-parameter state by parameter index (counted across groups) and the groups' options. */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: Array<Record<string, unknown> & { params: number[] }>;
}

export abstract class Optimizer<O extends BaseOptions = BaseOptions> {
  readonly paramGroups: ParamGroup<O>[] = [];
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(params: Iterable<Tensor> | ParamGroupInput<O>[], readonly defaults: O) {
    const list = [...params] as (Tensor | ParamGroupInput<O>)[];
    if (list.length === 0) throw new TypeError(`${this.constructor.name}: got an empty parameter list`);
    const isGroups = list.every((p) => !(p instanceof torch.Tensor));
    const groups = isGroups ? (list as ParamGroupInput<O>[]) : [{ params: list as Tensor[] } as unknown as ParamGroupInput<O>];
    for (const g of groups) this.addParamGroup(g);
  }

  /** Adds a group; options it leaves out come from the defaults. A parameter may be in one group only. */
  addParamGroup(input: ParamGroupInput<O>): void {
    const params = [...input.params];
    const seen = new Set<Tensor>(this.paramGroups.flatMap((g) => g.params));
    for (const [i, p] of params.entries()) {
      if (!(p instanceof torch.Tensor)) throw new TypeError(`${this.constructor.name}: group ${this.paramGroups.length} param ${i} is not a Tensor`);
      if (!p.isLeaf) throw new TypeError(`${this.constructor.name}: cannot optimize a non-leaf tensor (group ${this.paramGroups.length} param ${i})`);
      if (seen.has(p)) throw new TypeError(`${this.constructor.name}: some parameters appear in more than one parameter group`);
      seen.add(p);
    }
    const group = { ...this.defaults } as ParamGroup<O>;
    for (const [k, v] of Object.entries(input)) if (k !== 'params' && v !== undefined) (group as unknown as Record<string, unknown>)[k] = v;
    group.params = params;
    this.checkOptions(group);
    this.paramGroups.push(group);
  }

  /** Validates a group's options (each optimizer checks its own). */
  protected checkOptions(group: ParamGroup<O>): void {
    if (!(group.lr >= 0)) throw new RangeError(`${this.constructor.name}: invalid learning rate ${group.lr}`);
    if (!(group.weightDecay >= 0)) throw new RangeError(`${this.constructor.name}: invalid weightDecay ${group.weightDecay}`);
  }

  /** Updates every parameter that has a gradient (one optimization step). */
  step(): void {
    torch.noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          torch.tidy(() => {
            const grad = p.grad;
            if (grad === null) return;
            let st = this.state.get(p);
            if (!st) {
              st = {};
              this.state.set(p, st);
            }
            this.update(p, grad, st, group);
          });
        }
      }
    });
  }

  /**
   * One parameter's update, in place, under noGrad and inside tidy. New state tensors
   * must be stored with keepState() so the tidy scope does not free them.
   */
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<O>): void;

  /** Stores a long-lived state tensor (kept from tidy; the previous one is freed). */
  protected keepState(state: ParamState, key: string, t: Tensor): Tensor {
    const old = state[key];
    if (old instanceof torch.Tensor && old !== t) torch.unkeep(old).dispose();
    state[key] = torch.keep(t);
    return t;
  }

  /** The current lr of each group (for logs). */
  get lrs(): number[] {
    return this.paramGroups.map((g) => g.lr);
  }

  /** Drops every parameter's gradient (set_to_none, PyTorch 2's default). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  /** The state by parameter index and the group options; tensors are the optimizer's own (do not dispose them). */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const ids: number[] = [];
      for (const p of g.params) {
        const st = this.state.get(p);
        if (st) state[index] = { ...st };
        ids.push(index++);
      }
      const { params: _params, ...options } = g;
      paramGroups.push({ ...options, params: ids });
    }
    return { state, paramGroups };
  }

  /**
   * Restores state and group options saved by stateDict() (group structure must
   * match). State tensors are copied onto each parameter's device; floating ones
   * take the parameter's dtype, as PyTorch does.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${name}.loadStateDict: the state has ${sd.paramGroups.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    }
    sd.paramGroups.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i].params.length) {
        throw new Error(`${name}.loadStateDict: group ${i} has ${g.params.length} parameters in the state, ${this.paramGroups[i].params.length} in the optimizer`);
      }
    });
    const byIndex = new Map<number, Tensor>();
    sd.paramGroups.forEach((g, i) => g.params.forEach((id, j) => byIndex.set(id, this.paramGroups[i].params[j])));

    this.disposeState();
    for (const [key, st] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (!p) throw new Error(`${name}.loadStateDict: state for parameter ${key}, which no group lists`);
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(st)) {
        if (typeof v === 'number') copy[k] = v;
        else {
          const t = v.to({ device: p.device, dtype: v.isFloatingPoint() ? p.dtype : undefined, copy: true });
          copy[k] = torch.keep(t);
        }
      }
      this.state.set(p, copy);
    }
    sd.paramGroups.forEach((g, i) => {
      const group = this.paramGroups[i] as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(g)) if (k !== 'params') group[k] = v;
    });
  }

  private disposeState(): void {
    for (const st of this.state.values()) {
      for (const v of Object.values(st)) if (v instanceof torch.Tensor) torch.unkeep(v).dispose();
    }
    this.state.clear();
  }

  /** Frees the state tensors (momentum buffers, moments). */
  dispose(): void {
    this.disposeState();
  }
}
