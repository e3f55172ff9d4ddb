// COCO mask utilities on masks and polygons small enough to check by hand
// (numbers also agree with pycocotools' mask API).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bboxIou, decodeMask, encodeMask, mergeRles, pairwiseSum, rleArea, rleFromJson, rleFromPolygon, rleFromPolygons,
  rleFromString, rleIou, rleToBbox, rleToJson, rleToString, type Rle,
} from '../../src/evaluation';

/** A column-major mask from rows of '0'/'1' (as drawn: row y, column x). */
function maskFromRows(rows: string[]): { mask: Uint8Array; h: number; w: number } {
  const h = rows.length, w = rows[0].length;
  const mask = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mask[x * h + y] = rows[y][x] === '1' ? 1 : 0;
  return { mask, h, w };
}

const poly = (pts: number[], h = 10, w = 10): Rle => rleFromPolygons([pts], h, w);

test('encode/decode: column-major runs starting with zeros', () => {
  const { mask, h, w } = maskFromRows(['0101', '0100', '0001']);
  const rle = encodeMask(mask, h, w);
  // columns top to bottom: 000 110 000 101
  assert.deepEqual([...rle.counts], [3, 2, 4, 1, 1, 1]);
  assert.deepEqual(decodeMask(rle), mask);
  assert.equal(rleArea(rle), 4);
  assert.deepEqual(rleToBbox(rle), [1, 0, 3, 3]);
  assert.equal(rleToString(rle), '324OM0');
});

test('empty and full masks; a mask touching the borders', () => {
  const empty = encodeMask(new Uint8Array(35), 5, 7);
  assert.deepEqual([...empty.counts], [35]);
  assert.equal(rleArea(empty), 0);
  assert.deepEqual(rleToBbox(empty), [0, 0, 0, 0]);
  assert.equal(rleToString(empty), 'S1');
  const full = encodeMask(new Uint8Array(35).fill(1), 5, 7);
  assert.deepEqual([...full.counts], [0, 35]);
  assert.deepEqual(rleToBbox(full), [0, 0, 7, 5]);
  assert.equal(rleToString(full), '0S1');
  // A run that wraps from one column into the next spans the full height.
  const { mask, h, w } = maskFromRows(['001', '000', '010', '011']);
  const rle = encodeMask(mask, h, w);
  assert.deepEqual(rleToBbox(rle), [1, 0, 2, 4]);
  assert.equal(rleArea(rle), 4);
  // Bottom-right corner pixel only.
  const corner = encodeMask(maskFromRows(['000', '001']).mask, 2, 3);
  assert.deepEqual([...corner.counts], [5, 1]);
  assert.deepEqual(rleToBbox(corner), [2, 1, 1, 1]);
});

test('compressed counts strings round-trip, including large runs and negative differences', () => {
  const { mask } = (() => {
    const h = 300, w = 200;
    const m = new Uint8Array(h * w);
    for (let x = 50; x < 60; x++) for (let y = 100; y < 250; y++) m[x * h + y] = 1;
    for (let y = 0; y < h; y++) m[150 * h + y] = 1;
    return { mask: m };
  })();
  const rle = encodeMask(mask, 300, 200);
  const s = rleToString(rle);
  assert.equal(s, 'lg>f4f400000000000000000dXj0f4RnC'); // pycocotools' string
  assert.deepEqual([...rleFromString(s, 300, 200).counts], [...rle.counts]);
  assert.equal(rleArea(rle), 1800);
  assert.deepEqual(rleToBbox(rle), [50, 0, 101, 300]);
  const json = rleToJson(rle);
  assert.deepEqual(json.size, [300, 200]);
  assert.deepEqual(rleFromJson({ size: [300, 200], counts: [...rle.counts] }).counts, rle.counts);
});

test('polygons rasterize as the reference does', () => {
  // A square on pixel boundaries covers the pixels whose centres lie inside: x, y in 2..5.
  const sq = poly([2, 2, 6, 2, 6, 6, 2, 6]);
  assert.equal(rleArea(sq), 16);
  assert.deepEqual(rleToBbox(sq), [2, 2, 4, 4]);
  assert.equal(rleToString(sq), 'f04600000V1');
  const m = decodeMask(sq);
  assert.equal(m[2 * 10 + 2], 1);
  assert.equal(m[5 * 10 + 5], 1);
  assert.equal(m[6 * 10 + 2], 0);
  // Right triangle with legs of 8: pixels with x + y <= 6, i.e. 7 * 8 / 2.
  assert.equal(rleArea(poly([0, 0, 8, 0, 0, 8])), 28);
  // Touching or beyond the image border: clipped to the image.
  assert.equal(rleArea(poly([0, 0, 10, 0, 10, 10, 0, 10])), 100);
  assert.equal(rleArea(poly([-5, -5, 15, -5, 15, 15, -5, 15])), 100);
  assert.deepEqual(rleToBbox(poly([-5, -5, 15, -5, 15, 15, -5, 15])), [0, 0, 10, 10]);
});

test('multiple polygons are a union: an inner polygon makes no hole, disjoint ones add up', () => {
  const outer = [1, 1, 9, 1, 9, 9, 1, 9];
  const inner = [3, 3, 7, 3, 7, 7, 3, 7];
  assert.equal(rleArea(rleFromPolygons([outer], 10, 10)), 64);
  assert.equal(rleArea(rleFromPolygons([outer, inner], 10, 10)), 64);
  const two = rleFromPolygons([[0, 0, 3, 0, 3, 3, 0, 3], [6, 6, 10, 6, 10, 10, 6, 10]], 10, 10);
  assert.equal(rleArea(two), 9 + 16);
  assert.deepEqual(rleToBbox(two), [0, 0, 10, 10]);
  assert.equal(rleToString(two), '037000T11kN00000');
  // A hole needs an RLE: outer minus inner, built by decoding and re-encoding.
  const ring = decodeMask(rleFromPolygons([outer], 10, 10));
  const hole = decodeMask(rleFromPolygon(inner, 10, 10));
  for (let i = 0; i < ring.length; i++) if (hole[i]) ring[i] = 0;
  assert.equal(rleArea(encodeMask(ring, 10, 10)), 64 - 16);
  assert.throws(() => rleFromPolygons([[1, 1, 2, 2]], 10, 10), /at least 3 points/);
});

test('merge: union and intersection', () => {
  const a = poly([0, 0, 6, 0, 6, 6, 0, 6]);
  const b = poly([3, 3, 9, 3, 9, 9, 3, 9]);
  const inter = mergeRles([a, b], true);
  assert.equal(rleArea(inter), 9);
  assert.deepEqual(rleToBbox(inter), [3, 3, 3, 3]);
  const union = mergeRles([a, b]);
  assert.equal(rleArea(union), 63);
  assert.deepEqual(rleToBbox(union), [0, 0, 9, 9]);
  assert.equal(rleToString(union), '06400003M0003M00007');
});

test('IoU of masks and boxes, with crowd flags', () => {
  const a = poly([0, 0, 6, 0, 6, 6, 0, 6]);
  const b = poly([3, 3, 9, 3, 9, 9, 3, 9]);
  assert.deepEqual([...rleIou([a], [b, b], [0, 1])], [9 / 63, 9 / 36]);
  const empty = encodeMask(new Uint8Array(100), 10, 10);
  assert.deepEqual([...rleIou([empty], [a], [0])], [0]);
  const other = encodeMask(new Uint8Array(20).fill(1), 4, 5);
  assert.deepEqual([...rleIou([other], [a], [0])], [-1]); // sizes differ
  // [0,0,4,4] vs [2,2,4,4]: intersection 4, union 28; crowd: 4 / 16.
  assert.deepEqual([...bboxIou([0, 0, 4, 4], [2, 2, 4, 4, 10, 10, 1, 1], [0, 1])], [4 / 28, 0]);
  assert.deepEqual([...bboxIou([0, 0, 4, 4], [2, 2, 4, 4], [1])], [0.25]);
  // Two detections against one gt: row d, column g.
  assert.deepEqual([...bboxIou([0, 0, 2, 2, 0, 0, 4, 4], [0, 0, 4, 4])], [0.25, 1]);
});

test('pairwiseSum adds as numpy does (chunks of 8192, pairwise inside), not left to right', () => {
  const a = Array.from({ length: 20000 }, (_, i) => ((i * 7919) % 10007) / 10007);
  // np.sum(a[:n]) with numpy 1.26
  assert.equal(pairwiseSum(a, 0, 10), 4.610572599180573);
  assert.equal(pairwiseSum(a, 0, 100), 50.16298590986308);
  assert.equal(pairwiseSum(a, 0, 1000), 500.355850904367);
  assert.equal(pairwiseSum(a), 9999.091336064754);
  let naive = 0;
  for (let i = 0; i < 100; i++) naive += a[i];
  assert.notEqual(naive, pairwiseSum(a, 0, 100));
});
