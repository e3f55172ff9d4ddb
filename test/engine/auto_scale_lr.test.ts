/** MMEngine's auto_scale_lr: lr × (world size × batch) / base_batch_size, only when enabled. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scaleLr } from '../../src/engine/runner';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import { config as faster } from '../../configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco';

const loaded = { name: 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco', task: detectionTask };

test('detection configs: lr 0.02 for base batch 16, auto_scale_lr off as MMDetection', () => {
  assert.equal(faster.optimWrapper.optimizer.lr, 0.02);
  assert.deepEqual(faster.autoScaleLr, { enable: false, baseBatchSize: 16 });
  assert.equal(scaleLr(faster, loaded, true), faster, 'disabled: the config as it is');
});

test('enabled: 2 images per batch on one process → lr 0.02 × 2 / 16 = 0.0025; warmup untouched', () => {
  const cfg: DetectionConfig = { ...faster, autoScaleLr: { enable: true, baseBatchSize: 16 } };
  const out = scaleLr(cfg, loaded, true);
  assert.equal(out.optimWrapper.optimizer.lr, 0.0025);
  assert.deepEqual(out.paramScheduler, cfg.paramScheduler);
  assert.equal(cfg.optimWrapper.optimizer.lr, 0.02, 'the input config is not mutated');
  const big = scaleLr({ ...cfg, data: { ...cfg.data, batchSize: 8 } }, loaded, true);
  assert.equal(big.optimWrapper.optimizer.lr, 0.01);
  assert.throws(() => scaleLr({ ...cfg, autoScaleLr: { enable: true, baseBatchSize: 0 } }, loaded, true), /autoScaleLr.baseBatchSize: expected a positive number, got 0/);
  assert.throws(() => scaleLr(cfg, { name: 'x', task: { ...detectionTask, trainBatchSize: undefined } }, true), /does not say its batch size/);
});

test('distributed: the batch is per process, so 8 processes × 2 images → the config\'s lr 0.02 (MMDetection\'s 8 GPUs × 2)', () => {
  const cfg: DetectionConfig = { ...faster, autoScaleLr: { enable: true, baseBatchSize: 16 } };
  assert.equal(scaleLr(cfg, loaded, true, 8).optimWrapper.optimizer.lr, 0.02);
  assert.equal(scaleLr(cfg, loaded, true, 4).optimWrapper.optimizer.lr, 0.01);
  // without a process group the world size is 1
  assert.equal(scaleLr(cfg, loaded, true).optimWrapper.optimizer.lr, 0.0025);
});
