/**
 * Module: the base of every layer and model. Parameters, buffers and child modules
 * are registered explicitly (no Proxy magic) under the names PyTorch would give
 * them, so state-dict keys follow MMDetection's checkpoint layout
 * (`backbone.layer1.0.conv1.weight`, `bn1.running_mean`, ...).
 *
 * Parameters and buffers are long-lived: they are torch.keep()-ed when registered,
 * so an enclosing tidy() never frees them; dispose() frees them all.
 *
 *   class Bottleneck extends Module {
 *     readonly conv1 = this.registerModule('conv1', new Conv2d(64, 64, 1, { bias: false }));
 *     readonly bn1 = this.registerModule('bn1', new BatchNorm2d(64));
 *     forward(x: Tensor): Tensor { return torch.tidy(() => this.bn1.forward(this.conv1.forward(x)).relu()); }
 *   }
 */
import * as torch from '../torch';
import type { Tensor, Device, DType, MemoryFormat } from '../torch';

/** A module that maps one tensor to one tensor (what Sequential chains). */
export interface TensorModule extends Module {
  forward(x: Tensor): Tensor;
}

/** Source of loadStateDict: a Map (safetensors/.pth readers) or a plain record. */
export type StateDictSource = Map<string, Tensor> | Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Throw when keys are missing or unexpected (default true). */
  strict?: boolean;
  /**
   * Renames each source key before matching (checkpoint converters, e.g. torchvision → MMDetection);
   * null drops the key.
   */
  keyMap?: (key: string) => string | null;
  /** Match keys and shapes (and throw as a real load would) but copy nothing. */
  dryRun?: boolean;
}

export interface LoadStateDictResult {
  /** Keys of this module that the source did not provide. */
  missingKeys: string[];
  /** Keys of the source (after keyMap) that this module does not have. */
  unexpectedKeys: string[];
}

/**
 * Gives `target` the data of `src` while keeping the `target` object (so fields,
 * optimizers and anything else holding it stay valid), then frees the old data.
 * PyTorch does the same with `param.data = fn(param)` in Module._apply.
 */
function replaceData(target: Tensor, src: Tensor): void {
  const old = target._h;
  target._h = src._h;
  src._h = old;
  src.dispose();
}

export class Module {
  /** Training mode (BatchNorm batch statistics, Dropout); see train()/eval(). */
  training = true;

  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module | null>();

  // ---------------------------------------------------------------- registration

  /**
   * Registers a parameter (a leaf tensor; requiresGrad is switched on unless
   * requiresGrad: false) under name and returns it. null registers an absent
   * parameter (e.g. `bias` of a conv without bias). Replacing an existing
   * parameter frees the old tensor.
   */
  protected registerParameter<T extends Tensor | null>(name: string, t: T, opts: { requiresGrad?: boolean } = {}): T {
    this.checkName(name, 'parameter', this._parameters);
    this.replaceOwned(this._parameters.get(name), t);
    if (t !== null) {
      torch.keep(t);
      t.requiresGrad_(opts.requiresGrad ?? true);
    }
    this._parameters.set(name, t);
    return t;
  }

  /**
   * Registers a buffer (state that is not trained: running statistics, anchors...).
   * Non-persistent buffers stay out of the state dict.
   */
  protected registerBuffer<T extends Tensor | null>(name: string, t: T, opts: { persistent?: boolean } = {}): T {
    this.checkName(name, 'buffer', this._buffers);
    this.replaceOwned(this._buffers.get(name), t);
    if (t !== null) torch.keep(t);
    this._buffers.set(name, t);
    if (opts.persistent === false) this._nonPersistent.add(name);
    else this._nonPersistent.delete(name);
    return t;
  }

  /** Registers a child module under name (its keys get the prefix `name.`) and returns it. */
  protected registerModule<M extends Module | null>(name: string, m: M): M {
    this.checkName(name, 'module', this._modules);
    this._modules.set(name, m);
    return m;
  }

  private checkName(name: string, kind: string, own: Map<string, unknown>): void {
    if (name === '' || name.includes('.')) throw new TypeError(`${this.constructor.name}: ${kind} name must be non-empty without '.', got '${name}'`);
    const taken = (this._parameters.has(name) && own !== this._parameters)
      || (this._buffers.has(name) && own !== this._buffers)
      || (this._modules.has(name) && own !== this._modules);
    if (taken) throw new TypeError(`${this.constructor.name}: cannot register ${kind} '${name}': the name is already used by another kind`);
  }

  private replaceOwned(old: Tensor | null | undefined, next: Tensor | null): void {
    if (old && old !== next && !old.isDisposed) {
      torch.unkeep(old);
      old.dispose();
    }
  }

  /** This module's own parameter called name (no recursion), or null. */
  getParameter(name: string): Tensor | null {
    return this._parameters.get(name) ?? null;
  }

  /** This module's own buffer called name (no recursion), or null. */
  getBuffer(name: string): Tensor | null {
    return this._buffers.get(name) ?? null;
  }

  /** The descendant at a dotted path (`'layer1.0.conv1'`); throws naming the missing part. */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    let m: Module = this;
    for (const part of path.split('.')) {
      const next = m._modules.get(part);
      if (!next) throw new Error(`getSubmodule: ${m.constructor.name} has no child '${part}' (path '${path}')`);
      m = next;
    }
    return m;
  }

  // ---------------------------------------------------------------- traversal

  /** Direct children with their names (registration order). */
  *namedChildren(): IterableIterator<[string, Module]> {
    for (const [name, m] of this._modules) if (m) yield [name, m];
  }

  *children(): IterableIterator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** This module and every descendant, pre-order, with dotted names ('' for this one). Shared modules appear once. */
  *namedModules(prefix = '', memo = new Set<Module>()): IterableIterator<[string, Module]> {
    if (memo.has(this)) return;
    memo.add(this);
    yield [prefix, this];
    for (const [name, m] of this.namedChildren()) {
      yield* m.namedModules(prefix ? `${prefix}.${name}` : name, memo);
    }
  }

  *modules(): IterableIterator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Parameters with dotted names, PyTorch's order (own first, then children in order). Shared tensors appear once. */
  *namedParameters(opts: { recurse?: boolean; prefix?: string } = {}): IterableIterator<[string, Tensor]> {
    yield* this.namedMembers((m) => m._parameters, opts);
  }

  *parameters(opts: { recurse?: boolean } = {}): IterableIterator<Tensor> {
    for (const [, p] of this.namedParameters(opts)) yield p;
  }

  /** Buffers (persistent or not) with dotted names. */
  *namedBuffers(opts: { recurse?: boolean; prefix?: string } = {}): IterableIterator<[string, Tensor]> {
    yield* this.namedMembers((m) => m._buffers, opts);
  }

  *buffers(opts: { recurse?: boolean } = {}): IterableIterator<Tensor> {
    for (const [, b] of this.namedBuffers(opts)) yield b;
  }

  private *namedMembers(get: (m: Module) => Map<string, Tensor | null>, opts: { recurse?: boolean; prefix?: string }): IterableIterator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const mods: Iterable<[string, Module]> = (opts.recurse ?? true) ? this.namedModules(opts.prefix ?? '') : [[opts.prefix ?? '', this]];
    for (const [modName, m] of mods) {
      for (const [name, t] of get(m)) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        yield [modName ? `${modName}.${name}` : name, t];
      }
    }
  }

  /** Number of parameter elements (trainable only with trainable: true). */
  numParameters(opts: { trainable?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!opts.trainable || p.requiresGrad) n += p.numel();
    return n;
  }

  // ---------------------------------------------------------------- state dict

  /**
   * Parameters and persistent buffers by key, in PyTorch's state_dict order. The
   * values are the module's own tensors, not copies: read or save them, never
   * dispose them.
   */
  stateDict(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.collectState(prefix, out);
    return out;
  }

  private collectState(prefix: string, out: Map<string, Tensor>): void {
    for (const [name, p] of this._parameters) if (p) out.set(prefix + name, p);
    for (const [name, b] of this._buffers) if (b && !this._nonPersistent.has(name)) out.set(prefix + name, b);
    for (const [name, m] of this.namedChildren()) m.collectState(`${prefix}${name}.`, out);
  }

  /**
   * Keys (local to this module) that a checkpoint may lack without being reported
   * missing; their current values stay. BatchNorm's `num_batches_tracked` is one:
   * checkpoints written before PyTorch 0.4.1 (torchvision's ResNets) lack it.
   */
  protected optionalStateKeys(): readonly string[] {
    return [];
  }

  /** Keys (local to this module) of a checkpoint that are dropped silently (FrozenBatchNorm2d's `num_batches_tracked`). */
  protected ignoredStateKeys(): readonly string[] {
    return [];
  }

  /**
   * Copies a state dict into this module's parameters and buffers, in place (under
   * noGrad, converting dtype/device as needed). Returns the missing and unexpected
   * keys; with strict (default) either kind throws an Error listing both. A shape
   * mismatch always throws, naming the key and both shapes. Nothing is copied when
   * it throws.
   */
  loadStateDict(source: StateDictSource, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const entries = source instanceof Map ? [...source.entries()] : Object.entries(source);
    const incoming = new Map<string, Tensor>();
    for (const [key, t] of entries) {
      const k = opts.keyMap ? opts.keyMap(key) : key;
      if (k !== null) incoming.set(k, t);
    }

    const own = this.stateDict();
    const optional = new Set<string>();
    for (const [prefix, m] of this.namedModules()) {
      const p = prefix ? `${prefix}.` : '';
      for (const k of m.optionalStateKeys()) optional.add(p + k);
      for (const k of m.ignoredStateKeys()) incoming.delete(p + k);
    }

    const missingKeys: string[] = [];
    const mismatched: string[] = [];
    for (const [key, t] of own) {
      const src = incoming.get(key);
      if (src === undefined) {
        if (!optional.has(key)) missingKeys.push(key);
        continue;
      }
      const a = t.shape, b = src.shape;
      if (a.length !== b.length || a.some((s, i) => s !== b[i])) {
        mismatched.push(`${key}: checkpoint has shape [${b.join(', ')}], the module has [${a.join(', ')}]`);
      }
    }
    const unexpectedKeys = [...incoming.keys()].filter((k) => !own.has(k));

    if (mismatched.length > 0) {
      throw new Error(`loadStateDict (${this.constructor.name}): size mismatch for ${mismatched.length} key(s):\n  ${mismatched.join('\n  ')}`);
    }
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const lines = [`loadStateDict (${this.constructor.name}): strict loading failed`];
      if (missingKeys.length > 0) lines.push(`  missing keys (${missingKeys.length}): ${missingKeys.join(', ')}`);
      if (unexpectedKeys.length > 0) lines.push(`  unexpected keys (${unexpectedKeys.length}): ${unexpectedKeys.join(', ')}`);
      throw new Error(lines.join('\n'));
    }
    if (opts.dryRun) return { missingKeys, unexpectedKeys };
    torch.noGrad(() => {
      for (const [key, t] of own) {
        const src = incoming.get(key);
        if (src !== undefined) t.copy_(src);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---------------------------------------------------------------- modes and conversion

  /** Sets training mode here and in every descendant. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this.children()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Calls fn on every descendant (children first, as PyTorch), then on this module. */
  apply(fn: (m: Module) => void): this {
    for (const m of this.children()) m.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Moves parameters and buffers to a device, or converts the floating-point ones
   * to a dtype (integer buffers such as num_batches_tracked keep theirs), or reorders the
   * 4-d ones (convolution weights) to a memory format (PyTorch's
   * `module.to(memory_format=torch.channels_last)`). The tensor objects are kept (their data
   * is replaced), so references stay valid.
   */
  to(target: Device | DType | { device?: Device | string; dtype?: DType; memoryFormat?: MemoryFormat }): this {
    let device: string | undefined;
    let dtype: DType | undefined;
    let memoryFormat: MemoryFormat | undefined;
    if (typeof target === 'string') {
      if (target === 'cpu' || target.startsWith('cuda')) device = target;
      else dtype = target as DType;
    } else {
      ({ device, dtype, memoryFormat } = target);
    }
    if (memoryFormat !== undefined && memoryFormat !== 'contiguous' && memoryFormat !== 'channelsLast') {
      throw new TypeError(`Module.to: memoryFormat should be 'contiguous' or 'channelsLast', got ${JSON.stringify(memoryFormat)}`);
    }
    torch.noGrad(() => {
      for (const m of this.modules()) {
        for (const map of [m._parameters, m._buffers]) {
          for (const t of map.values()) {
            if (t === null) continue;
            const convert = dtype !== undefined && t.isFloatingPoint() && t.dtype !== dtype;
            const move = device !== undefined && t.device !== device;
            // only 4-d tensors (convolution weights) have a channels-last order
            const reorder = memoryFormat !== undefined && t.dim() === 4 && !t.isContiguous(memoryFormat);
            if (!convert && !move && !reorder) continue;
            const opts = { device: move ? device : undefined, dtype: convert ? dtype : undefined };
            const change = (x: Tensor): Tensor => {
              const y = convert || move ? x.to(opts) : x;
              if (!reorder) return y;
              const z = y.contiguous(memoryFormat);
              if (y !== x) y.dispose();
              return z;
            };
            const requiresGrad = t.requiresGrad;
            const grad = t.grad;
            t.grad = null;
            replaceData(t, change(t));
            if (requiresGrad) t.requiresGrad_(true);
            if (grad) {
              const moved = change(grad);
              t.grad = moved;
              moved.dispose();
              grad.dispose();
            }
          }
        }
      }
    });
    return this;
  }

  /** Switches requiresGrad on every parameter (here and below). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /**
   * Freezes this module and its descendants: parameters stop requiring grad and
   * normalization layers keep their running statistics (they stay in eval mode
   * even when train() is called), as MMDetection's frozen stages and norm_eval.
   */
  freeze(): this {
    this.requiresGrad_(false);
    for (const m of this.modules()) m.freezeStatistics();
    return this;
  }

  /**
   * Keeps normalization layers below in eval mode (running statistics used and not
   * updated) even when train() is called, without freezing parameters: MMDetection's
   * norm_eval=True.
   */
  normEval(): this {
    for (const m of this.modules()) m.freezeStatistics();
    return this;
  }

  /** Hook for freeze() and normEval(): layers with running statistics stop updating them. */
  protected freezeStatistics(): void {}

  /** Drops every parameter's gradient (sets it to null, as zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Frees every parameter and buffer of this module and its descendants. The module is unusable afterwards. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const map of [m._parameters, m._buffers]) {
        for (const t of map.values()) {
          if (t && !t.isDisposed) {
            torch.unkeep(t);
            t.dispose();
          }
        }
      }
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** A one-line-per-module summary (PyTorch's repr, compact). */
  toString(): string {
    const lines: string[] = [];
    for (const [name, m] of this.namedModules()) {
      const depth = name === '' ? 0 : name.split('.').length;
      lines.push(`${'  '.repeat(depth)}${name === '' ? '' : `(${name.split('.').pop()}): `}${m.constructor.name}${m.extraRepr() ? `(${m.extraRepr()})` : ''}`);
    }
    return lines.join('\n');
  }

  /** The constructor arguments worth printing in toString(). */
  extraRepr(): string {
    return '';
  }
}
