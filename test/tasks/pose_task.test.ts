/**
 * The top-down pose task end to end: `tsvision train` of td-hm_res18_people-192x160 shrunk to
 * a few generated images, 2 iterations at 96x128, then `tsvision test` of its checkpoint prints
 * keypoint AP; and the task's pieces (the codec behind GenerateTarget, toPoseBatch, config errors).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/paths';
import { msraCodec, posePipelines } from '../../configs/_base_/pose';
import { config as peopleConfig } from '../../configs/td-hm/td-hm_res18_people-192x160';
import { codecEncoder } from '../../src/tasks/pose/pipeline_context';
import { MSRAHeatmap } from '../../src/models/codecs';
import { flipIndicesOf, poseTask, toPoseBatch } from '../../src/tasks/pose/task';
import { validateConfig } from '../../src/config/validate';
import * as torch from '../../src/torch';
import type { Batch } from '../../src/data/collate';

const bin = path.join(repoRoot, 'bin', 'tsvision');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: repoRoot, env: { ...process.env, TSVISION_NUM_THREADS: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('GenerateTarget through the pose pipeline context equals the codec', () => {
  const spec = msraCodec([48, 64]);
  const enc = codecEncoder({ ...spec });
  const kps = new Float32Array([10, 20, 30.5, 40, 47, 63]);
  const vis = new Float32Array([1, 1, 0]);
  const got = enc.encode(kps, vis, 3);
  const want = new MSRAHeatmap({ inputSize: [48, 64], heatmapSize: [12, 16], sigma: 2 }).encode(kps, vis);
  assert.deepEqual(got.heatmapSize, [12, 16]);
  assert.deepEqual(Array.from(got.heatmaps), Array.from(want.heatmaps.data));
  assert.deepEqual(Array.from(got.keypointWeights), Array.from(want.weights));
  assert.throws(() => enc.encode(new Float32Array(12), new Float32Array(6), 3), /one instance of 3 keypoints, got 2 instances/);
  assert.throws(() => codecEncoder({ type: 'Nope' }), /GenerateTarget.encoder.type: unknown codec 'Nope'/);
});

test('flipIndicesOf and toPoseBatch: crop geometry, stacked targets, errors naming the sample', () => {
  assert.deepEqual(flipIndicesOf(5, [[1, 2], [3, 4]]), [0, 2, 1, 4, 3]);
  const item = (c: number) => ({
    meta: { imgPath: `img${c}.jpg` } as Batch['items'][number]['meta'],
    targets: {},
    pose: { center: [c, c + 1] as [number, number], scale: [4, 8] as [number, number], rotation: 0, inputSize: [4, 8] as [number, number], heatmaps: new Float32Array(2 * 2 * 1).fill(c), heatmapSize: [1, 2] as [number, number], targetWeights: new Float32Array([1, c]) },
  });
  const batch: Batch = { inputs: new Float32Array(2 * 3 * 8 * 4), shape: [2, 3, 8, 4], items: [item(1), item(2)] };
  torch.tidy(() => {
    const b = toPoseBatch(batch, { withTargets: true, flipIndices: [1, 0] });
    assert.deepEqual(b.images.shape, [2, 3, 8, 4]);
    assert.deepEqual(b.metas, [{ inputCenter: [1, 2], inputScale: [4, 8], flipIndices: [1, 0] }, { inputCenter: [2, 3], inputScale: [4, 8], flipIndices: [1, 0] }]);
    assert.deepEqual(b.targets!.heatmaps.shape, [2, 2, 2, 1]);
    assert.deepEqual(Array.from(b.targets!.heatmaps.toTypedArray() as Float32Array), [1, 1, 1, 1, 2, 2, 2, 2]);
    assert.deepEqual(Array.from(b.targets!.keypointWeights.toTypedArray() as Float32Array), [1, 1, 1, 2]);
  });
  const noTargets: Batch = { ...batch, items: [{ ...item(1), pose: { ...item(1).pose, heatmaps: new Float32Array(0), targetWeights: new Float32Array(0) } }], inputs: new Float32Array(3 * 8 * 4), shape: [1, 3, 8, 4] };
  assert.throws(() => toPoseBatch(noTargets, { withTargets: true }), /img1.jpg: no training targets \(the train pipeline needs GenerateTarget\)/);
  const noPose: Batch = { ...batch, items: [{ meta: item(1).meta, targets: {} }], inputs: new Float32Array(3 * 8 * 4), shape: [1, 3, 8, 4] };
  assert.throws(() => toPoseBatch(noPose), /img1.jpg: the sample has no crop geometry/);
});

test('the people config validates against the generated schema; a codec mismatch names both keys', async () => {
  validateConfig(peopleConfig, poseTask.configSchema!);
  const bad = structuredClone(peopleConfig);
  bad.model.head.decoder = msraCodec([96, 128]);
  const badSrc = poseTask.buildTrainData(bad);
  await assert.rejects(async () => { for await (const _ of badSrc.epoch(0)) break; }, /data.trainPipeline\[5\].encoder.inputSize is \[160,192\], model.head.decoder.inputSize \[96,128\]: they must be the same codec/);
  const ev = poseTask.buildEvaluator(peopleConfig, { metrics: ['coco'] });
  assert.ok(ev);
  assert.throws(() => poseTask.buildEvaluator(peopleConfig, { metrics: ['mIoU'] }), /pose: unknown metric 'mIoU' \(coco\)/);
  const missing = structuredClone(peopleConfig);
  missing.data.generate = null;
  missing.data.train.annFile = path.join(os.tmpdir(), 'no-such-person-keypoints.json');
  const src = poseTask.buildTrainData(missing);
  await assert.rejects(async () => { for await (const _ of src.epoch(0)) break; }, /data.train.annFile: .*no-such-person-keypoints.json not found/);
});

test('tsvision train then test on the generated people dataset prints keypoint AP', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-pose-'));
  try {
    const codec = msraCodec([96, 128]);
    const data = path.join(dir, 'people');
    const cfg = {
      _base_: 'td-hm/td-hm_res18_people-192x160',
      model: { head: { decoder: codec } },
      data: {
        train: { annFile: `${data}/annotations/person_keypoints_train.json`, imgDir: `${data}/train` },
        val: { annFile: `${data}/annotations/person_keypoints_val.json`, imgDir: `${data}/val` },
        ...posePipelines(codec),
        batchSize: 2,
        valBatchSize: 4,
        workers: 1, // the codec is built in the loader's worker thread (pipeline_context.ts)
        generate: { kind: 'people', dir: data, images: 5, seed: 1, minSize: 160, maxSize: 200 },
      },
      train: { byEpoch: false, maxIters: 2, valInterval: 0 },
      paramScheduler: [{ type: 'LinearLR', startFactor: 0.1, byEpoch: false, begin: 0, end: 2 }],
      hooks: { logger: { interval: 1 }, checkpoint: { interval: 0, byEpoch: false, maxKeep: 1, saveLast: true } },
    };
    const file = path.join(dir, 'pose.json');
    fs.writeFileSync(file, JSON.stringify(cfg));
    const work = path.join(dir, 'work');
    const t = cli('train', file, '--work-dir', work);
    assert.equal(t.status, 0, t.stderr + t.stdout);
    assert.match(t.stdout, /loss_kpt: \d/);
    const ckpt = path.join(work, 'iter_2.safetensors');
    assert.ok(fs.existsSync(ckpt), fs.readdirSync(work).join(', '));
    const out = path.join(dir, 'results.json');
    const r = cli('test', file, ckpt, '--json', '--out', out, '--work-dir', path.join(dir, 'test'));
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const metrics = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    const ap = metrics['coco/AP'];
    assert.equal(typeof ap, 'number');
    assert.ok(Number.isFinite(ap) && ap >= 0 && ap <= 1, `coco/AP ${ap}`);
    for (const k of ['coco/AP .5', 'coco/AR']) assert.ok(Number.isFinite(metrics[k]) && metrics[k] >= 0 && metrics[k] <= 1, `${k} ${metrics[k]}`);
    // one COCO keypoint result per kept person, 17 triples each
    const results = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.ok(Array.isArray(results) && results.length > 0);
    assert.equal(results[0].keypoints.length, 51);
    assert.equal(results[0].category_id, 1);

    // person boxes from a detection results file (the ground-truth boxes, score 0.8, and a decoy of
    // score 0.1 that bboxScoreThr drops): every kept result comes from a box above the threshold
    const gt = JSON.parse(fs.readFileSync(`${data}/annotations/person_keypoints_val.json`, 'utf8')) as { annotations: Array<{ image_id: number; bbox: number[]; iscrowd: number }> };
    const people = gt.annotations.filter((a) => !a.iscrowd);
    const dets = people.flatMap((a) => [
      { image_id: a.image_id, category_id: 1, bbox: a.bbox, score: 0.8 },
      { image_id: a.image_id, category_id: 1, bbox: [a.bbox[0] + 3, a.bbox[1] + 3, a.bbox[2] / 2, a.bbox[3] / 2], score: 0.1 },
    ]);
    const bboxFile = path.join(dir, 'dets.json');
    fs.writeFileSync(bboxFile, JSON.stringify(dets));
    const outDet = path.join(dir, 'results-det.json');
    const d = cli('test', file, ckpt, '--json', '--out', outDet, '--work-dir', path.join(dir, 'test-det'), '--cfg-options', `data.val.bboxFile=${bboxFile}`, 'data.val.bboxScoreThr=0.3');
    assert.equal(d.status, 0, d.stderr + d.stdout);
    const m2 = JSON.parse(d.stdout.trim().split('\n').at(-1)!);
    assert.ok(Number.isFinite(m2['coco/AP']) && m2['coco/AP'] >= 0 && m2['coco/AP'] <= 1, `coco/AP ${m2['coco/AP']}`);
    const detResults = JSON.parse(fs.readFileSync(outDet, 'utf8')) as Array<{ score: number }>;
    assert.ok(detResults.length > 0 && detResults.length <= people.length, `${detResults.length} results for ${people.length} boxes above the threshold`);
    // instance score: 0.8 x the mean keypoint score above 0.2 (or 0), so never above 0.8
    for (const r of detResults) assert.ok(r.score >= 0 && r.score <= 0.8 + 1e-6, `score ${r.score}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
