/**
 * RPN, Faster R-CNN (pytorch and caffe style) and Fast R-CNN against MMDetection 3.3 itself, on
 * checkpoints MMDetection wrote (random weights from its own init_weights, see
 * scripts/reference/mmdet_fixtures.py): strict loading with no key map (both RPN layouts), then
 *  - inference on both fixture images through our own test path (config test pipeline, the
 *    model's data preprocessor, predict): ≥ 99% of MMDetection's detections / proposals
 *    reproduced (same COCO category id, box IoU ≥ 0.99, |Δscore| ≤ 1e-3);
 *  - the loss terms of one training step on MMDetection's training batch, with the fixture's
 *    deterministic sampler on both sides, equal to 1e-4 relative.
 * Tiny models are committed (test/fixtures/mmdet); the full-width ones run when
 * .cache/mmdet-fixtures exists (`scripts/reference/make-mmdet-fixtures.sh --full`), else skip.
 * TSVISION_MMDET_FIXTURES / TSVISION_MMDET_FIXTURES_FULL point at other fixture folders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { categoriesOf, loadDetector, prepareImage } from '../../src/apis/detection';
import { decodeImage } from '../../src/data/image';
import { toDetBatch } from '../../src/tasks/detection/data';
import { detectionTask, type DetectionConfig, type DetectionModel } from '../../src/tasks/detection/task';
import type { Batch } from '../../src/data/collate';
import * as os from 'node:os';
import type { DataPreprocessorConfig, TwoStageModelConfig } from '../../src/models/detectors/build';
import type { DetBatch, DetImageMeta } from '../../src/models/detectors/types';
import type { TwoStageDetector } from '../../src/models/detectors/two_stage';
import { config as rpnCfg } from '../../configs/rpn/rpn_r50_fpn_1x_coco';
import { config as fasterCfg } from '../../configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco';
import { config as fasterCaffeCfg } from '../../configs/faster_rcnn/faster-rcnn_r50-caffe_fpn_1x_coco';
import { config as fastCfg } from '../../configs/fast_rcnn/fast-rcnn_r50_fpn_1x_coco';
import { config as fastCaffeCfg } from '../../configs/fast_rcnn/fast-rcnn_r50-caffe_fpn_1x_coco';
import { repoRoot } from '../helpers/paths';

const CONFIGS: Record<string, DetectionConfig> = {
  'rpn_r50_fpn_1x_coco': rpnCfg,
  'faster-rcnn_r50_fpn_1x_coco': fasterCfg,
  'faster-rcnn_r50-caffe_fpn_1x_coco': fasterCaffeCfg,
  'fast-rcnn_r50_fpn_1x_coco': fastCfg,
  'fast-rcnn_r50-caffe_fpn_1x_coco': fastCaffeCfg,
};
const SETS = [
  { kind: 'tiny', dir: process.env.TSVISION_MMDET_FIXTURES ?? path.join(repoRoot, 'test/fixtures/mmdet') },
  { kind: 'full', dir: process.env.TSVISION_MMDET_FIXTURES_FULL ?? path.join(repoRoot, '.cache/mmdet-fixtures') },
];
const MIN_MATCH = 0.99;

interface Manifest {
  tiny_widths: { base_channels: number; neck_out: number; fc_out: number } | null;
  models: Record<string, { checkpoint: string; mmdet2?: string }>;
}
interface RefImage {
  image: string;
  image_id: number;
  img_shape: [number, number];
  scale_factor: [number, number];
  bboxes: number[][];
  scores: number[];
  labels: number[];
  category_ids: number[];
  roi_head_proposals?: { bboxes: number[][]; scores: number[] };
}
interface RefLoss {
  losses: Record<string, number | { sum: number }>;
  batch: { images: (RefImage & { gt_bboxes: number[][]; gt_labels: number[] })[] };
  roi_head_proposals?: { bboxes: number[][] }[];
}

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/** Our config of a fixture model, at the fixture's widths. */
function configOf(name: string, man: Manifest): DetectionConfig {
  const base = CONFIGS[name];
  assert.ok(base, `no tsvision config for fixture model ${name}`);
  const w = man.tiny_widths;
  if (!w) return base;
  const m = base.model as TwoStageModelConfig;
  const b = w.base_channels, o = w.neck_out;
  const model: TwoStageModelConfig = {
    ...m,
    backbone: { ...m.backbone, baseChannels: b },
    neck: { ...m.neck, inChannels: [b * 4, b * 8, b * 16, b * 32], outChannels: o },
    rpnHead: m.rpnHead && { ...m.rpnHead, inChannels: o, featChannels: o },
    roiHead: m.roiHead && { ...m.roiHead, bboxHead: { ...m.roiHead.bboxHead, inChannels: o, fcOutChannels: w.fc_out } },
  };
  return { ...base, model };
}

/** The fixture's deterministic sampler ('strided', see mmdet_fixtures.py strided_choice) in both samplers. */
function withStridedSampler(m: TwoStageModelConfig): TwoStageModelConfig {
  const t = m.trainCfg;
  return {
    ...m,
    trainCfg: {
      ...t,
      rpn: t.rpn && { ...t.rpn, sampler: { ...t.rpn.sampler, deterministic: 'strided' } },
      rcnn: t.rcnn && { ...t.rcnn, sampler: { ...t.rcnn.sampler, deterministic: 'strided' } },
    },
  };
}

function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** How many reference detections have a distinct counterpart in ours (same category, IoU ≥ 0.99, |Δscore| ≤ 1e-3). */
function countMatches(ours: { boxes: Float32Array; scores: Float32Array; cats: number[] }, ref: RefImage): number {
  const used = new Uint8Array(ours.scores.length);
  let matched = 0;
  ref.scores.forEach((s, k) => {
    for (let j = 0; j < ours.scores.length; j++) {
      if (used[j] || ours.cats[j] !== ref.category_ids[k] || Math.abs(ours.scores[j] - s) > 1e-3) continue;
      if (iou(ours.boxes.subarray(4 * j, 4 * j + 4), ref.bboxes[k]) >= 0.99) {
        used[j] = 1;
        matched++;
        break;
      }
    }
  });
  return matched;
}

const tensorOf = (rows: number[][]): Tensor => torch.tensor(rows.length ? rows : [], { shape: [rows.length, 4] });

/** Strict load of one checkpoint layout, then the detections of one image. */
async function inferenceCase(dir: string, man: Manifest, name: string, ckpt: string, imgName: string): Promise<void> {
  const cfg = configOf(name, man);
  const r = readJson<{ images: Record<string, RefImage> }>(path.join(dir, 'inference', `${name}.json`)).images[imgName];
  const d = loadDetector(cfg, path.join(dir, ckpt)); // strict: every key used, none missing
  const isRpn = cfg.model.type === 'RPN';
  const catIds = categoriesOf(cfg).ids;
  try {
    const batch = await prepareImage(cfg, path.join(dir, r.image));
    const det = torch.tidy(() => {
      const input = toDetBatch(batch);
      // Fast R-CNN: the proposals MMDetection's RoI head received (scaled and clipped by its pipeline)
      if (r.roi_head_proposals) input.proposals = [tensorOf(r.roi_head_proposals.bboxes)];
      return (d.model as TwoStageDetector).predict(input)[0];
    });
    const ours = {
      boxes: det.boxes.toTypedArray() as Float32Array,
      scores: det.scores.toTypedArray() as Float32Array,
      cats: det.labels.toArray().map((l) => (isRpn ? 1 : catIds[l])),
    };
    torch.dispose(det);
    // MMDetection labels proposals 0 (category 1)
    const n = countMatches(ours, isRpn ? { ...r, category_ids: r.scores.map(() => 1) } : r);
    const what = `${name} (${path.basename(ckpt)}) on ${imgName}`;
    console.log(`# ${what}: ${n} of ${r.scores.length} reproduced (ours ${ours.scores.length})`);
    assert.ok(n >= Math.ceil(MIN_MATCH * r.scores.length), `${what}: ${n} of ${r.scores.length} detections reproduced`);
  } finally {
    d.model.dispose?.();
  }
}

/** An image file as [3, H, W] uint8 RGB. */
async function decodeUint8(file: string): Promise<Tensor> {
  const img = await decodeImage({ bytes: fs.readFileSync(file), path: file, flop: false, interpolation: 'bilinear' }, 'rgb');
  return torch.tidy(() => torch.fromTypedArray(img.data, [img.height, img.width, 3]).permute(2, 0, 1).contiguous());
}

/**
 * Unresized uint8 images batched in MMDetection's DetDataPreprocessor arithmetic: channel
 * order, float, (x − mean) / std in 0..255, zero padding to the divisor. (The loss test
 * compares the model; preprocessImages' [0, 1]-based arithmetic differs in the last bits,
 * which is enough to flip near-tied proposals and with them the sampled RoIs.)
 */
function mmdetBatch(images: Tensor[], dp: DataPreprocessorConfig): DetBatch {
  return torch.tidy(() => {
    const d = dp.padSizeDivisor > 0 ? dp.padSizeDivisor : 1;
    const ph = Math.ceil(Math.max(...images.map((x) => x.size(1))) / d) * d;
    const pw = Math.ceil(Math.max(...images.map((x) => x.size(2))) / d) * d;
    const mean = torch.tensor(dp.mean).view(3, 1, 1);
    const std = torch.tensor(dp.std).view(3, 1, 1);
    const metas = images.map((x) => {
      const [h, w] = [x.size(1), x.size(2)];
      return { oriShape: [h, w], imgShape: [h, w], scaleFactor: [1, 1] } as DetImageMeta;
    });
    const planes = images.map((x, i) => {
      const c = (dp.order === 'bgr' ? x.flip([0]) : x).float().sub(mean).div(std);
      return torch.F.pad(c, [0, pw - metas[i].imgShape[1], 0, ph - metas[i].imgShape[0]]);
    });
    return { images: torch.stack(planes), metas };
  });
}

/** One training step's losses on MMDetection's batch, deterministic sampler on both sides. */
async function lossCase(dir: string, man: Manifest, name: string): Promise<void> {
  const base = configOf(name, man);
  const cfg: DetectionConfig = { ...base, model: withStridedSampler(base.model as TwoStageModelConfig) };
  const ref = readJson<RefLoss>(path.join(dir, 'losses', `${name}.json`));
  const d = loadDetector(cfg, path.join(dir, man.models[name].checkpoint));
  const model = d.model as TwoStageDetector;
  model.train();
  const images = await Promise.all(ref.batch.images.map((im) => decodeUint8(path.join(dir, im.image))));
  try {
    const losses = torch.noGrad(() => torch.tidy(() => {
      // the training pipeline of the fixture does not resize (scale_factor 1) nor flip
      const batch = mmdetBatch(images, cfg.model.dataPreprocessor);
      batch.targets = ref.batch.images.map((im) => ({
        boxes: tensorOf(im.gt_bboxes),
        labels: torch.tensor(im.gt_labels, { dtype: 'int64' }),
      }));
      if (ref.roi_head_proposals && cfg.model.type === 'FastRCNN') batch.proposals = ref.roi_head_proposals.map((p) => tensorOf(p.bboxes));
      const out = model.loss(batch);
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.item() as number]));
    }));
    for (const [key, v] of Object.entries(ref.losses)) {
      if (key === 'acc') continue; // a metric, not a loss
      const want = typeof v === 'number' ? v : v.sum;
      const got = losses[key];
      assert.ok(got !== undefined, `${name}: no ${key} among our losses (${Object.keys(losses).join(', ')})`);
      const rel = Math.abs(got - want) / Math.max(Math.abs(want), 1e-12);
      console.log(`# ${name} ${key}: ours ${got} mmdet ${want} (rel ${rel.toExponential(2)})`);
      assert.ok(rel <= 1e-4, `${name} ${key}: ${got} vs MMDetection's ${want} (relative ${rel})`);
    }
  } finally {
    torch.dispose(images);
    model.dispose?.();
  }
}

/**
 * The same training step through tsvision's own training data path: a COCO annotation file of
 * the fixture batch, CocoDetection, the loader with the config's (here empty: mmdet's Resize
 * scale_factor 1 and RandomFlip prob 0) pipeline plus the model's dataPreprocessor, collate,
 * DetectionModel.loss — the path `tsvision train` runs.
 */
async function pipelineLossCase(dir: string, man: Manifest, name: string): Promise<void> {
  const base = configOf(name, man);
  const ref = readJson<RefLoss>(path.join(dir, 'losses', `${name}.json`));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-mmdet-train-'));
  try {
    const ims = ref.batch.images as unknown as { image: string; img_id: number; ori_shape: [number, number]; gt_bboxes: number[][]; gt_category_ids: number[] }[];
    let annId = 0;
    const coco = {
      images: ims.map((im) => ({ id: im.img_id, file_name: path.basename(im.image), height: im.ori_shape[0], width: im.ori_shape[1] })),
      annotations: ims.flatMap((im) => im.gt_bboxes.map((b, k) => ({
        id: ++annId, image_id: im.img_id, category_id: im.gt_category_ids[k], iscrowd: 0,
        bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]], area: (b[2] - b[0]) * (b[3] - b[1]),
      }))),
      categories: base.data.classes!.map((n, i) => ({ id: base.data.categoryIds![i], name: n })),
    };
    const annFile = path.join(tmp, 'train.json');
    fs.writeFileSync(annFile, JSON.stringify(coco));
    let proposalFile: string | undefined;
    if (base.model.type === 'FastRCNN') {
      // what mmdet's RoI head received, in original pixels (scale 1): a COCO results file
      proposalFile = path.join(tmp, 'proposals.json');
      fs.writeFileSync(proposalFile, JSON.stringify(ref.roi_head_proposals!.flatMap((p, i) => p.bboxes.map((b, k) => ({
        image_id: ims[i].img_id, bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]], score: 1 - k / p.bboxes.length,
      })))));
    }
    const split = { annFile, imgDir: path.join(dir, path.dirname(ims[0].image)), proposalFile, numMaxProposals: null };
    const cfg: DetectionConfig = {
      ...base,
      model: { ...withStridedSampler(base.model as TwoStageModelConfig), backbone: { ...base.model.backbone, baseChannels: man.tiny_widths?.base_channels, initCfg: null } },
      data: { ...base.data, train: split, val: split, trainPipeline: [], batchSize: ims.length, workers: 0, groupByAspectRatio: false },
    };
    const model = detectionTask.buildModel(cfg) as DetectionModel;
    const sd = torch.loadStateDict(path.join(dir, man.models[name].checkpoint));
    try {
      model.loadStateDict(sd, { strict: true });
    } finally {
      torch.dispose([...sd.values()]);
    }
    model.train(true);
    const data = detectionTask.buildTrainData(cfg);
    let losses: Record<string, number> = {};
    try {
      for await (const batch of data.epoch(0) as AsyncIterable<Batch>) {
        assert.deepEqual(batch.shape, [2, 3, 256, 384]);
        losses = torch.noGrad(() => torch.tidy(() => Object.fromEntries(Object.entries(model.loss(batch)).map(([k, v]) => [k, v.item() as number]))));
      }
    } finally {
      await data.close?.();
    }
    for (const [key, v] of Object.entries(ref.losses)) {
      if (key === 'acc') continue;
      const want = typeof v === 'number' ? v : v.sum;
      const rel = Math.abs(losses[key] - want) / Math.max(Math.abs(want), 1e-12);
      console.log(`# ${name} (training pipeline) ${key}: ours ${losses[key]} mmdet ${want} (rel ${rel.toExponential(2)})`);
      assert.ok(rel <= 1e-4, `${name} ${key} through the training pipeline: ${losses[key]} vs MMDetection's ${want} (relative ${rel})`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

for (const set of SETS) {
  const manifestFile = path.join(set.dir, 'manifest.json');
  const skip = fs.existsSync(manifestFile) ? false
    : `no ${set.kind} MMDetection fixtures at ${path.relative(repoRoot, set.dir)} (make them: scripts/reference/make-mmdet-fixtures.sh${set.kind === 'full' ? ' --full' : ''})`;
  const man = skip ? null : readJson<Manifest>(manifestFile);
  for (const name of Object.keys(CONFIGS)) {
    const entry = man?.models[name];
    const layouts = entry ? [entry.checkpoint, ...(entry.mmdet2 ? [entry.mmdet2] : [])] : ['(checkpoint)'];
    const images = man ? Object.entries(readJson<{ images: Record<string, RefImage> }>(path.join(set.dir, 'inference', `${name}.json`)).images) : [];
    for (const ckpt of layouts) {
      for (const [imgName, r] of images.length ? images : [['(images)', null] as const]) {
        // img_480x640 goes through the test Resize (to 1067 x 800): the fused kernel reproduces cv2's INTER_LINEAR
        // bytes (test/data/image-kernels.test.ts), so it is held to the same standard as the unscaled image.
        test(`mmdet parity (${set.kind}): ${name} (${path.basename(ckpt)}) loads strictly, detections on ${imgName}`, { skip }, async () => {
          await inferenceCase(set.dir, man!, name, ckpt, imgName);
        });
      }
    }
    test(`mmdet parity (${set.kind}): ${name} one training step's losses equal MMDetection's`, { skip }, async () => {
      await lossCase(set.dir, man!, name);
    });
    if (set.kind === 'tiny') {
      test(`mmdet parity (${set.kind}): ${name} one training step through the training data pipeline`, { skip }, async () => {
        await pipelineLossCase(set.dir, man!, name);
      });
    }
  }
}
