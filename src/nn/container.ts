/** Containers: Sequential (chains forward), ModuleList and ModuleDict (hold children under index/key names). */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import { Module, type TensorModule } from './module';

/** Children named '0', '1', ... (or given names); forward feeds each child's output to the next. */
export class Sequential extends Module {
  private readonly layers: TensorModule[] = [];

  constructor(...modules: TensorModule[]) {
    super();
    for (const m of modules) this.append(m);
  }

  /** A Sequential whose children have the given names (e.g. ResNet's `layer1` blocks, torchvision's `features`). */
  static fromEntries(entries: Iterable<[string, TensorModule]>): Sequential {
    const s = new Sequential();
    for (const [name, m] of entries) s.add(name, m);
    return s;
  }

  /** Appends m under the next index name. */
  append(m: TensorModule): this {
    return this.add(String(this.layers.length), m);
  }

  private add(name: string, m: TensorModule): this {
    this.registerModule(name, m);
    this.layers.push(m);
    return this;
  }

  get length(): number {
    return this.layers.length;
  }

  /** The i-th child (negative counts from the end). */
  at(i: number): TensorModule {
    const m = this.layers.at(i);
    if (!m) throw new RangeError(`Sequential: index ${i} out of range for ${this.layers.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<TensorModule> {
    return this.layers[Symbol.iterator]();
  }

  forward(x: Tensor): Tensor {
    if (this.layers.length === 0) return x;
    return torch.tidy(() => {
      let y = x;
      for (const m of this.layers) {
        const next = m.forward(y);
        // free each intermediate as soon as the next module has consumed it (as Python's refcounts
        // do), not at the end of the scope: a lower peak, and memory reused while it is warm
        if (y !== x && next !== y) y.dispose();
        y = next;
      }
      return y;
    });
  }
}

/** An indexable list of child modules named '0', '1', ... (no forward of its own). */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): M {
    const m = this.items.at(i);
    if (!m) throw new RangeError(`ModuleList: index ${i} out of range for ${this.items.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  map<T>(fn: (m: M, i: number) => T): T[] {
    return this.items.map(fn);
  }
}

/** Child modules by key (insertion order); keys become state-dict name parts. */
export class ModuleDict<M extends Module = Module> extends Module {
  private readonly items = new Map<string, M>();

  constructor(entries: Iterable<[string, M]> | Record<string, M> = []) {
    super();
    const list = Symbol.iterator in entries ? entries as Iterable<[string, M]> : Object.entries(entries as Record<string, M>);
    for (const [k, m] of list) this.set(k, m);
  }

  set(key: string, m: M): this {
    this.registerModule(key, m);
    this.items.set(key, m);
    return this;
  }

  get(key: string): M {
    const m = this.items.get(key);
    if (!m) throw new RangeError(`ModuleDict: no module '${key}' (keys: ${[...this.items.keys()].join(', ')})`);
    return m;
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  keys(): IterableIterator<string> {
    return this.items.keys();
  }

  entries(): IterableIterator<[string, M]> {
    return this.items.entries();
  }

  get size(): number {
    return this.items.size;
  }
}
