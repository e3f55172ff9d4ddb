/**
 * Composing configs: a variant imports its base and overrides what differs.
 *
 *   export default defineConfig(base.task, mergeConfig(base.config, {
 *     train: { maxEpochs: 24 },
 *     optimWrapper: { optimizer: replace({ type: 'AdamW', lr: 1e-4, weightDecay: 0.05 }) },
 *   }));
 *
 * Plain objects merge key by key; arrays, primitives and `replace(...)` values replace
 * what the base had (a list of schedulers is not merged element-wise, as in MMEngine).
 */

/** Marks a value that replaces the base's subtree instead of merging into it (MMEngine's `_delete_=True`). */
export class Replace<T> {
  constructor(readonly value: T) {}
}

/** Replaces the base's subtree wholesale, e.g. switching a discriminated union (`SGD` → `AdamW`) without leftover keys. */
export function replace<T>(value: T): Replace<T> {
  return new Replace(value);
}

/** What a variant may override: any subset of keys, at any depth; arrays whole. */
export type DeepPartial<T> =
  | Replace<T>
  | (T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T);

/** True for `{...}` objects (not arrays, null, class instances such as Replace). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A new config: `base` with `override` merged in (neither argument is modified). */
export function mergeConfig<T>(base: T, override: DeepPartial<T>): T {
  return mergeValue(base, override) as T;
}

function mergeValue(base: unknown, override: unknown): unknown {
  if (override instanceof Replace) return structuredClone(override.value);
  if (override === undefined) return structuredClone(base);
  if (!isPlainObject(override)) return structuredClone(override);
  const from = isPlainObject(base) ? base : {};
  const out: Record<string, unknown> = structuredClone(from);
  for (const [k, v] of Object.entries(override)) {
    if (v !== undefined) out[k] = mergeValue(from[k], v);
  }
  return out;
}
