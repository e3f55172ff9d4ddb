/**
 * The fuzz harness's families: binding-call families (binding.ts) and file families (files.ts),
 * and how a run's --calls / --files are shared among them.
 */
import { CALL_FAMILIES, CALL_WEIGHTS } from './binding';
import { FILE_FAMILIES } from './files';

export type FamilyKind = 'call' | 'file';

export interface Family {
  name: string;
  kind: FamilyKind;
  /** Cases of this family in a run of `calls` calls and `files` files. */
  count(calls: number, files: number): number;
}

function share(total: number, weights: Record<string, number>, name: string): number {
  const names = Object.keys(weights);
  const sum = names.reduce((s, n) => s + weights[n], 0);
  // largest-remainder split, so the shares add up to `total` exactly
  const exact = names.map((n) => (total * weights[n]) / sum);
  const base = exact.map(Math.floor);
  let left = total - base.reduce((s, v) => s + v, 0);
  const order = exact.map((e, i) => [e - base[i], i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) if (left-- > 0) base[i]++;
  return base[names.indexOf(name)];
}

const FILE_WEIGHTS = Object.fromEntries(Object.keys(FILE_FAMILIES).map((n) => [n, 1]));

export const FAMILIES: Family[] = [
  ...Object.keys(CALL_FAMILIES).map((name) => ({ name, kind: 'call' as const, count: (calls: number) => share(calls, CALL_WEIGHTS, name) })),
  ...Object.keys(FILE_FAMILIES).map((name) => ({ name, kind: 'file' as const, count: (_: number, files: number) => share(files, FILE_WEIGHTS, name) })),
];

export function family(name: string): Family {
  const f = FAMILIES.find((x) => x.name === name);
  if (!f) throw new Error(`fuzz: unknown family '${name}' (families: ${FAMILIES.map((x) => x.name).join(', ')})`);
  return f;
}
