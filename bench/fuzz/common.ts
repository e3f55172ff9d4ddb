/**
 * Fuzz harness, shared pieces: a seeded PRNG (one independent stream per family and case,
 * so any case can be re-run alone from `--seed N --only FAMILY --case K`), value generators
 * and the classification of a thrown value as a clear or an unclear error.
 */

/** mulberry32 over a 32-bit state. */
export class Rng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
}

/** FNV-1a of a string, for mixing the family name into the seed. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The generator of case `k` of `family` under run seed `seed` (independent of the other cases). */
export function caseRng(seed: number, family: string, k: number): Rng {
  let h = hashString(family) ^ Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return new Rng(h);
}

export const DTYPES = ['uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64', 'bool', 'bfloat16'] as const;
export const FLOAT_DTYPES = ['float32', 'float64'] as const;

/** Numbers that fail fast when used as a size: the allocation (≥ 2^40 elements) or the int64 conversion fails. */
export const HUGE = [2 ** 40, 1e12 + 1, 2 ** 53, 2 ** 62, 2 ** 63, 1e300, Number.MAX_SAFE_INTEGER] as const;
/** Odd numbers for scalar and size arguments. */
export const ODD_NUMBERS = [NaN, Infinity, -Infinity, -1, -0, 0.5, -(2 ** 31), 2 ** 31, 2 ** 32, 1e300, -1e300, Number.MIN_VALUE] as const;
/** Values of the wrong kind where a tensor, a number or an options object is expected. */
export const WRONG_KINDS: readonly unknown[] = [undefined, null, 'x', '3', {}, [], [1, 2], { _h: 1 }, { _h: -1 }, { _h: 2 ** 40 }, true, () => 1, Symbol('s'), 10n, new Float32Array(2)];

/** A small dimension, sometimes 0. */
export function smallDim(r: Rng): number {
  return r.bool(0.12) ? 0 : r.int(1, 6);
}

/** A shape of rank `rank` (random 0..4 when omitted), sometimes zero-size, rarely huge. */
export function shape(r: Rng, rank = r.int(0, 4), hugeP = 0.03): number[] {
  const s: number[] = [];
  for (let i = 0; i < rank; i++) s.push(r.bool(hugeP) ? r.pick(HUGE) : smallDim(r));
  return s;
}

/** A size argument: usually fine, sometimes negative / NaN / huge / fractional / not a number. */
export function sizeArg(r: Rng, lo = 1, hi = 6): unknown {
  const u = r.next();
  if (u < 0.8) return r.int(lo, hi);
  if (u < 0.85) return 0;
  if (u < 0.9) return r.pick(HUGE);
  if (u < 0.97) return r.pick(ODD_NUMBERS);
  return r.pick(WRONG_KINDS);
}

/** A scalar argument: usually finite, sometimes NaN / ±inf / huge / a boolean / a wrong kind. */
export function scalar(r: Rng): unknown {
  const u = r.next();
  if (u < 0.7) return Math.round((r.next() * 10 - 5) * 100) / 100;
  if (u < 0.9) return r.pick(ODD_NUMBERS);
  if (u < 0.95) return r.bool();
  return r.pick(WRONG_KINDS);
}

/** A dimension index for a tensor of rank `rank`: usually in range, sometimes out of it or odd. */
export function dimArg(r: Rng, rank: number): unknown {
  const u = r.next();
  if (u < 0.8) return rank === 0 ? r.pick([0, -1]) : r.int(-rank, rank - 1);
  if (u < 0.9) return r.pick([rank, -rank - 1, 64, -64]);
  return r.bool() ? r.pick(ODD_NUMBERS) : r.pick(WRONG_KINDS);
}

/** How a case ended. */
/** mismatch: two readers of the same file disagree (one accepts it, the other rejects it). */
export type Outcome = 'ok' | 'error' | 'unclear' | 'mismatch';

const UNCLEAR_PATTERNS = [
  /Cannot read propert/i, /Cannot set propert/i, /is not a function/, /is not iterable/, /is not defined/, /undefined is not (a function|iterable|an object)/, /null is not (a function|iterable|an object)/,
  /Cannot convert undefined/, /Cannot convert a Symbol/, /Cannot convert a BigInt/, /Cannot mix BigInt/,
  /Maximum call stack/, /^An? \w+ was expected$/, /Invalid array length/, /Invalid typed array length/, /^\[object /,
];

/**
 * A thrown value is a clear error when it is an Error with a non-empty message that is not one
 * of JavaScript's internal complaints (reading a property of undefined ...), and, when `mustName`
 * is given, mentions at least one of those words (a file name, a key, an argument).
 */
export function classifyError(err: unknown, mustName?: readonly string[]): { outcome: Outcome; message: string; reason?: string } {
  if (!(err instanceof Error)) return { outcome: 'unclear', message: String(err), reason: 'not an Error' };
  const message = `${err.name}: ${err.message}`;
  if (!err.message.trim()) return { outcome: 'unclear', message, reason: 'empty message' };
  const pat = UNCLEAR_PATTERNS.find((p) => p.test(err.message));
  if (pat) return { outcome: 'unclear', message, reason: `internal message (${pat.source})` };
  if (mustName && mustName.length && !mustName.some((w) => w && err.message.includes(w))) {
    return { outcome: 'unclear', message, reason: `names none of ${mustName.map((w) => JSON.stringify(w)).join(', ')}` };
  }
  return { outcome: 'error', message };
}

/** A short, single-line, bounded description of an error message, used to group classes of failures. */
export function errorClass(message: string): string {
  return message
    .split('\n')[0]
    .replace(/\/[^\s:'"]+/g, '<path>')
    .replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi, 'N')
    .slice(0, 160);
}

/** A one-line, bounded rendering of an argument for case descriptions. */
export function show(x: unknown): string {
  if (typeof x === 'bigint') return `${x}n`;
  if (typeof x === 'symbol' || typeof x === 'function') return String(x);
  if (typeof x === 'number') return Object.is(x, -0) ? '-0' : String(x);
  try {
    const s = JSON.stringify(x);
    return (s ?? String(x)).slice(0, 120);
  } catch {
    // JSON.stringify refuses BigInts; String() refuses symbols inside arrays: format item by item
    if (Array.isArray(x)) return `[${x.map(show).join(',')}]`.slice(0, 120);
    return Object.prototype.toString.call(x);
  }
}
