/**
 * `--cfg-options a.b=1 c.d=[1,2]`: overrides applied to a resolved (JSON) config.
 *
 * Values are parsed as JSON where they parse (`101`, `0.01`, `true`, `null`, `[8,11]`,
 * `{"x":1}`), else kept as strings (`model.backbone.style=caffe`). Only keys the
 * resolved config already has can be set (optional settings are spelled `null` in a
 * config so they can be overridden); an unknown key is an error that lists the valid
 * ones. A value must keep the kind it replaces (number, string, boolean, array, object),
 * except that null replaces or is replaced by anything.
 */
import { isPlainObject } from './merge';
import { closestKey } from './schema';

/** A bad override: the message is one line meant for the command line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface Override {
  /** Dotted key split at the dots; array elements by index (`paramScheduler.1.milestones`). */
  path: string[];
  value: unknown;
}

/** Splits `a.b=value` and parses the value (JSON where it parses, else the raw string). */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--cfg-options: expected KEY=VALUE, got '${text}'`);
  const key = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  const path = key.split('.');
  if (path.some((p) => p === '')) throw new ConfigError(`--cfg-options: empty part in key '${key}'`);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // not JSON: a plain string
  }
  const bad = nonFinite(value);
  if (bad !== undefined) throw new ConfigError(`--cfg-options: '${key}': '${raw}' holds a number beyond the range of a double (about ±1.8e308), which would become ${bad}`);
  return { path, value };
}

/** The first non-finite number in a parsed value (JSON.parse turns 1e400 into Infinity), as its source text's JSON would not show it. */
function nonFinite(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : String(v);
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) {
      const bad = nonFinite(x);
      if (bad !== undefined) return bad;
    }
  }
  return undefined;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A copy of `cfg` with each `KEY=VALUE` applied in order (later ones win). */
export function applyOverrides<T>(cfg: T, overrides: readonly string[]): T {
  const out = structuredClone(cfg);
  for (const text of overrides) setPath(out, parseOverride(text));
  return out;
}

function setPath(root: unknown, { path, value }: Override): void {
  let node: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const at = path.slice(0, i).join('.');
    const key = path[i];
    const where = at === '' ? 'the top level' : at;
    let container: Record<string, unknown> | unknown[];
    let exists: boolean;
    if (Array.isArray(node)) {
      const index = Number(key);
      exists = Number.isInteger(index) && index >= 0 && index < node.length;
      if (!exists) throw new ConfigError(`--cfg-options: unknown key '${path.slice(0, i + 1).join('.')}' (${where} is an array of ${node.length}; use an index 0..${node.length - 1})`);
      container = node;
    } else if (isPlainObject(node)) {
      exists = Object.prototype.hasOwnProperty.call(node, key);
      if (!exists) {
        const valid = Object.keys(node);
        const close = closestKey(key, valid);
        const hint = close === undefined ? '' : ` (did you mean '${[...path.slice(0, i), close].join('.')}'?)`;
        throw new ConfigError(`--cfg-options: unknown key '${path.slice(0, i + 1).join('.')}'${hint} (valid keys at ${where}: ${valid.length ? valid.join(', ') : 'none'})`);
      }
      container = node;
    } else {
      throw new ConfigError(`--cfg-options: cannot set '${path.join('.')}': '${at}' is ${kindOf(node)}, not an object`);
    }
    const current = (container as Record<string, unknown>)[key];
    if (i === path.length - 1) {
      const was = kindOf(current);
      const now = kindOf(value);
      if (was !== 'null' && now !== 'null' && was !== now) {
        throw new ConfigError(`--cfg-options: '${path.join('.')}' expects ${was === 'array' || was === 'object' ? 'an' : 'a'} ${was}, got ${JSON.stringify(value)}`);
      }
      (container as Record<string, unknown>)[key] = value;
    } else {
      node = current;
    }
  }
}
