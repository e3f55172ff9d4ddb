/**
 * Parameter schedules with MMEngine's semantics: each scheduler acts on the
 * optimizer's groups between `begin` and `end` (epochs or iterations), in MMEngine's
 * chainable form, so overlapping schedulers (warmup + multi-step) compose exactly as
 * in MMDetection 3.x. A scheduler steps once at construction (setting the value for
 * step 0), then once after each training iteration (byEpoch false) or epoch (byEpoch true).
 *
 *   const schedulers = ParamSchedulerList.build(optimizer, [
 *     { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 500 },
 *     { type: 'MultiStepLR', begin: 0, end: 12, byEpoch: true, milestones: [8, 11], gamma: 0.1 },
 *   ], { epochLength: 7330 });
 */
import type { BaseOptions, ParamGroup } from './optimizer';

/** MMEngine's INF for an open end. */
export const INF = 1e9;

/** Anything with param groups (an Optimizer, or a bare holder for lrAt). */
export interface ParamGroupsHolder {
  paramGroups: ParamGroup<BaseOptions>[];
}

/** The group option a scheduler drives. */
export type ScheduledParam = 'lr' | 'momentum';

export interface SchedulerRange {
  /** First step (epoch or iteration) the scheduler acts on (default 0). @asType integer @minimum 0 */
  begin?: number;
  /** Step at which it stops acting (exclusive; default INF). @asType integer @minimum 1 */
  end?: number;
  /** Steps are epochs (default true) or iterations. */
  byEpoch?: boolean;
  /** MMEngine's convert_to_iter_based: an epoch-based config applied per iteration (needs epochLength). */
  convertToIterBased?: boolean;
  /** The group option to schedule (default 'lr'). */
  paramName?: ScheduledParam;
}

export type SchedulerConfig = SchedulerRange & (
  | { type: 'LinearLR'; startFactor?: number; endFactor?: number }
  | { type: 'ConstantLR'; factor?: number }
  | {
    type: 'MultiStepLR';
    /** Steps at which the value is multiplied by gamma. @items {"type": "integer", "minimum": 0} */
    milestones: number[];
    gamma?: number;
  }
  | {
    type: 'StepLR';
    /** @asType integer @minimum 1 */
    stepSize: number;
    gamma?: number;
  }
  | { type: 'ExponentialLR'; gamma: number }
  | { type: 'PolyLR'; etaMin?: number; power?: number }
  | { type: 'CosineAnnealingLR'; tMax?: number; etaMin?: number; etaMinRatio?: number }
);

/** What a scheduler saves to resume: its counters and the values it started from. */
export interface SchedulerState {
  type: string;
  lastStep: number;
  globalStep: number;
  baseValues: number[];
  lastValue: number[];
}

type Resolved = { begin: number; end: number; byEpoch: boolean; paramName: ScheduledParam };

const initialKey = (name: ScheduledParam) => (name === 'lr' ? 'initialLr' : 'initialMomentum') as `initial${string}`;

/** Base of the schedulers: MMEngine's _ParamScheduler (step counting and the active range). */
export abstract class ParamScheduler {
  readonly begin: number;
  readonly end: number;
  readonly byEpoch: boolean;
  readonly paramName: ScheduledParam;
  /** Steps taken inside [begin, end), minus one (MMEngine's last_step). */
  lastStep = -1;
  /** Steps taken in all, minus one. */
  globalStep = -1;
  /** Each group's value before any scheduler ran. */
  baseValues: number[];
  /** Each group's value after the last step. */
  lastValue: number[] = [];

  constructor(readonly optimizer: ParamGroupsHolder, range: Resolved) {
    ({ begin: this.begin, end: this.end, byEpoch: this.byEpoch, paramName: this.paramName } = range);
    if (!(this.end > this.begin)) throw new RangeError(`${this.constructor.name}: end must be larger than begin, got begin=${this.begin}, end=${this.end}`);
    const key = initialKey(this.paramName);
    this.baseValues = optimizer.paramGroups.map((g, i) => {
      const v = this.get(g);
      if (typeof v !== 'number') throw new TypeError(`${this.constructor.name}: param group ${i} has no numeric '${this.paramName}'`);
      if (g[key] === undefined) g[key] = v;
      return g[key] as number;
    });
  }

  /** Sets the step-0 value; subclasses call it at the end of their constructor (MMEngine does it in __init__). */
  protected initialStep(): void {
    this.step();
  }

  protected get(g: ParamGroup<BaseOptions>): number {
    return (g as unknown as Record<string, number>)[this.paramName];
  }

  /** The current values of the groups (what the chainable forms start from). */
  protected current(): number[] {
    return this.optimizer.paramGroups.map((g) => this.get(g));
  }

  /** The values for step lastStep, from the current ones (MMEngine's chainable _get_value). */
  protected abstract getValue(): number[];

  /** Advances one step (one epoch or iteration) and updates the groups when inside [begin, end). */
  step(): void {
    this.globalStep += 1;
    if (this.begin <= this.globalStep && this.globalStep < this.end) {
      this.lastStep += 1;
      const values = this.getValue();
      this.optimizer.paramGroups.forEach((g, i) => {
        (g as unknown as Record<string, number>)[this.paramName] = values[i];
      });
    }
    this.lastValue = this.current();
  }

  stateDict(): SchedulerState {
    return { type: this.constructor.name, lastStep: this.lastStep, globalStep: this.globalStep, baseValues: [...this.baseValues], lastValue: [...this.lastValue] };
  }

  loadStateDict(s: SchedulerState): void {
    if (s.type !== this.constructor.name) throw new Error(`${this.constructor.name}.loadStateDict: the state belongs to a ${s.type}`);
    this.lastStep = s.lastStep;
    this.globalStep = s.globalStep;
    this.baseValues = [...s.baseValues];
    this.lastValue = [...s.lastValue];
  }
}

/** Multiplies the value by a factor moving linearly from startFactor (at begin) to endFactor (at end − 1): warmup. */
export class LinearLR extends ParamScheduler {
  readonly totalIters: number;
  constructor(optimizer: ParamGroupsHolder, range: Resolved, readonly startFactor = 1 / 3, readonly endFactor = 1) {
    super(optimizer, range);
    for (const [n, f] of [['startFactor', startFactor], ['endFactor', endFactor]] as const) {
      if (!(f >= 0 && f <= 1)) throw new RangeError(`LinearLR: ${n} must be in [0, 1], got ${f}`);
    }
    this.totalIters = this.end - this.begin - 1;
    this.initialStep();
  }
  protected getValue(): number[] {
    if (this.lastStep === 0) return this.current().map((v) => v * this.startFactor);
    const d = this.endFactor - this.startFactor;
    return this.current().map((v) => v * (1 + d / (this.totalIters * this.startFactor + (this.lastStep - 1) * d)));
  }
}

/** Multiplies the value by factor from begin until end − 1. */
export class ConstantLR extends ParamScheduler {
  readonly totalIters: number;
  constructor(optimizer: ParamGroupsHolder, range: Resolved, readonly factor = 1 / 3) {
    super(optimizer, range);
    if (!(factor >= 0 && factor <= 1)) throw new RangeError(`ConstantLR: factor must be in [0, 1], got ${factor}`);
    this.totalIters = this.end - this.begin - 1;
    this.initialStep();
  }
  protected getValue(): number[] {
    if (this.lastStep === 0) return this.current().map((v) => v * this.factor);
    if (this.lastStep !== this.totalIters) return this.current();
    return this.current().map((v) => v * (1 / this.factor));
  }
}

/** Multiplies the value by gamma at each milestone (steps counted from begin). */
export class MultiStepLR extends ParamScheduler {
  private readonly counts = new Map<number, number>();
  constructor(optimizer: ParamGroupsHolder, range: Resolved, readonly milestones: number[], readonly gamma = 0.1) {
    super(optimizer, range);
    for (const m of milestones) this.counts.set(m, (this.counts.get(m) ?? 0) + 1);
    this.initialStep();
  }
  protected getValue(): number[] {
    const n = this.counts.get(this.lastStep);
    if (n === undefined) return this.current();
    return this.current().map((v) => v * this.gamma ** n);
  }
}

/** Multiplies the value by gamma every stepSize steps. */
export class StepLR extends ParamScheduler {
  constructor(optimizer: ParamGroupsHolder, range: Resolved, readonly stepSize: number, readonly gamma = 0.1) {
    super(optimizer, range);
    if (!(Number.isInteger(stepSize) && stepSize > 0)) throw new RangeError(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
    this.initialStep();
  }
  protected getValue(): number[] {
    if (this.lastStep === 0 || this.lastStep % this.stepSize !== 0) return this.current();
    return this.current().map((v) => v * this.gamma);
  }
}

/** Multiplies the value by gamma every step. */
export class ExponentialLR extends ParamScheduler {
  constructor(optimizer: ParamGroupsHolder, range: Resolved, readonly gamma: number) {
    super(optimizer, range);
    this.initialStep();
  }
  protected getValue(): number[] {
    if (this.lastStep === 0) return this.current();
    return this.current().map((v) => v * this.gamma);
  }
}

/** Polynomial decay to etaMin at end − 1: (base − etaMin)·(1 − t/T)^power + etaMin, T = end − begin − 1 (segmentation). */
export class PolyLR extends ParamScheduler {
  readonly totalIters: number;
  constructor(optimizer: ParamGroupsHolder, range: Resolved, readonly etaMin = 0, readonly power = 1) {
    super(optimizer, range);
    this.totalIters = this.end - this.begin - 1;
    this.initialStep();
  }
  protected getValue(): number[] {
    if (this.lastStep === 0) return this.current();
    const f = (1 - 1 / (this.totalIters - this.lastStep + 1)) ** this.power;
    return this.current().map((v) => (v - this.etaMin) * f + this.etaMin);
  }
}

/** Cosine annealing from the base value to etaMin over tMax steps (default end − begin). */
export class CosineAnnealingLR extends ParamScheduler {
  readonly tMax: number;
  constructor(optimizer: ParamGroupsHolder, range: Resolved, opts: { tMax?: number; etaMin?: number; etaMinRatio?: number } = {}) {
    super(optimizer, range);
    if (opts.etaMin !== undefined && opts.etaMinRatio !== undefined) throw new TypeError('CosineAnnealingLR: give etaMin or etaMinRatio, not both');
    this.tMax = opts.tMax ?? this.end - this.begin;
    if (!(this.tMax > 0 && this.tMax < INF)) throw new RangeError(`CosineAnnealingLR: tMax must be positive and finite (set tMax or end), got ${this.tMax}`);
    this.etaMin = opts.etaMin ?? 0;
    this.etaMinRatio = opts.etaMinRatio;
    this.initialStep();
  }
  readonly etaMin: number;
  readonly etaMinRatio: number | undefined;

  private minFor(base: number): number {
    return this.etaMinRatio === undefined ? this.etaMin : base * this.etaMinRatio;
  }

  protected getValue(): number[] {
    const cur = this.current();
    if (this.lastStep === 0) return cur;
    const T = this.tMax;
    if ((this.lastStep - 1 - T) % (2 * T) === 0) {
      return cur.map((v, i) => v + (this.baseValues[i] - this.minFor(this.baseValues[i])) * (1 - Math.cos(Math.PI / T)) / 2);
    }
    const ratio = (1 + Math.cos(Math.PI * this.lastStep / T)) / (1 + Math.cos(Math.PI * (this.lastStep - 1) / T));
    return cur.map((v, i) => {
      const etaMin = this.minFor(this.baseValues[i]);
      return ratio * (v - etaMin) + etaMin;
    });
  }
}

/** Builds one scheduler from its config; epochLength (iterations per epoch) is needed for convertToIterBased. */
export function buildScheduler(optimizer: ParamGroupsHolder, cfg: SchedulerConfig, opts: { epochLength?: number } = {}): ParamScheduler {
  let byEpoch = cfg.byEpoch ?? true;
  let begin = cfg.begin ?? 0;
  let end = cfg.end ?? INF;
  let scale = 1;
  if (cfg.convertToIterBased) {
    if (!byEpoch) throw new TypeError(`${cfg.type}: convertToIterBased applies to epoch-based schedulers (byEpoch true)`);
    const n = opts.epochLength;
    if (!(n !== undefined && Number.isInteger(n) && n > 0)) throw new TypeError(`${cfg.type}: convertToIterBased needs a positive integer epochLength, got ${n}`);
    scale = n;
    byEpoch = false;
    begin *= n;
    if (end !== INF) end *= n;
  }
  const range: Resolved = { begin, end, byEpoch, paramName: cfg.paramName ?? 'lr' };
  switch (cfg.type) {
    case 'LinearLR': return new LinearLR(optimizer, range, cfg.startFactor, cfg.endFactor);
    case 'ConstantLR': return new ConstantLR(optimizer, range, cfg.factor);
    case 'MultiStepLR': return new MultiStepLR(optimizer, range, cfg.milestones.map((m) => m * scale), cfg.gamma);
    case 'StepLR': return new StepLR(optimizer, range, cfg.stepSize * scale, cfg.gamma);
    case 'ExponentialLR': return new ExponentialLR(optimizer, range, cfg.gamma);
    case 'PolyLR': return new PolyLR(optimizer, range, cfg.etaMin, cfg.power);
    case 'CosineAnnealingLR':
      return new CosineAnnealingLR(optimizer, range, { tMax: cfg.tMax === undefined ? undefined : cfg.tMax * scale, etaMin: cfg.etaMin, etaMinRatio: cfg.etaMinRatio });
    default: throw new TypeError(`buildScheduler: unknown scheduler type '${(cfg as { type: string }).type}'`);
  }
}

/**
 * The schedulers of a run, stepped as MMEngine's ParamSchedulerHook does: the
 * iteration-based ones after every training iteration, the epoch-based ones after
 * every training epoch (in list order).
 */
export class ParamSchedulerList {
  constructor(readonly schedulers: ParamScheduler[]) {}

  static build(optimizer: ParamGroupsHolder, configs: SchedulerConfig[], opts: { epochLength?: number } = {}): ParamSchedulerList {
    return new ParamSchedulerList(configs.map((c) => buildScheduler(optimizer, c, opts)));
  }

  /** Call after each training iteration. */
  afterTrainIter(): void {
    for (const s of this.schedulers) if (!s.byEpoch) s.step();
  }

  /** Call after each training epoch. */
  afterTrainEpoch(): void {
    for (const s of this.schedulers) if (s.byEpoch) s.step();
  }

  stateDict(): SchedulerState[] {
    return this.schedulers.map((s) => s.stateDict());
  }

  loadStateDict(states: SchedulerState[]): void {
    if (states.length !== this.schedulers.length) {
      throw new Error(`ParamSchedulerList.loadStateDict: ${states.length} saved schedulers for ${this.schedulers.length} configured`);
    }
    this.schedulers.forEach((s, i) => s.loadStateDict(states[i]));
  }
}

function bareHolder(baseLr: number): ParamGroupsHolder {
  return { paramGroups: [{ params: [], lr: baseLr, weightDecay: 0 }] };
}

/**
 * The lr of every training iteration of the first `epochs` epochs (index: epoch ×
 * epochLength + iteration), as a runner stepping the schedulers would set it.
 */
export function lrCurve(configs: SchedulerConfig[], opts: { baseLr: number; epochLength: number; epochs: number }): number[] {
  const holder = bareHolder(opts.baseLr);
  const list = ParamSchedulerList.build(holder, configs, { epochLength: opts.epochLength });
  const out: number[] = [];
  for (let e = 0; e < opts.epochs; e++) {
    for (let i = 0; i < opts.epochLength; i++) {
      out.push(holder.paramGroups[0].lr);
      list.afterTrainIter();
    }
    list.afterTrainEpoch();
  }
  return out;
}

/**
 * The lr used at training iteration `iter` (0-based, within the epoch) of epoch
 * `epoch` (0-based) for a base lr: a pure function of the schedule config. For
 * iteration-based training leave epoch 0 and epochLength out.
 */
export function lrAt(configs: SchedulerConfig[], at: { epoch?: number; iter: number }, opts: { baseLr: number; epochLength?: number }): number {
  const epochLength = opts.epochLength ?? INF;
  const epoch = at.epoch ?? 0;
  if (!(at.iter >= 0 && at.iter < epochLength)) throw new RangeError(`lrAt: iter ${at.iter} is outside an epoch of ${epochLength} iterations`);
  const holder = bareHolder(opts.baseLr);
  const list = ParamSchedulerList.build(holder, configs, { epochLength: opts.epochLength });
  for (let e = 0; e <= epoch; e++) {
    const iters = e === epoch ? at.iter : epochLength;
    for (let i = 0; i < iters; i++) list.afterTrainIter();
    if (e < epoch) list.afterTrainEpoch();
  }
  return holder.paramGroups[0].lr;
}
