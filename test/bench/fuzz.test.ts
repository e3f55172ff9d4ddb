// The fuzz harness (bench/fuzz): a small seeded run as a regular test (no native crash, no hang),
// and checks of the harness itself (a crash in a child is caught, attributed to its case and
// the run goes on; runs are reproducible from the seed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caseRng, classifyError } from '../../bench/fuzz/common';
import { runFuzz, type FuzzOptions, type FuzzSummary } from '../../bench/fuzz/main';

const base: FuzzOptions = { seed: 1, calls: 300, files: 50, device: 'cpu', jobs: 1, caseTimeout: 15, memLimitGb: 16, only: [], chunk: 100000, quiet: true };

function findings(s: FuzzSummary): string {
  return s.crashes.map((c) => `${c.kind} ${c.family} #${c.case}: ${c.calls.slice(-1)[0] ?? ''} (${c.detail.slice(0, 80)}) — ${c.reproduce}`).join('\n');
}

// On main before issue 14's fixes this run has native crashes (SIGSEGV in ops.roiAlign on feature
// maps with a zero-size side, e.g. `vision` case 2: roiAlign(T[1,1,6,0], rois [4,5], {outputSize: 3,
// aligned: true})); larger runs also hang in roiAlign with an unbounded samplingRatio.
test('fuzz: 300 binding calls and 50 malformed files (seed 1) end without a native crash or a hang', async () => {
  const s = await runFuzz(base);
  assert.equal(s.calls, 300);
  assert.equal(s.files, 50);
  assert.equal(s.totals.crash + s.totals.hang, 0, `native crashes / hangs:\n${findings(s)}`);
  assert.equal(s.totals.cases, 350);
  assert.equal(s.totals.ok + s.totals.error + s.totals.unclear + s.totals.mismatch, 350);
});

test('fuzz harness: a crash in the child is recorded with its family and case, and the run goes on after it', async () => {
  const s = await runFuzz({ ...base, seed: 5, calls: 200, files: 0, only: ['runtime'], selfTestCrash: { family: 'runtime', case: 2 } });
  assert.equal(s.crashes.length, 1);
  const c = s.crashes[0];
  assert.equal(c.kind, 'crash');
  assert.equal(c.family, 'runtime');
  assert.equal(c.case, 2);
  assert.match(c.detail, /SIGSEGV/);
  assert.match(c.reproduce, /--seed 5 --only runtime --case 2\b/);
  assert.equal(s.families.runtime.cases, 6, 'the cases after the crash still ran');
  assert.equal(s.families.runtime.crash, 1);
});

test('fuzz harness: a case is reproducible from the seed, the family and its index', async () => {
  const draw = (seed: number, fam: string, k: number): number[] => {
    const r = caseRng(seed, fam, k);
    return [r.next(), r.next(), r.next()];
  };
  assert.deepEqual(draw(3, 'nn', 17), draw(3, 'nn', 17));
  assert.notDeepEqual(draw(3, 'nn', 17), draw(3, 'nn', 18));
  assert.notDeepEqual(draw(3, 'nn', 17), draw(4, 'nn', 17));
  assert.notDeepEqual(draw(3, 'nn', 17), draw(3, 'shape', 17));
  const opts = { ...base, seed: 9, calls: 100, files: 24, only: ['creation', 'config'] };
  const a = await runFuzz(opts);
  const b = await runFuzz(opts);
  assert.deepEqual(a.families, b.families);
  assert.deepEqual(a.errorClasses, b.errorClasses);
  // one case alone gives the same outcome as within the run
  const one = await runFuzz({ ...opts, only: ['creation'], caseIndex: 5 });
  assert.equal(one.totals.cases, 1);
});

test('fuzz harness: JavaScript-internal errors and errors that name nothing count as unclear', () => {
  assert.equal(classifyError(new TypeError("Cannot read properties of undefined (reading '_h')")).outcome, 'unclear');
  assert.equal(classifyError(new Error('')).outcome, 'unclear');
  assert.equal(classifyError('boom').outcome, 'unclear');
  assert.equal(classifyError(new Error('A boolean was expected')).outcome, 'unclear');
  assert.equal(classifyError(new Error('x.json: annotation 3: bbox must be [x, y, w, h]'), ['x.json']).outcome, 'error');
  assert.equal(classifyError(new Error('something failed'), ['x.json', 'bbox']).outcome, 'unclear');
  assert.equal(classifyError(new RangeError('roiAlign: samplingRatio must be an integer in [-1, 64], got NaN')).outcome, 'error');
});
