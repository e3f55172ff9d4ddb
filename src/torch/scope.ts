/**
 * Deterministic memory management: tensors created inside `tidy(fn)` are disposed
 * when fn returns, except the ones it returns (which move to the enclosing scope)
 * and the ones passed to `keep()`. `using t = ...` (Symbol.dispose) frees one
 * tensor at the end of a block. The garbage collector's finalizers remain only a
 * safety net.
 *
 * Scopes: sync `tidy` scopes live on a plain stack (a sync scope is open only while
 * its fn runs, so the stack is exact and cheap). Each `tidyAsync` scope lives in its
 * own async context (AsyncLocalStorage), so concurrent tidyAsync calls with
 * interleaved awaits each collect their own tensors. The async context is consulted
 * only while some tidyAsync is open; otherwise track() is a push onto the stack top.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { flushReleases } from './release';

/** Anything that owns native memory and can be freed now. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

interface Scope {
  readonly tensors: Disposable[];
  /** The scope that receives this one's survivors (the innermost open scope when it opened). */
  readonly parent: Scope | undefined;
  /** Opening order: of two open scopes, the later-opened one is inside the other. */
  readonly seq: number;
  closed: boolean;
}

const scopes: Scope[] = [];
const asyncScopes = new AsyncLocalStorage<Scope>();
/** Number of tidyAsync scopes open right now (0: the async context is never consulted). */
let asyncOpen = 0;
let nextSeq = 0;
const kept = new WeakSet<Disposable>();

/**
 * Called for tensors that leave every scope (created outside tidy, returned from the
 * outermost tidy, or kept): the tensor module puts them under the garbage-collection
 * safety net (release.ts). Tensors that stay inside scopes never need it.
 */
let onEscape: (t: Disposable) => void = () => {};

/** @internal Installs the escape handler (src/torch/tensor.ts does). */
export function setEscapeHandler(fn: (t: Disposable) => void): void {
  onEscape = fn;
}

/** The innermost open scope of the running code (sync stack or async context). */
function current(): Scope | undefined {
  const top = scopes.length > 0 ? scopes[scopes.length - 1] : undefined;
  if (asyncOpen === 0) return top;
  let s = asyncScopes.getStore();
  // Code that outlives its tidyAsync (a stray continuation) still carries its context.
  while (s !== undefined && s.closed) s = s.parent;
  // The open sync scope is innermost unless this tidyAsync was started inside it.
  if (top !== undefined && (s === undefined || top.seq > s.seq)) return top;
  return s;
}

function openScope(): Scope {
  return { tensors: [], parent: current(), seq: nextSeq++, closed: false };
}

/** Called by every new tensor: registers it with the innermost open scope (or lets it escape). */
export function track(t: Disposable): void {
  if (asyncOpen === 0) {
    const top = scopes.length;
    if (top > 0) scopes[top - 1].tensors.push(t);
    else onEscape(t);
    return;
  }
  const s = current();
  if (s) s.tensors.push(t);
  else onEscape(t);
}

/** Excludes a tensor from disposal by any enclosing tidy() (e.g. model parameters). */
export function keep<T extends Disposable>(t: T): T {
  if (!kept.has(t)) {
    kept.add(t);
    if (current() !== undefined) onEscape(t);
  }
  return t;
}

/** Undoes keep(): the tensor is again disposed by the scope that owns it. */
export function unkeep<T extends Disposable>(t: T): T {
  kept.delete(t);
  return t;
}

const isDisposable = (v: object): v is Disposable => typeof (v as Disposable).dispose === 'function' && 'isDisposed' in v;

/**
 * Adds every Disposable reachable from value to out: through arrays, plain objects,
 * Maps (keys and values), Sets and class instances' own enumerable data properties,
 * at any depth (an explicit stack; cycles are visited once). Getters are not run;
 * typed arrays and ArrayBuffers are not searched.
 */
function collect(value: unknown, out: Set<Disposable>): void {
  if (value === null || typeof value !== 'object') return;
  if (isDisposable(value)) {
    out.add(value);
    return;
  }
  const stack: object[] = [value];
  const seen = new Set<object>();
  const visit = (v: unknown) => {
    if (v !== null && (typeof v === 'object' || typeof v === 'function')) stack.push(v as object);
  };
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (typeof v === 'function') continue;
    if (isDisposable(v)) {
      out.add(v);
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) visit(v[i]);
    } else if (v instanceof Map) {
      for (const [k, x] of v) {
        visit(k);
        visit(x);
      }
    } else if (v instanceof Set) {
      for (const x of v) visit(x);
    } else if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet) {
      continue;
    } else {
      for (const key of Object.keys(v)) {
        const d = Object.getOwnPropertyDescriptor(v, key);
        if (d !== undefined && 'value' in d) visit(d.value);
      }
    }
  }
}

function closeScope(scope: Scope, result: unknown): void {
  scope.closed = true;
  const survivors = new Set<Disposable>();
  collect(result, survivors);
  let parent = scope.parent;
  while (parent !== undefined && parent.closed) parent = parent.parent;
  for (const t of scope.tensors) {
    if (survivors.has(t)) {
      if (parent) parent.tensors.push(t);
      else if (!kept.has(t)) onEscape(t);
    } else if (!kept.has(t) && !t.isDisposed) {
      t.dispose();
    }
  }
  // tensors' dispose() only queues their handles: free them all now, in one native call
  flushReleases();
}

/**
 * Runs fn and disposes every tensor it created that it does not return.
 * Returned tensors (inside arrays, plain objects, Maps, Sets and class instances,
 * at any depth) survive.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`tidy: fn: expected a function, got ${fn === null ? 'null' : typeof fn}`);
  const scope = openScope();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    closeScope(scope, undefined);
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    closeScope(scope, undefined);
    throw new Error('tidy: fn returned a Promise; tidy scopes are synchronous (use tidyAsync)');
  }
  closeScope(scope, result);
  return result;
}

/**
 * tidy() for async work: every tensor created by fn's async task (across its awaits,
 * in the code it awaits) is disposed when fn settles, except what it returns. Each
 * call has its own async context, so concurrent tidyAsync calls do not interfere.
 */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  if (typeof fn !== 'function') throw new TypeError(`tidyAsync: fn: expected a function, got ${fn === null ? 'null' : typeof fn}`);
  const scope = openScope();
  asyncOpen++;
  let result: T;
  try {
    result = await asyncScopes.run(scope, fn);
  } catch (err) {
    asyncOpen--;
    closeScope(scope, undefined);
    throw err;
  }
  asyncOpen--;
  closeScope(scope, result);
  return result;
}

/** Disposes every tensor found in value (searched as tidy searches its result). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found);
  for (const t of found) if (!t.isDisposed) t.dispose();
}

/** Number of open scopes around the running code (for tests and diagnostics). */
export function scopeDepth(): number {
  let n = 0;
  for (let s = current(); s !== undefined; s = s.parent) if (!s.closed) n++;
  return n;
}
