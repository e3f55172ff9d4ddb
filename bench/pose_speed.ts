/**
 * The top-down pose speed table (issue 17's seed comparison): tsvision's MMPose td-hm configs against
 * mmpose 1.3's own models with the same (seeded random) weights, thread count and input, in one run:
 *  - inference time per person: one image with N person boxes through the public paths (mmpose:
 *    mmpose.apis.inference_topdown(model, img, bboxes); ours: src/apis/pose.ts inferTopdown, the
 *    config's test pipeline (GetBBoxCenterScale, TopdownAffine, the model's preprocessing) per box,
 *    predict in batches of data.valBatchSize, COCO keypoint results in image pixels), flip test on
 *    both sides as the configs set it; the step's time / N;
 *  - with --train, one Adam training step's s/iter (lr 5e-4, the configs' optimizer) on a batch of B
 *    random crops at the input size with random target heatmaps and keypoint weights at the heatmap
 *    size: the preprocessing's normalization, forward, KeypointMSELoss (and acc_pose), backward and
 *    step, BN in train mode (mmpose: data_preprocessor + model.loss; ours: the pose task's model
 *    wrapper's loss + src/optim's Adam).
 *
 * mmpose's side is a server process (bench/pose_speed_ref.py, run with .cache/openmmlab/bin/python;
 * TSVISION_REF_PYTHON overrides) that builds the model from mmpose's packaged config of the same name
 * as init_model does (no pretrained download), saves its state dict, which ours loads strictly, and
 * keeps its model loaded. The two sides alternate step by step, which side goes first alternating;
 * medians after the warm-up are reported. The first inference step also compares the two sides'
 * keypoints and scores (printed: the largest differences), a check that the weights loaded.
 *
 *   node dist/bench/pose_speed.js [--methods td-hm_res50_8xb64-210e_coco-256x192,...] [--persons 8]
 *     [--batch 8] [--threads 2] [--warmup 1] [--iters 5] [--train] [--denormal on|off] [--out FILE.json]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch';
import type { Tensor } from '../src/torch';
import { resolveConfig } from '../src/config';
import { loadModelWeights, loadWeights } from '../src/engine/checkpoint';
import type { Batch } from '../src/data/collate';
import { inferTopdown, type PoseResult } from '../src/apis/pose';
import { poseTask, type PoseConfig, type PoseModel } from '../src/tasks/pose/task';
import { Adam } from '../src/optim';
import { COMMON_OPTIONS, alternate, commonArgs, inTempDir, logSteps, logTable, median, refPython, startReference, writeResults, type ReferenceServer } from './ref_server';

/** The ten configs under configs/td-hm that mirror mmpose's packaged ones; the first four are the default. */
const ALL_METHODS = [
  'td-hm_res50_8xb64-210e_coco-256x192',
  'td-hm_res50_8xb64-210e_coco-384x288',
  'td-hm_hrnet-w32_8xb64-210e_coco-256x192',
  'td-hm_hrnet-w32_8xb64-210e_coco-384x288',
  'td-hm_res101_8xb64-210e_coco-256x192',
  'td-hm_res101_8xb32-210e_coco-384x288',
  'td-hm_res152_8xb32-210e_coco-256x192',
  'td-hm_res152_8xb32-210e_coco-384x288',
  'td-hm_hrnet-w48_8xb32-210e_coco-256x192',
  'td-hm_hrnet-w48_8xb32-210e_coco-384x288',
];
const { values } = parseArgs({
  options: {
    methods: { type: 'string', default: ALL_METHODS.slice(0, 4).join(',') },
    persons: { type: 'string', default: '8' },
    batch: { type: 'string', default: '8' },
    ...COMMON_OPTIONS,
  },
});
const methods = values.methods!.split(',').map((m) => m.trim().replace(/^td-hm\//, '')).filter((m) => m !== '');
const { threads, warmup, iters } = commonArgs(values);
const persons = Number(values.persons), batchSize = Number(values.batch);
if (!Number.isInteger(persons) || persons < 1) throw new Error(`--persons: expected a positive integer, got ${values.persons}`);
if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch: expected a positive integer, got ${values.batch}`);
for (const m of methods) if (!ALL_METHODS.includes(m)) throw new Error(`--methods: ${m} is not one of ${ALL_METHODS.join(', ')}`);
const python = refPython();
const refScript = path.join(__dirname, '..', '..', 'bench', 'pose_speed_ref.py');
/** The test image: COCO-like 640 x 480. */
const IMG_H = 480, IMG_W = 640;

/** One measurement: every step's seconds on both sides (warm-up first), and the medians after warm-up. */
interface Row {
  method: string;
  kind: 'infer' | 'train';
  /** Persons per inference step, crops per training step. */
  n: number;
  /** Seconds per step (N persons, or one training iteration). */
  ours: number[];
  ref: number[];
  oursMedian: number;
  refMedian: number;
}

const row = (method: string, kind: Row['kind'], n: number, [ours, ref]: [number[], number[]]): Row =>
  ({ method, kind, n, ours, ref, oursMedian: median(ours.slice(warmup)), refMedian: median(ref.slice(warmup)) });

interface Ready { denormal: unknown; torch: string; mmpose: string; mmengine: string; mmcv: string; cv2_threads: number; threads: number; input_size: [number, number]; heatmap_size: [number, number]; num_keypoints: number }

async function benchMethod(method: string, dir: string, rows: Row[], info: Record<string, unknown>): Promise<void> {
  const weights = path.join(dir, `${method}.pth`);
  const ref: ReferenceServer = startReference(python, [refScript, method, weights, String(threads), values.denormal!]);
  let model: PoseModel | undefined;
  try {
    const ready = await ref.next() as Ready;
    const cfg = resolveConfig(`td-hm/${method}`).config as PoseConfig;
    const codec = cfg.model.head.decoder;
    if (JSON.stringify([codec.inputSize, codec.heatmapSize]) !== JSON.stringify([ready.input_size, ready.heatmap_size])) {
      throw new Error(`${method}: our codec's input/heatmap sizes ${JSON.stringify([codec.inputSize, codec.heatmapSize])}, mmpose's ${JSON.stringify([ready.input_size, ready.heatmap_size])}`);
    }
    if (!cfg.model.testCfg?.flipTest) throw new Error(`${method}: expected the flip test on (model.testCfg.flipTest)`);
    model = poseTask.buildModel(cfg) as PoseModel;
    const sd = loadWeights(weights);
    try {
      loadModelWeights(model.estimator, sd, { strict: true, file: `mmpose's ${method} state dict` });
    } finally {
      torch.dispose([...sd.values()]);
    }
    model.eval();
    const pm = model;
    const img = path.join(dir, `image-${persons}.png`);
    const { boxes } = await ref.ask(JSON.stringify({ cmd: 'image', h: IMG_H, w: IMG_W, n: persons, path: img })) as { boxes: number[][] };
    // step 1 runs ours first: its predictions are kept and compared with mmpose's of the same step
    let first: PoseResult[] | undefined;
    let step = 0;
    const infer = row(method, 'infer', persons, await alternate(warmup + iters,
      async () => {
        pm.eval();
        const t0 = performance.now();
        const preds = await inferTopdown({ config: cfg, model: pm }, img, boxes);
        const t = (performance.now() - t0) / 1000;
        if (step === 0) first = preds;
        return t;
      },
      async () => {
        const r = await ref.ask(JSON.stringify({ cmd: 'infer', path: img, boxes, keypoints: step === 0 })) as { t: number; keypoints?: number[][][]; scores?: number[][] };
        if (step++ === 0) info[method] = { ...ready, keypointCheck: compareKeypoints(method, first!, r.keypoints!, r.scores!) };
        return r.t;
      },
    ));
    rows.push(infer);
    logStepsOf(infer);
    if (values.train) {
      const train = row(method, 'train', batchSize, await alternate(warmup + iters, await oursTrainStep(pm, cfg, ref, dir), async () => ((await ref.ask('{"cmd": "train"}')) as { t: number }).t));
      rows.push(train);
      logStepsOf(train);
    }
    info[method] = { ...(info[method] as object), mmposeThreadsFlushAfter: ((await ref.ask('{"cmd": "done"}')) as { threads_after: boolean[] }).threads_after, tsvisionThreadsFlushAfter: torch.flushDenormalThreads() };
  } finally {
    model?.estimator.dispose();
    ref.close();
  }
}

/** The largest keypoint difference (image pixels) and score difference between the two sides' predictions. */
function compareKeypoints(method: string, ours: PoseResult[], kps: number[][][], scores: number[][]): { maxKeypointPx: number; maxScore: number; keypointsOver1px: number; keypoints: number; distinctRefPositions: number } {
  if (ours.length !== kps.length) throw new Error(`${method}: ${ours.length} predictions, mmpose ${kps.length}`);
  let maxKeypointPx = 0, maxScore = 0, keypointsOver1px = 0, keypoints = 0;
  ours.forEach((p, i) => kps[i].forEach(([x, y], k) => {
    const d = Math.hypot(p.keypoints[3 * k] - x, p.keypoints[3 * k + 1] - y);
    maxKeypointPx = Math.max(maxKeypointPx, d);
    maxScore = Math.max(maxScore, Math.abs(p.keypoints[3 * k + 2] - scores[i][k]));
    if (d > 1) keypointsOver1px++;
    keypoints++;
  }));
  // not a degenerate prediction (random weights): mmpose's keypoints are spread over the boxes
  const distinctRefPositions = new Set(kps.flat().map(([x, y]) => `${Math.round(x)},${Math.round(y)}`)).size;
  console.log(`${method}: tsvision vs mmpose on the first inference step: keypoints max |Δ| ${maxKeypointPx.toExponential(2)} px (${keypointsOver1px} of ${keypoints} over 1 px; mmpose's at ${distinctRefPositions} distinct pixels), scores max |Δ| ${maxScore.toExponential(2)}`);
  return { maxKeypointPx, maxScore, keypointsOver1px, keypoints, distinctRefPositions };
}

/**
 * Our training step on the reference's batch (B random RGB crops at the input size, target heatmaps
 * and keypoint weights): the preprocessing's normalization, the pose model wrapper's loss (toPoseBatch,
 * forward, KeypointMSELoss, acc_pose), the loss terms summed, zero_grad, backward, an Adam step
 * (lr 5e-4), BN in train mode.
 */
async function oursTrainStep(model: PoseModel, cfg: PoseConfig, ref: ReferenceServer, dir: string): Promise<() => Promise<number>> {
  const file = path.join(dir, `train-${batchSize}.raw`);
  await ref.ask(JSON.stringify({ cmd: 'train_data', b: batchSize, path: file }));
  const codec = cfg.model.head.decoder;
  const [w, h] = codec.inputSize, [hw, hh] = codec.heatmapSize;
  const K = cfg.model.head.outChannels;
  const n = batchSize, plane = h * w, hmPlane = K * hh * hw;
  const raw = fs.readFileSync(file);
  if (raw.length !== n * 3 * plane + 4 * (n * hmPlane + n * K)) throw new Error(`${file}: ${raw.length} bytes, expected ${n * 3 * plane + 4 * (n * hmPlane + n * K)}`);
  const pixels = new Uint8Array(raw.buffer, raw.byteOffset, n * 3 * plane);
  // the floats copied out: the Buffer's offset need not be 4-aligned
  const floats = new Float32Array(raw.buffer.slice(raw.byteOffset + n * 3 * plane, raw.byteOffset + raw.length));
  const heatmaps = floats.subarray(0, n * hmPlane), keypointWeights = floats.subarray(n * hmPlane);
  const { mean, std, order } = cfg.model.dataPreprocessor;
  if (order !== 'rgb') throw new Error(`${cfg.model.type}: model.dataPreprocessor.order ${order}; the bench's crops are RGB`);
  const meta = { imgId: 0, imgPath: file, oriShape: [h, w] as [number, number], imgShape: [h, w] as [number, number], padShape: [h, w] as [number, number], scaleFactor: [1, 1] as [number, number], flip: false, flipDirection: null };
  const items: Batch['items'] = Array.from({ length: n }, (_, i) => ({
    meta: { ...meta, instanceId: i },
    targets: {},
    pose: {
      center: [w / 2, h / 2], scale: [w, h], rotation: 0, inputSize: [w, h],
      heatmaps: heatmaps.subarray(i * hmPlane, (i + 1) * hmPlane), heatmapSize: [hw, hh],
      targetWeights: keypointWeights.subarray(i * K, (i + 1) * K),
    },
  }));
  const params = [...model.namedParameters()].map(([, p]) => p).filter((p) => p.requiresGrad);
  const opt = new Adam(params, { lr: cfg.optimWrapper.optimizer.lr ?? 5e-4 });
  return async () => {
    model.train();
    const t0 = performance.now();
    // mmpose's PoseDataPreprocessor: (x - mean) / std per channel, in float32
    const inputs = new Float32Array(n * 3 * plane);
    for (let c = 0; c < 3; c++) {
      const m = mean[c], s = std[c];
      for (let i = 0; i < n; i++) {
        const base = (i * 3 + c) * plane;
        for (let j = 0; j < plane; j++) inputs[base + j] = (pixels[base + j] - m) / s;
      }
    }
    torch.tidy(() => {
      const losses = model.loss({ inputs, shape: [n, 3, h, w], items });
      const total = Object.entries(losses).filter(([k]) => k.includes('loss')).map(([, v]) => v).reduce((a: Tensor, b) => a.add(b));
      opt.zeroGrad();
      total.backward();
      opt.step();
    });
    const t = (performance.now() - t0) / 1000;
    model.eval();
    return t;
  };
}

const f3 = (x: number) => x.toFixed(3);
const f4 = (x: number) => x.toFixed(4);

function logStepsOf(r: Row): void {
  if (r.kind === 'infer') {
    logSteps(`${r.method}, inference (s/person, ${r.n} persons in one image, flip test)`, 'mmpose', r.ours.map((t) => t / r.n), r.ref.map((t) => t / r.n), warmup, f4);
  } else {
    logSteps(`${r.method}, training step (s/iter, ${r.n} crops, Adam)`, 'mmpose', r.ours, r.ref, warmup, f3);
  }
}

async function main(): Promise<void> {
  const start = performance.now();
  torch.setNumThreads(threads);
  const denormalSupported = torch.setFlushDenormal(values.denormal === 'on');
  const rows: Row[] = [];
  const info: Record<string, unknown> = {};
  await inTempDir('tsv-bench-pose-', async (dir) => {
    for (const method of methods) await benchMethod(method, dir, rows, info);
  });
  const speedUp = (r: Row) => (r.refMedian / r.oursMedian).toFixed(2);
  console.log(`\n${threads} threads, --denormal ${values.denormal}${denormalSupported ? '' : ' (CPU: unsupported)'}; medians of ${iters} after ${warmup} warm-up; speed-up = mmpose time / tsvision time (> 1: tsvision is faster):\n`);
  logTable(['method', 'tsvision s/person', 'mmpose s/person', 'speed-up'], rows.filter((x) => x.kind === 'infer')
    .map((r) => [r.method, f4(r.oursMedian / r.n), f4(r.refMedian / r.n), speedUp(r)]));
  const train = rows.filter((x) => x.kind === 'train');
  if (train.length > 0) {
    console.log('');
    logTable(['method', `tsvision s/iter (${batchSize} crops)`, 'mmpose s/iter', 'speed-up'], train.map((r) => [r.method, f3(r.oursMedian), f3(r.refMedian), speedUp(r)]));
  }
  if (values.out) {
    writeResults(values.out, {
      threads, warmup, iters, persons, batch: batchSize, denormal: values.denormal, image: [IMG_H, IMG_W],
      units: 'ours/ref: seconds per step (infer: all `persons` of the image; train: one iteration); per person = / n',
      speedUp: 'mmpose time / tsvision time', node: process.version, host: os.hostname(), cpus: os.cpus()[0]?.model, date: new Date().toISOString(),
      methods: info, rows,
    });
  }
  console.log(`\ntotal ${((performance.now() - start) / 60000).toFixed(1)} min`);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
