// Semantic-segmentation metrics on label maps small enough to count by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SegMetricAccumulator } from '../../src/evaluation';

test('per-class IoU/Acc, mIoU, mAcc, aAcc, Dice and F-score with an ignored pixel', () => {
  const acc = new SegMetricAccumulator({ numClasses: 3 });
  // label: 0 0 1 1 2 255 ; pred: 0 1 1 1 0 2
  acc.add(Uint8Array.from([0, 1, 1, 1, 0, 2]), Uint8Array.from([0, 0, 1, 1, 2, 255]));
  // class 0: I=1, pred=2, label=2, U=3 ; class 1: I=2, pred=3, label=2, U=3 ; class 2: I=0, pred=0, label=1, U=1
  assert.deepEqual([...acc.areaIntersect], [1, 2, 0]);
  assert.deepEqual([...acc.areaUnion], [3, 3, 1]);
  const m = acc.compute();
  assert.deepEqual([...m.IoU], [1 / 3, 2 / 3, 0]);
  assert.deepEqual([...m.Acc], [1 / 2, 1, 0]);
  assert.equal(m.mIoU, (1 / 3 + 2 / 3 + 0) / 3);
  assert.equal(m.mAcc, (1 / 2 + 1 + 0) / 3);
  assert.equal(m.aAcc, 3 / 5);
  assert.deepEqual([...m.Dice], [2 / 4, 4 / 5, 0]);
  assert.ok(Number.isNaN(m.Precision[2]) && Number.isNaN(m.Fscore[2]));
  assert.ok(Math.abs(m.Fscore[1] - (2 * (2 / 3) * 1) / (2 / 3 + 1)) < 1e-15);
  assert.equal(m.mFscore, (m.Fscore[0] + m.Fscore[1]) / 2); // nanmean skips class 2
});

test('accumulates image by image; classes absent everywhere are NaN and skipped', () => {
  const acc = new SegMetricAccumulator({ numClasses: 4, ignoreIndex: 9 });
  acc.add([0, 0, 1], [0, 0, 1]);
  acc.add([1, 0, 9], [1, 1, 9]); // the last pixel is ignored (label 9)
  // class 0: I=2, pred=3, label=2 ; class 1: I=2, pred=2, label=3 ; classes 2, 3: nothing
  const m = acc.compute();
  assert.deepEqual([...m.IoU.subarray(0, 2)], [2 / 3, 2 / 3]);
  assert.ok(Number.isNaN(m.IoU[2]) && Number.isNaN(m.IoU[3]));
  assert.equal(m.mIoU, 2 / 3);
  assert.equal(m.aAcc, 4 / 5);
  assert.equal(acc.count, 2);
  acc.reset();
  assert.equal(acc.count, 0);
  assert.deepEqual([...acc.areaLabel], [0, 0, 0, 0]);
});

test('reduceZeroLabel maps 0 to ignore and shifts the other labels; out-of-range predictions count nowhere', () => {
  const acc = new SegMetricAccumulator({ numClasses: 2, reduceZeroLabel: true });
  // labels 0 (ignored), 1 -> 0, 2 -> 1, 255 (ignored); prediction 7 is outside [0, 2)
  acc.add([0, 0, 7, 1], [0, 1, 2, 255]);
  assert.deepEqual([...acc.areaLabel], [1, 1]);
  assert.deepEqual([...acc.areaPred], [1, 0]);
  assert.deepEqual([...acc.areaIntersect], [1, 0]);
  assert.equal(acc.compute().aAcc, 1 / 2);
  assert.throws(() => acc.add([0], [0, 1]), /1 pixels, label has 2/);
});
