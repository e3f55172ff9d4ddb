/**
 * Top-down pose from the API and the CLI (MMPose's inference_topdown and topdown_demo_with_mmdet)
 * on generated `people` images, with random weights of a slim people config (ResNet-18 at widths
 * /8, 16-channel deconvs, 96x128 crops) saved as a checkpoint:
 *  - `infer --bboxes --json`: one result per box in box order, keypoints inside each box's crop,
 *    equal to inferTopdown in-process and to the plain [[x, y, w, h]] form; no boxes: the whole image;
 *  - malformed BOXES.json: errors naming the file and the record;
 *  - `demo`: a PNG of the image's size with drawn pixels;
 *  - inferTopdownWithDetector and `topdown-demo` with a random-weight shapes detector;
 *  - `benchmark` of a pose config: inference and --train columns.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import * as torch from '../../src/torch';
import { resolveConfig } from '../../src/config';
import { generatePeople } from '../../src/data/synthetic/people';
import { fixAspectRatio } from '../../src/data/transforms/topdown';
import { asDetectionConfig, loadDetector } from '../../src/apis/detection';
import { asPoseConfig, disposePoseEstimator, inferTopdown, inferTopdownWithDetector, loadPoseEstimator, readPersonBoxes, type PoseResult } from '../../src/apis/pose';
import { boxNms } from '../../src/tasks/pose/oks_nms';
import { msraCodec, posePipelines } from '../../configs/_base_/pose';
import { config as peopleConfig } from '../../configs/td-hm/td-hm_res18_people-192x160';
import type { PoseConfig } from '../../src/tasks/pose/task';
import { repoRoot } from '../helpers/paths';

const bin = path.join(repoRoot, 'bin', 'tsvision');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: repoRoot, env: { ...process.env, TSVISION_NUM_THREADS: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let poseConfig: string;
let poseCkpt: string;
let image: string;
/** The val image's people as COCO boxes [x, y, w, h]. */
let people: number[][];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvision-pose-api-'));
  const data = path.join(dir, 'people');
  await generatePeople({ out: data, images: 4, valFraction: 0.5, seed: 3, size: { minSize: 160, maxSize: 220 } });
  const gt = JSON.parse(fs.readFileSync(path.join(data, 'annotations', 'person_keypoints_val.json'), 'utf8')) as {
    images: Array<{ id: number; file_name: string }>; annotations: Array<{ image_id: number; bbox: number[] }>;
  };
  // the val image with the most people
  const counts = gt.images.map((im) => gt.annotations.filter((a) => a.image_id === im.id).length);
  const im = gt.images[counts.indexOf(Math.max(...counts))];
  image = path.join(data, 'val', im.file_name);
  people = gt.annotations.filter((a) => a.image_id === im.id).map((a) => a.bbox);
  assert.ok(people.length >= 1);

  const codec = msraCodec([96, 128]);
  const base = peopleConfig;
  const cfg: PoseConfig = {
    ...base,
    model: {
      ...base.model,
      backbone: { type: 'ResNet', depth: 18, initCfg: null, baseChannels: 8, stemChannels: 8 },
      head: { ...base.model.head, inChannels: 64, deconvOutChannels: [16, 16, 16], deconvKernelSizes: [4, 4, 4], decoder: codec },
    },
    data: {
      ...base.data,
      train: { annFile: `${data}/annotations/person_keypoints_train.json`, imgDir: `${data}/train` },
      val: { ...base.data.val, annFile: `${data}/annotations/person_keypoints_val.json`, imgDir: `${data}/val` },
      ...posePipelines(codec),
      batchSize: 2,
      valBatchSize: 2, // inferTopdown batches boxes by it: 2n+1 boxes make several batches
      workers: 0,
      generate: null,
    },
  };
  // a config module (a JSON config may only override its base's keys; the slim backbone adds some)
  const dist = (m: string) => JSON.stringify(path.join(repoRoot, 'dist', m));
  poseConfig = path.join(dir, 'pose.js');
  fs.writeFileSync(poseConfig, `module.exports = require(${dist('src/config')}).defineConfig(require(${dist('src/tasks/pose/task')}).poseTask, ${JSON.stringify(cfg)});\n`);
  const p = loadPoseEstimator(asPoseConfig(resolveConfig(poseConfig, []), 'test'));
  poseCkpt = path.join(dir, 'pose.safetensors');
  torch.saveSafetensors(poseCkpt, p.model.stateDict());
  disposePoseEstimator(p);
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The image region a box's crop covers (GetBBoxCenterScale padding 1.25, then the input's aspect ratio). */
function cropOf(bbox: readonly number[], inputSize: [number, number]): { x0: number; y0: number; x1: number; y1: number } {
  const [x, y, w, h] = bbox;
  const [sw, sh] = fixAspectRatio([w * 1.25, h * 1.25], inputSize[0] / inputSize[1]);
  const cx = x + w / 2, cy = y + h / 2;
  return { x0: cx - sw / 2, y0: cy - sh / 2, x1: cx + sw / 2, y1: cy + sh / 2 };
}

function checkResult(r: PoseResult, bbox: readonly number[], score: number): void {
  assert.deepEqual(r.bbox, [...bbox]);
  assert.equal(r.image_id, 0);
  assert.equal(r.category_id, 1);
  assert.equal(r.bbox_score, score);
  assert.equal(r.keypoints.length, 51);
  const c = cropOf(bbox, [96, 128]);
  const tol = 1; // a heatmap pixel of the crop is its side / 24, the decoded maximum lies inside
  for (let k = 0; k < 17; k++) {
    const [x, y, s] = r.keypoints.slice(3 * k, 3 * k + 3);
    assert.ok(x >= c.x0 - tol && x <= c.x1 + tol && y >= c.y0 - tol && y <= c.y1 + tol, `keypoint ${k} (${x}, ${y}) outside the crop ${JSON.stringify(c)} of box ${bbox}`);
    assert.ok(Number.isFinite(s));
  }
  const mean = (a: number[]) => a.reduce((u, v) => u + v, 0) / a.length;
  const above = r.keypoints.filter((_, i) => i % 3 === 2).filter((s) => s > 0.2);
  assert.ok(Math.abs(r.score - (above.length ? score * mean(above) : 0)) < 1e-6, `score ${r.score}`);
}

test('infer --bboxes --json: one result per box in box order, keypoints in the boxes\' crops, as inferTopdown', async () => {
  // the people, a box of half the image, and the people again in reverse: 2n+1 boxes over several batches
  const half = [10, 12, 60, 80];
  const boxes: Array<{ bbox: number[]; score?: number }> = [...people.map((b, i) => ({ bbox: b, score: 0.9 - 0.1 * i, image_id: 7 })), { bbox: half }, ...[...people].reverse().map((b) => ({ bbox: b, score: 0.5 }))];
  const file = path.join(dir, 'boxes.json');
  fs.writeFileSync(file, JSON.stringify(boxes));
  const r = cli('infer', poseConfig, '--checkpoint', poseCkpt, '--image', image, '--bboxes', file, '--json');
  assert.equal(r.status, 0, r.stderr);
  const results = JSON.parse(r.stdout) as PoseResult[];
  assert.equal(results.length, boxes.length);
  results.forEach((res, i) => checkResult(res, boxes[i].bbox, boxes[i].score ?? 1));
  // a box's keypoints do not depend on its place among the boxes (batches of valBatchSize 2)
  const n = people.length;
  for (let i = 0; i < n; i++) {
    const a = results[i].keypoints, b = results[2 * n - i].keypoints;
    a.forEach((v, j) => assert.ok(Math.abs(v - b[j]) < 1e-3, `box ${i}: keypoint value ${j}: ${v} vs ${b[j]}`));
  }

  // in-process: the same numbers; the plain [[x, y, w, h]] form gives the same keypoints with bbox_score 1
  const p = loadPoseEstimator(asPoseConfig(resolveConfig(poseConfig, []), 'test'), poseCkpt);
  try {
    const api = await inferTopdown(p, image, readPersonBoxes(file), { bboxFormat: 'xywh' });
    assert.equal(api.length, results.length);
    api.forEach((a, i) => a.keypoints.forEach((v, j) => assert.ok(Math.abs(v - results[i].keypoints[j]) < 1e-3)));
    const plain = path.join(dir, 'plain.json');
    fs.writeFileSync(plain, JSON.stringify(people));
    const fromPlain = await inferTopdown(p, image, readPersonBoxes(plain), { bboxFormat: 'xywh' });
    fromPlain.forEach((res, i) => {
      checkResult(res, people[i], 1);
      res.keypoints.forEach((v, j) => assert.ok(Math.abs(v - results[i].keypoints[j]) < 1e-3));
    });
    // xyxy (MMPose's default bbox_format) of the same boxes
    const xyxy = await inferTopdown(p, image, people.map(([x, y, w, h]) => [x, y, x + w, y + h]));
    xyxy.forEach((res, i) => res.keypoints.forEach((v, j) => assert.ok(Math.abs(v - results[i].keypoints[j]) < 1e-3)));

    // no boxes: the whole image is one box
    const { width, height } = await sharp(image).metadata();
    for (const none of [undefined, []]) {
      const whole = await inferTopdown(p, image, none);
      assert.equal(whole.length, 1);
      checkResult(whole[0], [0, 0, width!, height!], 1);
    }
  } finally {
    disposePoseEstimator(p);
  }
  const w = cli('infer', poseConfig, '--checkpoint', poseCkpt, '--image', image);
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /^1 person in .*\n  #0  box \[0\.0, 0\.0, \d+\.0, \d+\.0\]  box score 1\.000  score \d\.\d{3}\n      nose +\(/);
  assert.equal(w.stdout.trim().split('\n').length, 2 + 17);
});

test('infer --bboxes: malformed BOXES.json names the file and the record', () => {
  const cases: Array<[unknown, RegExp]> = [
    [[{ bbox: [1, 2, 30, 40] }, { bbox: [1, 2, 'x', 40], score: 1 }], /bad\.json: record 1: bbox must be 4 finite numbers \[x, y, w, h\], got \{"bbox":\[1,2,"x",40\],"score":1\}/],
    [[[1, 2, 30, 40], [1, 2, 30]], /bad\.json: record 1: bbox must be 4 finite numbers/],
    [[{ bbox: [1, 2, 30, 40], score: 'high' }], /bad\.json: record 0: score must be a finite number/],
    [[{ bbox: [1, 2, 0, 40] }], /bad\.json: record 0: bbox width and height must be positive/],
    [[{ box: [1, 2, 3, 4] }], /bad\.json: record 0: bbox must be 4 finite numbers/],
    [[7], /bad\.json: record 0: expected \{"bbox": \[x, y, w, h\], "score"\?\} or \[x, y, w, h\], got 7/],
    [{ bbox: [1, 2, 3, 4] }, /bad\.json: expected an array of boxes/],
  ];
  const file = path.join(dir, 'bad.json');
  for (const [content, want] of cases) {
    fs.writeFileSync(file, JSON.stringify(content));
    assert.throws(() => readPersonBoxes(file), want);
  }
  // through the CLI: one line, exit 1
  fs.writeFileSync(file, JSON.stringify(cases[0][0]));
  const r = cli('infer', poseConfig, '--checkpoint', poseCkpt, '--image', image, '--bboxes', file, '--json');
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^tsvision: .*bad\.json: record 1: bbox must be 4 finite numbers/);
  fs.writeFileSync(file, '[{"bbox": [1, 2, 3, 4]');
  assert.match(cli('infer', poseConfig, '--checkpoint', poseCkpt, '--image', image, '--bboxes', file).stderr, /bad\.json: invalid JSON/);
  assert.match(cli('infer', poseConfig, '--checkpoint', poseCkpt, '--image', image, '--bboxes', path.join(dir, 'none.json')).stderr, /none\.json: not found/);
  // options of the other tasks are refused
  const o = cli('infer', poseConfig, '--checkpoint', poseCkpt, '--image', image, '--out', path.join(dir, 'x.png'));
  assert.equal(o.status, 2);
  assert.match(o.stderr, /--out applies to semantic-segmentation configs/);
});

test('demo of a pose config: a PNG of the image\'s size with skeletons and boxes drawn', async () => {
  const file = path.join(dir, 'demo-boxes.json');
  fs.writeFileSync(file, JSON.stringify(people.map((b) => ({ bbox: b, score: 0.9 }))));
  const out = path.join(dir, 'demo.png');
  const r = cli('demo', image, poseConfig, poseCkpt, '--out', out, '--bboxes', file, '--kpt-thr', '0');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`demo: ${people.length} skeletons? drawn into`));
  const src = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const got = await sharp(out).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.equal(got.info.format, 'raw');
  assert.deepEqual([got.info.width, got.info.height], [src.info.width, src.info.height]);
  let changed = 0;
  for (let i = 0; i < src.data.length; i += 3) if (Math.abs(src.data[i] - got.data[i]) + Math.abs(src.data[i + 1] - got.data[i + 1]) + Math.abs(src.data[i + 2] - got.data[i + 2]) > 30) changed++;
  assert.ok(changed > 50, `${changed} pixels drawn`);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
});

test('inferTopdownWithDetector and topdown-demo: a random-weight shapes detector, then the pose estimator', async () => {
  const detLoaded = resolveConfig('faster_rcnn/faster-rcnn_r18_fpn_shapes', []);
  const det = loadDetector(asDetectionConfig(detLoaded, 'test'));
  const detCkpt = path.join(dir, 'det.safetensors');
  // random weights, but the classifier biased to label 0 (category 1, the "person" here): its boxes score ~1
  const sd = det.model.stateDict();
  const bias = torch.tensor([8, 0, 0, 0, 0]);
  assert.deepEqual(sd.get('roi_head.bbox_head.fc_cls.bias')!.shape, bias.shape);
  sd.set('roi_head.bbox_head.fc_cls.bias', bias);
  torch.saveSafetensors(detCkpt, sd);
  bias.dispose();
  det.model.dispose();
  const opts = { detConfig: detLoaded, detCheckpoint: detCkpt, poseConfig: resolveConfig(poseConfig, []), poseCheckpoint: poseCkpt, image };
  const { persons, poses } = await inferTopdownWithDetector({ ...opts, detCatId: 1, nmsThr: 0.3 });
  assert.ok(persons.length >= 2, `${persons.length} person boxes`);
  assert.equal(poses.length, persons.length);
  for (const [i, d] of persons.entries()) {
    assert.equal(d.category_id, 1);
    assert.ok(d.score > 0.3);
    if (i > 0) assert.ok(d.score <= persons[i - 1].score, 'highest score first');
    checkResult(poses[i], d.bbox!, d.score);
  }
  // nms at 0.3: no two kept boxes overlap more
  const xyxy = persons.map((d) => [d.bbox![0], d.bbox![1], d.bbox![0] + d.bbox![2], d.bbox![1] + d.bbox![3]]);
  assert.equal(boxNms(xyxy, persons.map((d) => d.score), 0.3).length, persons.length);
  // nothing above the threshold: the whole image, as MMPose's inference_topdown
  const none = await inferTopdownWithDetector({ ...opts, bboxThr: 1 });
  assert.deepEqual(none.persons, []);
  assert.equal(none.poses.length, 1);

  const out = path.join(dir, 'topdown.png');
  const r = cli('topdown-demo', image, 'faster_rcnn/faster-rcnn_r18_fpn_shapes', detCkpt, poseConfig, poseCkpt, '--out', out, '--json', '--kpt-thr', '0');
  assert.equal(r.status, 0, r.stderr);
  const results = JSON.parse(r.stdout) as PoseResult[];
  assert.equal(results.length, poses.length);
  // another process (one thread): the same boxes up to float rounding
  results.forEach((res, i) => res.bbox.forEach((v, j) => assert.ok(Math.abs(v - poses[i].bbox[j]) < 1e-2, `box ${i}: ${res.bbox} vs ${poses[i].bbox}`)));
  assert.match(r.stderr, new RegExp(`topdown-demo: ${persons.length} person box(es)? \\(category 1, score > 0\\.3\\), ${poses.length} skeletons? drawn into`));
  const meta = await sharp(out).metadata();
  const src = await sharp(image).metadata();
  assert.deepEqual([meta.width, meta.height, meta.format], [src.width, src.height, 'png']);
  assert.equal(cli('topdown-demo', image, 'faster_rcnn/faster-rcnn_r18_fpn_shapes', detCkpt, poseConfig).status, 2);
  const help = cli('topdown-demo', '--help');
  assert.match(help.stdout, /--det-cat-id ID/);
  assert.match(cli('--help').stdout, /topdown-demo +person detector \+ top-down pose estimator/);
});

test('box nms as MMPose\'s: +1 pixel areas, highest score first, IoU above the threshold dropped', () => {
  // IoU with the +1 convention: boxes 0 and 1: inter 11*11 = 121, union 2*121 - 121... (identical) = 1
  assert.deepEqual(boxNms([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]], [0.5, 0.9, 0.1], 0.3), [1, 2]);
  // [0,0,10,10] vs [5,0,15,10]: inter 6*11 = 66, union 121 + 121 - 66 = 176, IoU 0.375
  assert.deepEqual(boxNms([[0, 0, 10, 10], [5, 0, 15, 10]], [0.9, 0.8], 0.375), [0, 1]);
  assert.deepEqual(boxNms([[0, 0, 10, 10], [5, 0, 15, 10]], [0.9, 0.8], 0.37), [0]);
  // equal scores: the later box first (numpy's argsort()[::-1])
  assert.deepEqual(boxNms([[0, 0, 10, 10], [0, 0, 10, 10]], [0.5, 0.5], 0.3), [1]);
  assert.deepEqual(boxNms([], [], 0.3), []);
});

test('benchmark of a pose config: crops per second at the input size, and --train s/iter', () => {
  const r = cli('benchmark', poseConfig, '--checkpoint', poseCkpt, '--image', image, '--images', '3', '--warmup', '1');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /1 warm-up \+ 3 person crops of .*pose\.js at 96x128/);
  assert.match(r.stdout, /^inference: [\d.]+ crops\/s \([\d.]+ ms\/crop, mean of 3\), peak memory \d+ MB$/m);
  // the val set's crops (two images of 1-4 people)
  const j = cli('benchmark', poseConfig, '--images', '1', '--warmup', '1', '--json');
  assert.equal(j.status, 0, j.stderr);
  const o = JSON.parse(j.stdout);
  assert.deepEqual(Object.keys(o).sort(), ['fps', 'ms_per_image', 'peak_memory_mb']);
  assert.ok(o.fps > 0 && o.ms_per_image > 0 && o.peak_memory_mb > 0);
  const t = cli('benchmark', poseConfig, '--train', '--iters', '2', '--warmup', '1', '--json');
  assert.equal(t.status, 0, t.stderr);
  const to = JSON.parse(t.stdout);
  assert.deepEqual(Object.keys(to).sort(), ['peak_memory_mb', 's_per_iter']);
  assert.ok(to.s_per_iter > 0);
});
