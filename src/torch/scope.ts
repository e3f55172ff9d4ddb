/**
 * Deterministic memory management: tensors created inside `tidy(fn)` are disposed
 * when fn returns, except the ones it returns (which move to the enclosing scope)
 * and the ones passed to `keep()`. `using t = ...` (Symbol.dispose) frees one
 * tensor at the end of a block. The garbage collector's finalizers remain only a
 * safety net.
 */
import { flushReleases } from './release';

/** Anything that owns native memory and can be freed now. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const scopes: Disposable[][] = [];
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

/** Called by every new tensor: registers it with the innermost open scope (or lets it escape). */
export function track(t: Disposable): void {
  const top = scopes.length;
  if (top > 0) scopes[top - 1].push(t);
  else onEscape(t);
}

/** Excludes a tensor from disposal by any enclosing tidy() (e.g. model parameters). */
export function keep<T extends Disposable>(t: T): T {
  if (!kept.has(t)) {
    kept.add(t);
    if (scopes.length > 0) onEscape(t);
  }
  return t;
}

/** Undoes keep(): the tensor is again disposed by the scope that owns it. */
export function unkeep<T extends Disposable>(t: T): T {
  kept.delete(t);
  return t;
}

function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if (typeof (value as Disposable).dispose === 'function' && 'isDisposed' in (value as object)) {
    out.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, depth + 1);
  }
}

function closeScope(scope: Disposable[], result: unknown): void {
  const survivors = new Set<Disposable>();
  collect(result, survivors);
  const parent = scopes.length > 0 ? scopes[scopes.length - 1] : undefined;
  for (const t of scope) {
    if (survivors.has(t)) {
      if (parent) parent.push(t);
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
 * Returned tensors (also inside arrays, Maps and plain objects) survive.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Disposable[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    closeScope(scope, undefined);
    throw err;
  }
  if (result instanceof Promise) {
    scopes.pop();
    closeScope(scope, undefined);
    throw new Error('tidy: fn returned a Promise; tidy scopes are synchronous (use tidyAsync)');
  }
  scopes.pop();
  closeScope(scope, result);
  return result;
}

/**
 * tidy() for async work: only tensors created synchronously between awaits in this
 * task are tracked reliably if no other task runs tidy concurrently; prefer keeping
 * async boundaries outside of tensor code.
 */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const scope: Disposable[] = [];
  scopes.push(scope);
  try {
    const result = await fn();
    scopes.splice(scopes.lastIndexOf(scope), 1);
    closeScope(scope, result);
    return result;
  } catch (err) {
    const i = scopes.lastIndexOf(scope);
    if (i >= 0) scopes.splice(i, 1);
    closeScope(scope, undefined);
    throw err;
  }
}

/** Disposes every tensor found in value (arrays, Maps and plain objects are searched). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found);
  for (const t of found) if (!t.isDisposed) t.dispose();
}

/** Number of open tidy scopes (for tests and diagnostics). */
export function scopeDepth(): number {
  return scopes.length;
}
