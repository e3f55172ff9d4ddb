/**
 * Shared pieces of the MMDetection parity tests (test/models/mmdet_parity.test.ts and
 * mmdet_mask_parity.test.ts): fixture types, detection matching, MMDetection's batch arithmetic.
 */
import * as fs from 'node:fs';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { decodeImage } from '../../src/data/image';
import type { DataPreprocessorConfig, TwoStageModelConfig } from '../../src/models/detectors/build';
import type { DetBatch, DetImageMeta } from '../../src/models/detectors/types';

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
export interface RefLoss {
  losses: Record<string, number | { sum: number }>;
  batch: { images: (RefImage & { gt_bboxes: number[][]; gt_labels: number[]; gt_masks?: { size: [number, number]; counts: string }[] })[] };
  roi_head_proposals?: { bboxes: number[][] }[];
}

export const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/**
 * A model config at the fixture's widths (manifest tiny_widths; the full fixtures keep R-50's):
 * backbone base channels, neck, RPN, box head and the mask branch at the neck's width.
 */
export function atFixtureWidths(m: TwoStageModelConfig, man: Manifest): TwoStageModelConfig {
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
export function withStridedSampler(m: TwoStageModelConfig): TwoStageModelConfig {
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

export function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/**
 * Pairs each reference detection with a distinct one of ours (same category, box IoU ≥ 0.99,
 * |Δscore| ≤ 1e-3): pairs[k] is our index or -1.
 */
export function matchDetections(ours: { boxes: Float32Array; scores: Float32Array; cats: number[] }, ref: RefImage): number[] {
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
