/** Which metrics the console's validation line shows (src/engine/logger.ts summaryMetrics). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { summaryMetrics } from '../../src/engine/logger';

describe('summaryMetrics', () => {
  it('hides per-class details and keeps MMPose names with a dot', () => {
    const shown = summaryMetrics({
      mIoU: 81.7, aAcc: 98.5, 'IoU.road': 97, 'IoU.traffic light': 40, 'Acc.sky': 99,
      'coco/AP': 0.61, 'coco/AP .5': 0.9, 'coco/AP .75': 0.7, 'coco/AR (M)': 0.5, 'bbox_mAP_50': 0.8,
    }).map(([k]) => k);
    assert.deepEqual(shown, ['mIoU', 'aAcc', 'coco/AP', 'coco/AP .5', 'coco/AP .75', 'coco/AR (M)', 'bbox_mAP_50']);
  });
});
