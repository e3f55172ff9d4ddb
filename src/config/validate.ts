/**
 * Run-time validation of resolved configs, from the same definitions the compiler checks:
 * each task's config schema is generated from its TypeScript config type (with the JSDoc
 * tags that say integer, range, element type; see scripts/gen-config-schemas.js), so a
 * value from `--cfg-options`, a JSON config or a TypeScript config that the compiler
 * could not see (a cast, a dumped file edited by hand) is caught before anything is built.
 * A few rules that involve two keys follow (crossKeyIssues).
 */
import { ConfigError } from './overrides';
import { SchemaValidator, type JsonSchema, type SchemaIssue } from './schema';
import { runConfigSchema } from './run_config_schema';

export interface ValidateOptions {
  /** Where the config came from (a config name or file), for the message. */
  source?: string;
  /** The `--cfg-options` applied to it, to say which one set a bad value. */
  overrides?: readonly string[];
}

const validators = new WeakMap<JsonSchema, SchemaValidator>();

function validatorFor(schema: JsonSchema): SchemaValidator {
  let v = validators.get(schema);
  if (!v) validators.set(schema, (v = new SchemaValidator(schema)));
  return v;
}

/** RunConfig's schema with the task's own top-level keys allowed: for a task without a configSchema. */
const runConfigOnly: JsonSchema = (() => {
  const defs = runConfigSchema.definitions!;
  return { ...runConfigSchema, definitions: { ...defs, RunConfig: { ...defs.RunConfig, additionalProperties: true } } };
})();

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Rules the schema cannot say: each involves two keys or an excluded value. Run on a config the schema accepts. */
export function crossKeyIssues(cfg: unknown): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  if (!isRec(cfg)) return out;
  const train = cfg.train as Rec | undefined;
  const ckpt = isRec(cfg.hooks) && isRec(cfg.hooks.checkpoint) ? cfg.hooks.checkpoint : undefined;
  if (ckpt && train && ckpt.byEpoch === true && train.byEpoch === false) {
    out.push({
      path: 'hooks.checkpoint.byEpoch',
      message: 'is true but train.byEpoch is false: iteration-based training calls no epoch hooks, so no checkpoint would ever be saved (set hooks.checkpoint.byEpoch=false)',
    });
  }
  if (ckpt && ckpt.maxKeep === 0) out.push({ path: 'hooks.checkpoint.maxKeep', message: 'expected -1 (keep all) or an integer >= 1, got 0' });
  if (Array.isArray(cfg.paramScheduler)) {
    cfg.paramScheduler.forEach((s: unknown, i) => {
      if (!isRec(s)) return;
      const begin = typeof s.begin === 'number' ? s.begin : 0;
      if (typeof s.end === 'number' && s.end <= begin) {
        out.push({ path: `paramScheduler.${i}.end`, message: `expected an integer > begin (${begin}), got ${s.end}: the scheduler would never act` });
      }
    });
  }
  return out;
}

/** Every issue of a resolved config: against `schema` (the task's; RunConfig's when absent), then the cross-key rules. */
export function configIssues(cfg: unknown, schema?: JsonSchema): SchemaIssue[] {
  const issues = validatorFor(schema ?? runConfigOnly).validate(cfg);
  return issues.length > 0 ? issues : crossKeyIssues(cfg);
}

/**
 * How `--cfg-options` bear on `path`: 'set by X' for the entry that set it (or one of its
 * parents or children), else 'after X' for one that set a sibling (e.g. `train.byEpoch=false`
 * for a missing `train.maxIters`).
 */
function overrideFor(path: string, overrides: readonly string[]): string | undefined {
  const keyOf = (o: string) => (o.indexOf('=') > 0 ? o.slice(0, o.indexOf('=')) : o);
  const parent = (k: string) => k.slice(0, Math.max(0, k.lastIndexOf('.')));
  for (let i = overrides.length - 1; i >= 0; i--) {
    const key = keyOf(overrides[i]);
    if (key === path || path.startsWith(`${key}.`) || key.startsWith(`${path}.`)) return `set by --cfg-options ${overrides[i]}`;
  }
  const siblings = parent(path) === '' ? [] : overrides.filter((o) => parent(keyOf(o)) === parent(path));
  return siblings.length > 0 ? `after --cfg-options ${siblings.join(' ')}` : undefined;
}

/** A one-line message for issues: `train.maxEpochs: expected an integer >= 1, got 1.5 (set by --cfg-options train.maxEpochs=1.5)`. */
export function formatIssues(issues: readonly SchemaIssue[], opts: ValidateOptions = {}): string {
  const shown = issues.slice(0, 6).map((i) => {
    const by = opts.overrides ? overrideFor(i.path, opts.overrides) : undefined;
    return `${i.path === '' ? 'the config' : `'${i.path}'`}: ${i.message}${by ? ` (${by})` : ''}`;
  });
  const more = issues.length > shown.length ? `; and ${issues.length - shown.length} more` : '';
  return `${opts.source ? `${opts.source}: ` : ''}invalid config: ${shown.join('; ')}${more}`;
}

/** Throws a ConfigError naming each bad key, its value and what was expected. */
export function validateConfig(cfg: unknown, schema: JsonSchema | undefined, opts: ValidateOptions = {}): void {
  const issues = configIssues(cfg, schema);
  if (issues.length > 0) throw new ConfigError(formatIssues(issues, opts));
}
