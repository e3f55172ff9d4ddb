/**
 * Semantic-segmentation inference from a config and a checkpoint: loading, one image through the
 * test pipeline, its label map at the image's size (for `tsvision infer --out PRED.png`, `demo`
 * and scripts), and writing label maps as single-channel PNGs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import * as torch from '../torch';
import type { LoadedConfig } from '../config';
import { loadModelWeights, loadWeights } from '../engine/checkpoint';
import { LocalBackend } from '../data/backends';
import { collate, type Batch } from '../data/collate';
import { imageSize } from '../data/image';
import { processSample } from '../data/process';
import { buildPipeline } from '../data/transforms';
import { ADE20K_PALETTE, CITYSCAPES_PALETTE, VOC_PALETTE } from '../data/datasets/seg-metainfo';
import { buildSegmentor } from '../models/segmentors/build';
import type { SegPrediction, Segmentor } from '../models/segmentors/types';
import { isTorchvisionSegStateDict, loadTorchvisionSegWeights } from '../models/segmentors/torchvision';
import { toSegBatch, withSegPreprocessing } from '../tasks/segmentation/data';
import type { SegmentationConfig, SegSplitConfig } from '../tasks/segmentation/task';

export type Rgb = [number, number, number];

/** A segmentor ready for inference, with its class names and drawing colours. */
export interface LoadedSegmentor {
  config: SegmentationConfig;
  model: Segmentor;
  /** Class names in label order (the config's, the shapes-seg classes.json, else '0', '1', ...). */
  classes: string[];
  /** One RGB colour per class: mmseg's dataset palette (Cityscapes, ADE20K, VOC), else generated. */
  palette: Rgb[];
}

/** One image's prediction: class indices at the image's size. */
export interface SegmentationResult {
  /** [height * width] class indices, row-major. */
  labels: Uint8Array;
  height: number;
  width: number;
}

/** Throws unless the loaded config is a semantic-segmentation config. */
export function asSegmentationConfig(loaded: LoadedConfig, what: string): SegmentationConfig {
  const cfg = loaded.config as Partial<SegmentationConfig>;
  if (loaded.task.name !== 'segmentation' || cfg.model?.type !== 'EncoderDecoder') {
    throw new Error(`${what}: ${loaded.name} is not a semantic-segmentation config (task ${loaded.task.name}, model.type ${String(cfg.model?.type)})`);
  }
  return loaded.config as SegmentationConfig;
}

/** Whether a loaded config is a semantic-segmentation config (the CLI's dispatch). */
export function isSegmentationConfig(loaded: LoadedConfig): boolean {
  return loaded.task.name === 'segmentation';
}

function firstSplit(cfg: SegmentationConfig): SegSplitConfig {
  return cfg.data.val;
}

/** Class names: the config's, else the shapes-seg dataset's classes.json, else the label indices. */
export function segClassesOf(cfg: SegmentationConfig): string[] {
  const n = cfg.model.decodeHead.numClasses;
  if (cfg.data.classes) return [...cfg.data.classes];
  const s = firstSplit(cfg);
  if (s.kind === 'shapes-seg') {
    const file = path.join(s.dataRoot, 'classes.json');
    if (fs.existsSync(file)) {
      const names = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
      if (Array.isArray(names) && names.length === n) return names.map(String);
    }
  }
  return Array.from({ length: n }, (_, i) => String(i));
}

/** mmseg's palette of the config's dataset; other datasets get evenly spread, saturated colours. */
export function segPaletteOf(cfg: SegmentationConfig): Rgb[] {
  const n = cfg.model.decodeHead.numClasses;
  const kind = firstSplit(cfg).kind;
  const known = kind === 'cityscapes' ? CITYSCAPES_PALETTE : kind === 'ade20k' ? ADE20K_PALETTE : kind === 'voc' ? VOC_PALETTE : null;
  if (known && known.length === n) return known.map((c) => [c[0], c[1], c[2]]);
  return generatedPalette(n);
}

/** n distinct colours: hues by the golden angle, class 0 black (background in most label sets). */
export function generatedPalette(n: number): Rgb[] {
  return Array.from({ length: n }, (_, i): Rgb => {
    if (i === 0) return [0, 0, 0];
    const h = (i * 137.508) % 360;
    const f = (k: number) => {
      const x = (k + h / 60) % 6;
      return Math.round(255 * (1 - Math.max(0, Math.min(x, 4 - x, 1)) * 0.85));
    };
    return [f(5), f(3), f(1)];
  });
}

/** Builds the config's segmentor and loads a checkpoint (ours, or an mmseg .pth: the same key names). */
export function loadSegmentor(cfg: SegmentationConfig, checkpoint?: string, opts: { strict?: boolean; log?: (line: string) => void } = {}): LoadedSegmentor {
  const model = buildSegmentor(cfg.model);
  if (checkpoint) {
    if (!fs.existsSync(checkpoint)) throw new Error(`checkpoint not found: ${checkpoint}`);
    const sd = loadWeights(checkpoint);
    try {
      // a torchvision fcn_* / deeplabv3_* .pth: through its key map, always strictly
      if (checkpoint.endsWith('.pth') && isTorchvisionSegStateDict(sd)) loadTorchvisionSegWeights(model, sd);
      else loadModelWeights(model, sd, { strict: opts.strict ?? true, file: checkpoint, log: opts.strict === false ? opts.log ?? ((line) => console.error(line)) : undefined });
    } finally {
      torch.dispose([...sd.values()]);
    }
  }
  model.eval();
  return { config: cfg, model, classes: segClassesOf(cfg), palette: segPaletteOf(cfg) };
}

/** One image file through the config's test pipeline and the model's preprocessing, as a collated batch. */
export async function prepareSegImage(cfg: SegmentationConfig, imgPath: string): Promise<Batch> {
  if (!fs.existsSync(imgPath)) throw new Error(`image not found: ${imgPath}`);
  const { width, height } = await imageSize(fs.readFileSync(imgPath), imgPath);
  const backend = new LocalBackend();
  try {
    const pipeline = buildPipeline(withSegPreprocessing(cfg.data.testPipeline, cfg.model.dataPreprocessor, 'data.testPipeline', false));
    const sample = await processSample({ index: 0, seed: 0, info: { imgId: 0, imgPath, width, height, boxes: [], labels: [] } }, backend, pipeline, { order: cfg.model.dataPreprocessor.order });
    return collate([sample]);
  } finally {
    await backend.close();
  }
}

/**
 * One image file through the test pipeline, the model's preprocessing and predict(): mmseg's
 * inference_model. Logits [C, H, W] and labels [H, W] at the image's own size (its seg_logits and
 * pred_sem_seg); the caller disposes them.
 */
export async function predictSegImage(seg: LoadedSegmentor, imgPath: string): Promise<SegPrediction> {
  const batch = await prepareSegImage(seg.config, imgPath);
  const [height, width] = batch.items[0].meta.oriShape;
  return torch.noGrad(() => {
    const [pred] = torch.tidy(() => seg.model.predict(toSegBatch(batch)));
    const [h, w] = pred.labels.shape;
    if (h !== height || w !== width) {
      torch.dispose([pred.logits, pred.labels]);
      throw new Error(`predictSegImage: the model predicted ${h}x${w} for an image of ${height}x${width}`);
    }
    return pred;
  });
}

/**
 * The label map of one image at its own size. `model` is a loaded segmentor, or a config (built
 * with random weights: for shapes and smoke tests).
 */
export async function inferSegmentation(model: LoadedSegmentor | SegmentationConfig, imgPath: string): Promise<SegmentationResult> {
  const seg = 'model' in model && 'palette' in model ? model : loadSegmentor(model);
  try {
    const pred = await predictSegImage(seg, imgPath);
    const [height, width] = pred.labels.shape;
    const labels = torch.tidy(() => pred.labels.clamp({ min: 0, max: 255 }).to('uint8').contiguous().toTypedArray() as Uint8Array);
    torch.dispose([pred.logits, pred.labels]);
    return { labels, height, width };
  } finally {
    if (seg !== model) seg.model.dispose();
  }
}

/**
 * Writes a label map as a single-channel 8-bit PNG of class indices (mmseg's and Cityscapes'
 * prediction format), through a temporary file renamed into place.
 */
export async function writeLabelPng(result: SegmentationResult, out: string): Promise<void> {
  const { labels, width, height } = result;
  if (labels.length !== width * height) throw new Error(`writeLabelPng: ${labels.length} labels for ${width}x${height}`);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}.png`;
  try {
    // b-w: one 8-bit channel (sharp would otherwise write an RGB PNG of a single-channel input)
    await sharp(labels, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toFile(tmp);
    fs.renameSync(tmp, out);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
