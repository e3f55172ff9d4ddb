/** Errors for malformed COCO input: each names the file and the offending record. */
import * as fs from 'node:fs';
import { stripBom } from '../../data/datasets/coco-format';

/** A COCO file or record that cannot be evaluated; the message names the file and record. */
export class CocoFormatError extends Error {
  override name = 'CocoFormatError';
}

/** Reads and parses a JSON file; unreadable or invalid JSON becomes a CocoFormatError naming the file. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CocoFormatError(`${file}: cannot read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(stripBom(text));
  } catch (err) {
    throw new CocoFormatError(`${file}: invalid JSON: ${(err as Error).message}`);
  }
}

/** True for a finite number. */
export function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** True for an array of finite numbers (of length `n` when given). */
export function isNumberArray(x: unknown, n?: number): x is number[] {
  if (!Array.isArray(x) || (n !== undefined && x.length !== n)) return false;
  for (const v of x) if (!isFiniteNumber(v)) return false;
  return true;
}

/** Short JSON of a bad value for an error message. */
export function show(x: unknown): string {
  // Non-finite numbers would print as null; show them as they are.
  const s = typeof x === 'number' ? String(x) : JSON.stringify(x, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
  if (s === undefined) return String(x);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
