/**
 * Semantic segmentation end to end through the CLI on the synthetic shapes-seg config: train a
 * few iterations (dataset generated on first use), then test (metrics.json and the per-class
 * table), infer --out (a single-channel label PNG at the input's size), demo (palette overlay),
 * benchmark --json; detection-only options are refused for segmentation configs and vice versa.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { readLabelPng } from '../../src/data/png';
import { repoRoot } from '../helpers/paths';

const bin = path.join(repoRoot, 'bin', 'tsvision');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, TSVISION_NUM_THREADS: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('shapes-seg: train → test → infer → demo → benchmark', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-segcli-'));
  try {
    const data = path.join(dir, 'data');
    const work = path.join(dir, 'work');
    const small = [
      `data.generate.dir=${JSON.stringify(data)}`, 'data.generate.images=10', `data.train.dataRoot=${JSON.stringify(data)}`, `data.val.dataRoot=${JSON.stringify(data)}`,
      'data.workers=0', 'data.batchSize=2',
      // 128-px crops of ~160-px images keep this under a minute with the real FCN-R18-D8 too
      'data.generate.shapes.minSize=128', 'data.generate.shapes.maxSize=160', 'data.generate.shapes.objectSize=[16,80]',
      'data.trainPipeline.0.scale=[160,160]', 'data.trainPipeline.1.cropSize=[128,128]', 'data.testPipeline.0.scales=[[160,160]]',
      'model.dataPreprocessor.size=[128,128]',
    ];
    const t = cli('train', 'fcn/fcn_r18-d8_shapes-seg', '--work-dir', work, '--cfg-options', ...small,
      'train.maxIters=3', 'train.valInterval=3', 'hooks.logger.interval=1', 'hooks.checkpoint.interval=3', 'paramScheduler.0.end=3');
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /Iter\(train\) \[3\/3\].*loss: /);
    assert.match(t.stdout, /Iter\(val\) \[3\]  aAcc: [\d.]+  mIoU: [\d.]+  mAcc: [\d.]+/);
    assert.ok(fs.existsSync(path.join(data, 'classes.json')), 'the dataset was generated');
    const ckpt = path.join(work, 'iter_3.safetensors');
    assert.ok(fs.existsSync(ckpt), fs.readdirSync(work).join(', '));

    const testWork = path.join(dir, 'test');
    const r = cli('test', 'fcn/fcn_r18-d8_shapes-seg', ckpt, '--work-dir', testWork, '--cfg-options', ...small);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Class +IoU +Acc$/m);
    for (const c of ['background', 'circle', 'rectangle', 'triangle', 'star']) assert.match(r.stdout, new RegExp(`^${c} +(\\d+\\.\\d\\d|nan) +(\\d+\\.\\d\\d|nan)$`, 'm'));
    assert.match(r.stdout, /^aAcc \d+\.\d\d  mIoU \d+\.\d\d  mAcc \d+\.\d\d$/m);
    const [run] = fs.readdirSync(testWork).filter((n) => /^\d{8}_\d{6}/.test(n));
    const metrics = JSON.parse(fs.readFileSync(path.join(testWork, run, 'metrics.json'), 'utf8'));
    for (const k of ['aAcc', 'mIoU', 'mAcc', 'IoU.background', 'IoU.star', 'Acc.circle']) assert.ok(k in metrics, `${k} in ${Object.keys(metrics)}`);
    assert.ok(metrics.aAcc >= 0 && metrics.aAcc <= 1 && metrics.mIoU >= 0 && metrics.mIoU <= 1);

    const img = path.join(data, 'img_dir', 'val', '000001.jpg');
    const { width, height } = await sharp(img).metadata();
    const out = path.join(dir, 'pred.png');
    const inf = cli('infer', 'fcn/fcn_r18-d8_shapes-seg', '--checkpoint', ckpt, '--image', img, '--out', out, '--json', '--cfg-options', ...small);
    assert.equal(inf.status, 0, inf.stderr);
    const summary = JSON.parse(inf.stdout);
    assert.deepEqual([summary.out, summary.width, summary.height], [out, width, height]);
    const pm = await sharp(out).metadata();
    assert.deepEqual([pm.format, pm.width, pm.height, pm.channels, pm.depth], ['png', width, height, 1, 'uchar']);
    const pred = readLabelPng(fs.readFileSync(out), out)!;
    assert.deepEqual([pred.width, pred.height], [width, height]);
    assert.ok(pred.data.every((v) => v < 5), 'class indices of the 5 classes');
    assert.equal(Object.values(summary.pixels as Record<string, number>).reduce((a, b) => a + b, 0), width! * height!);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp')), []);

    const missingOut = cli('infer', 'fcn/fcn_r18-d8_shapes-seg', '--checkpoint', ckpt, '--image', img, '--cfg-options', ...small);
    assert.equal(missingOut.status, 2);
    assert.match(missingOut.stderr, /infer: --out PRED.png is required for a semantic-segmentation config/);

    const demo = path.join(dir, 'demo.png');
    const d = cli('demo', img, 'fcn/fcn_r18-d8_shapes-seg', ckpt, '--out', demo);
    assert.equal(d.status, 0, d.stderr);
    const dm = await sharp(demo).metadata();
    assert.deepEqual([dm.width, dm.height, dm.channels], [width, height, 3]);

    const b = cli('benchmark', 'fcn/fcn_r18-d8_shapes-seg', '--checkpoint', ckpt, '--images', '1', '--warmup', '1', '--json', '--cfg-options', ...small);
    assert.equal(b.status, 0, b.stderr);
    const bj = JSON.parse(b.stdout);
    assert.deepEqual(Object.keys(bj), ['fps', 'ms_per_image', 'peak_memory_mb']);
    assert.ok(bj.fps > 0);

    // no dataset on disk: a blank image of the test Resize's scale (the config's test size)
    const blank = cli('benchmark', 'fcn/fcn_r18-d8_shapes-seg', '--images', '1', '--warmup', '0', '--cfg-options', ...small,
      'data.generate=null', `data.val.dataRoot=${JSON.stringify(path.join(dir, 'none'))}`);
    assert.equal(blank.status, 0, blank.stderr);
    assert.match(blank.stderr, /no validation data .*; timing a blank image of the test size/);
    assert.match(blank.stderr, / at 160x160 /);
    assert.match(blank.stdout, /^inference: [\d.]+ img\/s/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('detection configs refuse --out on infer (label maps are for segmentation)', () => {
  const r = cli('infer', 'faster_rcnn/faster-rcnn_r18_fpn_shapes', '--checkpoint', 'x.safetensors', '--image', 'x.jpg', '--out', 'y.png');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /infer: --out applies to semantic-segmentation configs/);
});
