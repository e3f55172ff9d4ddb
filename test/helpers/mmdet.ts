/**
 * Shared pieces of the MMDetection parity tests (test/models/mmdet_parity.test.ts and
 * mmdet_mask_parity.test.ts): fixture types, detection matching, MMDetection's batch arithmetic.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { loadDetector } from '../../src/apis/detection';
import type { Batch } from '../../src/data/collate';
import { decodeMask, rleFromJson } from '../../src/evaluation/coco/mask';
import { detectionTask, type DetectionConfig, type DetectionModel } from '../../src/tasks/detection/task';
import type { TwoStageDetector } from '../../src/models/detectors/two_stage';
import type { Tensor } from '../../src/torch';
import { decodeImage } from '../../src/data/image';
import type { DataPreprocessorConfig, DetectorModelConfig, TwoStageModelConfig } from '../../src/models/detectors/build';
import type { DetBatch, DetImageMeta } from '../../src/models/detectors/types';
import { iou } from './detection_match';

export interface Manifest {
  tiny_widths: { base_channels: number; neck_out: number; fc_out: number } | null;
  models: Record<string, { checkpoint: string; mmdet2?: string }>;
}
export interface RefImage {
  image: string;
  image_id: number;
  img_shape: [number, number];
  scale_factor: [number, number];
  bboxes: number[][];
  scores: number[];
  labels: number[];
  category_ids: number[];
  roi_head_proposals?: { bboxes: number[][]; scores: number[] };
  /** Mask models: each detection's pasted mask, compressed RLE. */
  masks?: { size: [number, number]; counts: string }[];
}
type RleJson = { size: [number, number]; counts: string };
export interface RefLoss {
  losses: Record<string, number | { sum: number }>;
  batch: {
    images: (RefImage & {
      img_id: number; ori_shape: [number, number]; gt_bboxes: number[][]; gt_labels: number[]; gt_category_ids: number[];
      /** Mask models: the gt masks, compressed RLE at the image's size. */
      gt_masks?: RleJson[];
    })[];
  };
  roi_head_proposals?: { bboxes: number[][] }[];
}

export const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/**
 * A model config at the fixture's widths (manifest tiny_widths; the full fixtures keep R-50's):
 * backbone base channels, neck, RPN, box head and the mask branch at the neck's width.
 */
/** The config as a two-stage one (these fixtures are of two-stage detectors). */
export function twoStage(m: DetectorModelConfig): TwoStageModelConfig {
  assert.ok(m.type !== 'RetinaNet', `expected a two-stage detector config, got ${m.type}`);
  return m;
}

export function atFixtureWidths(model: DetectorModelConfig, man: Manifest): TwoStageModelConfig {
  const m = twoStage(model);
  const w = man.tiny_widths;
  if (!w) return m;
  const b = w.base_channels, o = w.neck_out;
  const r = m.roiHead;
  return {
    ...m,
    backbone: { ...m.backbone, baseChannels: b },
    neck: { ...m.neck, inChannels: [b * 4, b * 8, b * 16, b * 32], outChannels: o },
    rpnHead: m.rpnHead && { ...m.rpnHead, inChannels: o, featChannels: o },
    roiHead: r && {
      ...r,
      bboxHead: { ...r.bboxHead, inChannels: o, fcOutChannels: w.fc_out },
      ...(r.maskHead ? { maskHead: { ...r.maskHead, inChannels: o, convOutChannels: o } } : {}),
    },
  };
}

/** The fixture's deterministic sampler ('strided', see mmdet_fixtures.py strided_choice) in both samplers. */
export function withStridedSampler(model: DetectorModelConfig): TwoStageModelConfig {
  const m = twoStage(model);
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

export { iou };

/**
 * Pairs each reference detection with a distinct one of ours (same category, box IoU ≥ 0.99,
 * |Δscore| ≤ 1e-3): pairs[k] is our index or -1.
 */
export function matchDetections(ours: { boxes: Float32Array; scores: Float32Array; cats: number[] }, ref: Pick<RefImage, 'bboxes' | 'scores' | 'category_ids'>): number[] {
  const used = new Uint8Array(ours.scores.length);
  return ref.scores.map((s, k) => {
    for (let j = 0; j < ours.scores.length; j++) {
      if (used[j] || ours.cats[j] !== ref.category_ids[k] || Math.abs(ours.scores[j] - s) > 1e-3) continue;
      if (iou(ours.boxes.subarray(4 * j, 4 * j + 4), ref.bboxes[k]) >= 0.99) {
        used[j] = 1;
        return j;
      }
    }
    return -1;
  });
}

/** How many reference detections have a distinct counterpart in ours (see matchDetections). */
export function countMatches(ours: { boxes: Float32Array; scores: Float32Array; cats: number[] }, ref: RefImage): number {
  return matchDetections(ours, ref).filter((j) => j >= 0).length;
}

export const tensorOf = (rows: number[][]): Tensor => torch.tensor(rows.length ? rows : [], { shape: [rows.length, 4] });

/** An image file as [3, H, W] uint8 RGB. */
export async function decodeUint8(file: string): Promise<Tensor> {
  const img = await decodeImage({ bytes: fs.readFileSync(file), path: file, flop: false, interpolation: 'bilinear' }, 'rgb');
  return torch.tidy(() => torch.fromTypedArray(img.data, [img.height, img.width, 3]).permute(2, 0, 1).contiguous());
}

/**
 * Unresized uint8 images batched in MMDetection's DetDataPreprocessor arithmetic: channel
 * order, float, (x − mean) / std in 0..255, zero padding to the divisor. (The loss test
 * compares the model; preprocessImages' [0, 1]-based arithmetic differs in the last bits,
 * which is enough to flip near-tied proposals and with them the sampled RoIs.)
 */
export function mmdetBatch(images: Tensor[], dp: DataPreprocessorConfig): DetBatch {
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

/** Asserts every loss term of MMDetection's (not its acc metric) equals ours to 1e-4 relative, printing both. */
export function assertLossesEqual(what: string, ref: RefLoss, losses: Record<string, number>): void {
  for (const [key, v] of Object.entries(ref.losses)) {
    if (key === 'acc') continue; // a metric, not a loss
    const want = typeof v === 'number' ? v : v.sum;
    const got = losses[key];
    assert.ok(got !== undefined, `${what}: no ${key} among our losses (${Object.keys(losses).join(', ')})`);
    const rel = Math.abs(got - want) / Math.max(Math.abs(want), 1e-12);
    console.log(`# ${what} ${key}: ours ${got} mmdet ${want} (rel ${rel.toExponential(2)})`);
    assert.ok(rel <= 1e-4, `${what} ${key}: ${got} vs MMDetection's ${want} (relative ${rel})`);
  }
}

/**
 * One training step's losses on MMDetection's batch (unresized images in its preprocessing
 * arithmetic, the fixture's gt boxes, gt masks zero-padded to the batch as its pad_mask, Fast
 * R-CNN: the proposals its RoI head received); `cfg` should carry the strided sampler.
 */
export async function fixtureBatchLosses(dir: string, man: Manifest, name: string, cfg: DetectionConfig, ref: RefLoss): Promise<Record<string, number>> {
  const d = loadDetector(cfg, path.join(dir, man.models[name].checkpoint));
  const model = d.model as TwoStageDetector;
  model.train();
  const images = await Promise.all(ref.batch.images.map((im) => decodeUint8(path.join(dir, im.image))));
  try {
    return torch.noGrad(() => torch.tidy(() => {
      // the training pipeline of the fixture does not resize (scale_factor 1) nor flip
      const batch = mmdetBatch(images, cfg.model.dataPreprocessor);
      const [, , ph, pw] = batch.images.shape;
      batch.targets = ref.batch.images.map((im) => ({
        boxes: tensorOf(im.gt_bboxes),
        labels: torch.tensor(im.gt_labels, { dtype: 'int64' }),
        ...(im.gt_masks ? {
          masks: torch.stack(im.gt_masks.map((j) => {
            const [h, w] = j.size;
            return torch.F.pad(torch.fromTypedArray(decodeMask(rleFromJson(j)), [w, h]).t(), [0, pw - w, 0, ph - h]);
          })),
        } : {}),
      }));
      if (ref.roi_head_proposals && cfg.model.type === 'FastRCNN') batch.proposals = ref.roi_head_proposals.map((p) => tensorOf(p.bboxes));
      const out = model.loss(batch);
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.item() as number]));
    }));
  } finally {
    torch.dispose(images);
    model.dispose?.();
  }
}

/**
 * The same training step through tsvision's own training data path: a COCO annotation file of
 * the fixture batch (with its gt masks as RLE segmentations when it has some), CocoDetection,
 * the loader with an empty pipeline (mmdet's Resize scale_factor 1 and RandomFlip prob 0) plus
 * the model's dataPreprocessor, collate, DetectionModel.loss — the path `tsvision train` runs.
 * `configure` turns the split of that annotation file into the config to train with (`tmp` is
 * a folder it may write more inputs into, such as proposals); `checkpoint` is loaded strictly.
 */
export async function lossesThroughLoader(ref: { batch: { images: Pick<RefLoss['batch']['images'][number], 'image' | 'img_id' | 'ori_shape' | 'gt_bboxes' | 'gt_category_ids' | 'gt_masks'>[] } }, imgDir: string, checkpoint: string, categories: { names: string[]; ids: number[] },
  configure: (split: { annFile: string; imgDir: string }, tmp: string) => DetectionConfig): Promise<Record<string, number>> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-mmdet-train-'));
  try {
    const ims = ref.batch.images;
    let annId = 0;
    const coco = {
      images: ims.map((im) => ({ id: im.img_id, file_name: path.basename(im.image), height: im.ori_shape[0], width: im.ori_shape[1] })),
      annotations: ims.flatMap((im) => im.gt_bboxes.map((b, k) => ({
        id: ++annId, image_id: im.img_id, category_id: im.gt_category_ids[k], iscrowd: 0,
        bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]], area: (b[2] - b[0]) * (b[3] - b[1]),
        ...(im.gt_masks ? { segmentation: im.gt_masks[k] } : {}),
      }))),
      categories: categories.names.map((n, i) => ({ id: categories.ids[i], name: n })),
    };
    const annFile = path.join(tmp, 'train.json');
    fs.writeFileSync(annFile, JSON.stringify(coco));
    const base = configure({ annFile, imgDir }, tmp);
    const cfg: DetectionConfig = { ...base, data: { ...base.data, trainPipeline: [], batchSize: ims.length, workers: 0, groupByAspectRatio: false } };
    const model = detectionTask.buildModel(cfg) as DetectionModel;
    const sd = torch.loadStateDict(checkpoint);
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
        assert.deepEqual(batch.shape, [ims.length, 3, 256, 384]);  // both fixtures' training batch
        losses = torch.noGrad(() => torch.tidy(() => Object.fromEntries(Object.entries(model.loss(batch)).map(([k, v]) => [k, v.item() as number]))));
      }
    } finally {
      await data.close?.();
      model.detector.dispose();
    }
    return losses;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** lossesThroughLoader for the mmdet fixture models (at the fixture's widths, strided sampler; Fast R-CNN gets mmdet's proposals). */
export async function pipelineLosses(dir: string, man: Manifest, name: string, base: DetectionConfig, ref: RefLoss): Promise<Record<string, number>> {
  const ims = ref.batch.images;
  return lossesThroughLoader(ref, path.join(dir, path.dirname(ims[0].image)), path.join(dir, man.models[name].checkpoint),
    { names: base.data.classes!, ids: base.data.categoryIds! }, (split, tmp) => {
      let proposalFile: string | undefined;
      if (base.model.type === 'FastRCNN') {
        // what mmdet's RoI head received, in original pixels (scale 1): a COCO results file
        proposalFile = path.join(tmp, 'proposals.json');
        fs.writeFileSync(proposalFile, JSON.stringify(ref.roi_head_proposals!.flatMap((p, i) => p.bboxes.map((b, k) => ({
          image_id: ims[i].img_id, bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]], score: 1 - k / p.bboxes.length,
        })))));
      }
      const full = { ...split, proposalFile, numMaxProposals: null };
      return {
        ...base,
        model: { ...withStridedSampler(base.model), backbone: { ...base.model.backbone, baseChannels: man.tiny_widths?.base_channels, initCfg: null } },
        data: { ...base.data, train: full, val: full },
      };
    });
}
