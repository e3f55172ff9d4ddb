/**
 * A small JSON Schema validator for resolved configs: the subset of draft-07 that
 * scripts/gen-config-schemas.js emits from the TypeScript config types ($ref, type, const,
 * enum, properties / required / additionalProperties, items (one schema or a tuple),
 * minItems / maxItems, anyOf, and the numeric ranges of the JSDoc tags). A schema with any
 * other keyword is rejected (checkSchema), so no check is ever silently skipped.
 *
 * Issues name the dotted key path (as `--cfg-options` spells it: `paramScheduler.1.milestones.0`),
 * the value found and what was expected; unknown keys come with the closest valid key.
 */

export type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

export interface JsonSchema {
  $ref?: string;
  definitions?: Record<string, JsonSchema>;
  type?: JsonType | JsonType[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema | JsonSchema[];
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
}

const KEYWORDS = new Set<string>([
  '$ref', 'definitions', 'type', 'const', 'enum', 'anyOf', 'properties', 'required', 'additionalProperties',
  'items', 'minItems', 'maxItems', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
]);

/** One thing wrong with a value. */
export interface SchemaIssue {
  /** Dotted key path ('' for the whole value). */
  path: string;
  /** What is wrong, in words ('expected an integer >= 1, got 1.5'). */
  message: string;
}

/** Throws if `schema` uses a keyword this validator does not implement (it would otherwise be ignored). */
export function checkSchema(schema: JsonSchema, at = '#'): void {
  for (const [k, v] of Object.entries(schema)) {
    if (!KEYWORDS.has(k)) throw new Error(`config schema: unsupported keyword '${k}' at ${at}`);
    if (k === 'definitions' || k === 'properties') {
      for (const [name, s] of Object.entries(v as Record<string, JsonSchema>)) checkSchema(s, `${at}/${k}/${name}`);
    } else if (k === 'anyOf' || (k === 'items' && Array.isArray(v))) {
      (v as JsonSchema[]).forEach((s, i) => checkSchema(s, `${at}/${k}/${i}`));
    } else if ((k === 'items' || k === 'additionalProperties') && typeof v === 'object') {
      checkSchema(v as JsonSchema, `${at}/${k}`);
    }
  }
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

/** The valid key closest to `key` (case-insensitive edit distance), if close enough to be a likely typo. */
export function closestKey(key: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    const d = editDistance(key.toLowerCase(), v.toLowerCase());
    if (d < bestD) [best, bestD] = [v, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** A value for messages: JSON, shortened. */
export function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

const join = (path: string, key: string | number) => (path === '' ? String(key) : `${path}.${key}`);

function kindOf(v: unknown): JsonType | 'undefined' | 'other' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'string' || typeof v === 'boolean') return typeof v as JsonType;
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') return 'object';
  return 'other';
}

function matchesType(v: unknown, t: JsonType): boolean {
  switch (t) {
    case 'null': return v === null;
    case 'boolean': return typeof v === 'boolean';
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return typeof v === 'number' && Number.isSafeInteger(v);
    case 'array': return Array.isArray(v);
    case 'object': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
      const proto = Object.getPrototypeOf(v);
      return proto === Object.prototype || proto === null;
    }
  }
}

export class SchemaValidator {
  constructor(readonly root: JsonSchema) {
    checkSchema(root);
  }

  private deref(s: JsonSchema): JsonSchema {
    let out = s;
    for (let n = 0; out.$ref !== undefined; n++) {
      const m = /^#\/definitions\/(.+)$/.exec(out.$ref);
      const target = m ? this.root.definitions?.[decodeURIComponent(m[1])] : undefined;
      if (!target || n > 32) throw new Error(`config schema: cannot resolve $ref '${out.$ref}'`);
      out = target;
    }
    return out;
  }

  /** Every issue of `value` against `schema` (the root schema by default). */
  validate(value: unknown, schema: JsonSchema = this.root, path = ''): SchemaIssue[] {
    const s = this.deref(schema);
    if (s.anyOf) return this.validateAnyOf(value, s, path);
    const issue = (message: string, at = path): SchemaIssue[] => [{ path: at, message }];
    const expected = () => issue(`expected ${this.describe(s)}, got ${show(value)}`);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? s.type : [s.type];
      if (!types.some((t) => matchesType(value, t))) return expected();
    }
    if (s.const !== undefined && value !== s.const) return expected();
    if (s.enum && !s.enum.includes(value)) return expected();
    if (typeof value === 'number') {
      if ((s.minimum !== undefined && value < s.minimum) || (s.maximum !== undefined && value > s.maximum) ||
        (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum) || (s.exclusiveMaximum !== undefined && value >= s.exclusiveMaximum) ||
        (s.multipleOf !== undefined && !Number.isInteger(value / s.multipleOf))) return expected();
    }
    if (Array.isArray(value)) {
      if ((s.minItems !== undefined && value.length < s.minItems) || (s.maxItems !== undefined && value.length > s.maxItems)) return expected();
      const out: SchemaIssue[] = [];
      value.forEach((item, i) => {
        const itemSchema = Array.isArray(s.items) ? s.items[i] : s.items;
        if (itemSchema) out.push(...this.validate(item, itemSchema, join(path, i)));
      });
      return out;
    }
    if (matchesType(value, 'object') && (s.properties || s.required || s.additionalProperties !== undefined)) {
      return this.validateObject(value as Record<string, unknown>, s, path);
    }
    return [];
  }

  private validateObject(value: Record<string, unknown>, s: JsonSchema, path: string): SchemaIssue[] {
    const out: SchemaIssue[] = [];
    const props = s.properties ?? {};
    for (const key of s.required ?? []) {
      if (value[key] === undefined) out.push({ path: join(path, key), message: `missing (expected ${props[key] ? this.describe(props[key]) : 'a value'})` });
    }
    for (const [key, v] of Object.entries(value)) {
      const p = props[key];
      if (p) {
        if (v !== undefined) out.push(...this.validate(v, p, join(path, key)));
      } else if (s.additionalProperties === false) {
        const valid = Object.keys(props);
        const close = closestKey(key, valid);
        out.push({
          path: join(path, key),
          message: `unknown key${close ? ` (did you mean '${join(path, close)}'?)` : ''} (valid keys at ${path || 'the top level'}: ${valid.join(', ')})`,
        });
      } else if (typeof s.additionalProperties === 'object') {
        out.push(...this.validate(v, s.additionalProperties, join(path, key)));
      }
    }
    return out;
  }

  /**
   * A union: valid if any branch is. Otherwise the issues of the branch the value evidently
   * meant (the one whose discriminating constants it carries, e.g. `byEpoch: false` or
   * `type: 'SGD'`), or one issue listing what was expected.
   */
  private validateAnyOf(value: unknown, s: JsonSchema, path: string): SchemaIssue[] {
    const branches = s.anyOf!.map((b) => this.deref(b));
    const results = branches.map((b) => this.validate(value, b, path));
    if (results.some((r) => r.length === 0)) return [];
    if (matchesType(value, 'object')) {
      const obj = value as Record<string, unknown>;
      const discriminators = (b: JsonSchema) => Object.entries(b.properties ?? {})
        .map(([k, p]) => [k, this.deref(p)] as const)
        .filter(([, p]) => p.const !== undefined || p.enum !== undefined);
      const objectBranches = branches.map((b, i) => ({ b, i })).filter(({ b }) => b.properties && discriminators(b).length > 0);
      if (objectBranches.length > 0) {
        const matching = objectBranches.filter(({ b }) => discriminators(b).every(([k, p]) => obj[k] === undefined || (p.const !== undefined ? obj[k] === p.const : p.enum!.includes(obj[k]))) &&
          discriminators(b).some(([k]) => obj[k] !== undefined));
        if (matching.length === 1) return results[matching[0].i];
        if (matching.length === 0) {
          // the discriminating key itself is wrong: say which values it may take
          const keys = [...new Set(objectBranches.flatMap(({ b }) => discriminators(b).map(([k]) => k)))];
          for (const k of keys) {
            const allowed = objectBranches.flatMap(({ b }) => {
              const p = discriminators(b).find(([key]) => key === k)?.[1];
              return p ? (p.const !== undefined ? [p.const] : p.enum!) : [];
            });
            if (!allowed.includes(obj[k])) {
              return [{ path: join(path, k), message: `${obj[k] === undefined ? 'missing' : `got ${show(obj[k])}`} (expected one of ${[...new Set(allowed)].map(show).join(', ')})` }];
            }
          }
        }
      }
    }
    // the one branch of the value's kind (e.g. the object of `{...} | null`)
    const family = (t: string) => (t === 'integer' ? 'number' : t);
    const kind = family(kindOf(value));
    const ofKind = branches.map((b, i) => ({ b, i })).filter(({ b }) => b.type !== undefined &&
      (Array.isArray(b.type) ? b.type : [b.type]).some((t) => family(t) === kind));
    if (ofKind.length === 1) return results[ofKind[0].i];
    return [{ path, message: `expected ${this.describe(s)}, got ${show(value)}` }];
  }

  /** What a schema accepts, in words: 'an integer >= 1', 'a string or null', "one of 'mse', 'mae'". */
  describe(schema: JsonSchema): string {
    const s = this.deref(schema);
    if (s.anyOf) {
      const consts = s.anyOf.map((b) => this.deref(b));
      if (consts.every((b) => b.const !== undefined || b.enum)) {
        return `one of ${consts.flatMap((b) => (b.const !== undefined ? [b.const] : b.enum!)).map(show).join(', ')}`;
      }
      return [...new Set(s.anyOf.map((b) => this.describe(b)))].join(' or ');
    }
    if (s.const !== undefined) return show(s.const);
    if (s.enum) return s.enum.length === 1 ? show(s.enum[0]) : `one of ${s.enum.map(show).join(', ')}`;
    const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
    if (types.length === 0) return 'a value';
    return types.map((t) => this.describeType(t, s)).join(' or ');
  }

  private describeType(t: JsonType, s: JsonSchema): string {
    switch (t) {
      case 'null': return 'null';
      case 'boolean': return 'a boolean (true or false)';
      case 'string': return 'a string';
      case 'object': return 'an object';
      case 'integer':
      case 'number': {
        const bounds = [
          s.minimum !== undefined ? `>= ${s.minimum}` : '', s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : '',
          s.maximum !== undefined ? `<= ${s.maximum}` : '', s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : '',
          s.multipleOf !== undefined ? `a multiple of ${s.multipleOf}` : '',
        ].filter(Boolean);
        return `${t === 'integer' ? 'an integer' : 'a finite number'}${bounds.length ? ` ${bounds.join(' and ')}` : ''}`;
      }
      case 'array': {
        const n = s.minItems !== undefined && s.minItems === s.maxItems ? `${s.minItems} ` : '';
        const of = Array.isArray(s.items) ? ` [${s.items.map((i) => this.describe(i)).join(', ')}]`
          : s.items ? ` of which each is ${this.describe(s.items)}` : '';
        const range = n === '' && (s.minItems !== undefined || s.maxItems !== undefined)
          ? ` of ${s.minItems ?? 0}..${s.maxItems ?? 'any'} elements` : '';
        return `an array${n ? ` of ${n}elements` : ''}${range}${of}`;
      }
    }
  }
}
