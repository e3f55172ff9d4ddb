/**
 * PhotoMetricDistortion's 'mmseg' flavour against MMSegmentation 1.2 itself and OpenCV 4.8
 * (test/fixtures/mmseg-photometric/, written by scripts/reference/mmseg_photometric_fixtures.py):
 *  - bgrToHsv8 / hsv8ToBgr equal cv2.cvtColor's 8-bit BGR2HSV / HSV2BGR on every recorded colour (the greys,
 *    primaries, edge cases and 20 000 random ones each way);
 *  - on 12 images, the transform fed mmseg's recorded random draws (in mmseg's order, each checked against the
 *    call our code makes) gives mmseg's output image byte for byte, in RGB and in BGR pixel order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Rng } from '../../src/data/rng';
import { PhotoMetricDistortion } from '../../src/data/transforms';
import { bgrToHsv8, hsv8ToBgr } from '../../src/data/transforms/photometric';
import { repoRoot } from '../helpers/paths';
import { rawSample } from './helpers';

const DIR = path.join(repoRoot, 'test/fixtures/mmseg-photometric');
interface Draw { fn: 'randint' | 'uniform'; args: number[]; value: number }
const man = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as {
  n_hsv: number; n_colors: number; cases: { seed: number; height: number; width: number; draws: Draw[] }[];
};

/** How many bytes differ, and the first one. */
function diff(a: Uint8Array, b: Uint8Array): { count: number; first: number } {
  let count = 0, first = -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) { count++; if (first < 0) first = i; }
  return { count, first };
}

test('bgrToHsv8 and hsv8ToBgr equal OpenCV 4.8\'s 8-bit cvtColor', () => {
  const buf = new Uint8Array(fs.readFileSync(path.join(DIR, 'hsv.bin')));
  const n = man.n_hsv, m = man.n_colors;
  assert.equal(buf.length, 6 * n + 6 * m);
  const bgr = buf.slice(0, 3 * n), hsv = buf.slice(3 * n, 6 * n);
  const hsvIn = buf.slice(6 * n, 6 * n + 3 * m), bgrOut = buf.slice(6 * n + 3 * m);

  const ours = bgr.slice();
  bgrToHsv8(ours, false);
  let d = diff(ours, hsv);
  assert.equal(d.count, 0, `BGR2HSV: ${d.count} of ${3 * n} values differ, first at colour ${Math.floor(d.first / 3)}`);
  const back = hsvIn.slice();
  hsv8ToBgr(back, false, m);
  d = diff(back, bgrOut);
  assert.equal(d.count, 0, `HSV2BGR: ${d.count} of ${3 * m} values differ, first at triple ${Math.floor(d.first / 3)}`);
  // RGB pixel order: the same conversion with the channels read and written the other way round
  const rgb = Uint8Array.from(bgr, (_, i) => bgr[i - (i % 3) + 2 - (i % 3)]);
  bgrToHsv8(rgb, true);
  assert.equal(diff(rgb, hsv).count, 0);
});

/** An Rng that replays mmseg's draws, checking each call against the one mmseg made. */
function replay(draws: Draw[], what: string): { rng: Rng; done: () => void } {
  let i = 0;
  const next = (fn: Draw['fn'], args: number[]): number => {
    const d = draws[i++];
    assert.ok(d, `${what}: draw ${i - 1} (${fn}(${args.join(', ')})) beyond mmseg's ${draws.length}`);
    assert.deepEqual({ fn: d.fn, args: d.args }, { fn, args }, `${what}: draw ${i - 1}`);
    return d.value;
  };
  const rng = {
    chance: (p: number) => { assert.equal(p, 0.5); return next('randint', [2]) === 1; },
    uniform: (lo: number, hi: number) => next('uniform', [lo, hi]),
    // ours is inclusive of hi, numpy's randint exclusive
    int: (lo: number, hi: number) => next('randint', [lo, hi + 1]),
  } as unknown as Rng;
  return { rng, done: () => assert.equal(i, draws.length, `${what}: used ${i} of mmseg's ${draws.length} draws`) };
}

test('PhotoMetricDistortion (flavor mmseg) fed mmseg\'s draws gives mmseg\'s images byte for byte', async () => {
  const buf = new Uint8Array(fs.readFileSync(path.join(DIR, 'cases.bin')));
  let at = 0;
  const t = new PhotoMetricDistortion({ flavor: 'mmseg' });
  for (const c of man.cases) {
    const len = c.height * c.width * 3;
    const input = buf.slice(at, at + len), expected = buf.slice(at + len, at + 2 * len);
    at += 2 * len;
    assert.notDeepEqual(input, expected, `case ${c.seed}: mmseg changed the image`);
    for (const order of ['bgr', 'rgb'] as const) {
      const data = order === 'bgr' ? input.slice() : Uint8Array.from(input, (_, i) => input[i - (i % 3) + 2 - (i % 3)]);
      const s = rawSample(data, c.width, c.height);
      s.img.order = order;
      const { rng, done } = replay(c.draws, `case ${c.seed} (${order})`);
      await t.apply(s, rng);
      done();
      const got = order === 'bgr' ? s.img.data as Uint8Array : Uint8Array.from(s.img.data as Uint8Array, (_, i) => (s.img.data as Uint8Array)[i - (i % 3) + 2 - (i % 3)]);
      const d = diff(got, expected);
      assert.equal(d.count, 0, `case ${c.seed} (${order}): ${d.count} of ${len} values differ from mmseg's, first at ${d.first}`);
    }
  }
  assert.equal(at, buf.length);
});

test('PhotoMetricDistortion (flavor mmseg) wants an even hueDelta (whole OpenCV hue steps)', () => {
  assert.throws(() => new PhotoMetricDistortion({ flavor: 'mmseg', hueDelta: 35 }), /hueDelta.*even/);
});
