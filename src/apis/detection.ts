/**
 * Detector inference from a config and a checkpoint: loading, single-image
 * prediction in COCO results format (for `tsvision infer` and `demo`).
 */
import * as fs from 'node:fs';
import * as torch from '../torch';
import type { LoadedConfig } from '../config';
import { loadModelWeights, loadWeights } from '../engine/checkpoint';
import { LocalBackend } from '../data/backends';
import { collate, type Batch } from '../data/collate';
import { imageSize } from '../data/image';
import { processSample } from '../data/process';
import { buildPipeline } from '../data/transforms';
import type { CocoResult } from '../evaluation';
import { buildDetector, DETECTOR_TYPES, numClassesOf } from '../models/detectors/build';
import { toCocoResults, toDetBatch } from '../tasks/detection/data';
import { withModelPreprocessing, type DetectionConfig } from '../tasks/detection/task';
import { loadTorchvisionWeights, predictTorchvision } from '../models/detectors/torchvision';
import { decodeImage } from '../data/image';
import type { Detector } from '../models/detectors/types';

/** A detector ready for inference, with what is needed to report its classes. */
export interface LoadedDetector {
  config: DetectionConfig;
  model: Detector;
  /** Category id of each label (the dataset's ids; torchvision configs: the label itself). */
  categoryIds: number[];
  /** Class name by category id, when known. */
  classNames: Map<number, string>;
}

/** Throws unless the loaded config is a detection config. */
export function asDetectionConfig(loaded: LoadedConfig, what: string): DetectionConfig {
  const cfg = loaded.config as Partial<DetectionConfig>;
  const type = cfg.model?.type;
  if (!(DETECTOR_TYPES as readonly unknown[]).includes(type)) {
    throw new Error(`${what}: ${loaded.name} is not a detection config (model.type ${String(type)})`);
  }
  return loaded.config as DetectionConfig;
}

function isTorchvision(cfg: DetectionConfig): boolean {
  return cfg.model.dataPreprocessor.torchvisionResize !== undefined;
}

/**
 * Category ids and names of the labels: the config's (data.classes + data.categoryIds, as
 * MMDetection's dataset metainfo), else the val annotation file's, else 1..numClasses.
 */
export function categoriesOf(cfg: DetectionConfig): { ids: number[]; names: Map<number, string> } {
  const numClasses = numClassesOf(cfg.model);
  const { classes, categoryIds } = cfg.data ?? {};
  if (categoryIds) {
    if (categoryIds.length !== numClasses && cfg.model.type !== 'RPN') {
      throw new Error(`data.categoryIds: ${categoryIds.length} ids for the model's ${numClasses} classes`);
    }
    return { ids: [...categoryIds], names: new Map(categoryIds.map((id, i) => [id, classes?.[i] ?? String(id)])) };
  }
  const ann = cfg.data?.val?.annFile;
  if (ann && fs.existsSync(ann)) {
    const json = JSON.parse(fs.readFileSync(ann, 'utf8')) as { categories?: { id: number; name: string }[] };
    const cats = json.categories ?? [];
    return { ids: cats.map((c) => c.id), names: new Map(cats.map((c) => [c.id, c.name])) };
  }
  const ids = Array.from({ length: numClasses }, (_, i) => i + 1);
  return { ids, names: new Map((classes ?? []).map((n, i) => [i + 1, n])) };
}

export interface LoadDetectorOptions {
  /**
   * true (default): the checkpoint must fit the model exactly (a StateDictMismatchError otherwise).
   * false: load the tensors that match and report the rest through `log`; a checkpoint that
   * matches nothing is still an error. torchvision .pth checkpoints always load strictly.
   */
  strict?: boolean;
  /** Where a non-strict load reports what it did not load (default: console.error). */
  log?: (line: string) => void;
}

/** Builds the config's detector and loads a checkpoint (ours, or a PyTorch .pth). */
export function loadDetector(cfg: DetectionConfig, checkpoint?: string, opts: LoadDetectorOptions = {}): LoadedDetector {
  const model = buildDetector(cfg.model);
  if (checkpoint) {
    if (!fs.existsSync(checkpoint)) throw new Error(`checkpoint not found: ${checkpoint}`);
    const torchvisionPth = isTorchvision(cfg) && checkpoint.endsWith('.pth');
    const sd = torchvisionPth ? torch.loadStateDict(checkpoint) : loadWeights(checkpoint);
    try {
      if (torchvisionPth) loadTorchvisionWeights(model, sd);
      else loadModelWeights(model, sd, { strict: opts.strict ?? true, file: checkpoint, log: opts.strict === false ? opts.log ?? ((line) => console.error(line)) : undefined });
    } finally {
      torch.dispose([...sd.values()]);
    }
  }
  model.eval();
  if (isTorchvision(cfg)) {
    // two-stage: 91 with the background at 0; RetinaNet: 91 (label = index)
    const n = numClassesOf(cfg.model) + (cfg.model.type === 'RetinaNet' ? 0 : 1);
    return { config: cfg, model, categoryIds: Array.from({ length: n }, (_, i) => i), classNames: new Map() };
  }
  const { ids, names } = categoriesOf(cfg);
  return { config: cfg, model, categoryIds: ids, classNames: names };
}

/** One image file through the config's test pipeline, as a collated batch. */
export async function prepareImage(cfg: DetectionConfig, imgPath: string): Promise<Batch> {
  if (!fs.existsSync(imgPath)) throw new Error(`image not found: ${imgPath}`);
  const { width, height } = await imageSize(fs.readFileSync(imgPath), imgPath);
  const backend = new LocalBackend();
  try {
    const sample = await processSample(
      { index: 0, seed: 0, info: { imgId: 0, imgPath, width, height, boxes: [], labels: [] } },
      backend, buildPipeline(withModelPreprocessing(cfg.data.testPipeline, cfg.model.dataPreprocessor, 'data.testPipeline')), { order: cfg.model.dataPreprocessor.order },
    );
    return collate([sample]);
  } finally {
    await backend.close();
  }
}

/** Detections for one image file, as COCO results (image_id 0). */
export async function inferImage(d: LoadedDetector, imgPath: string): Promise<CocoResult[]> {
  if (isTorchvision(d.config)) {
    const img = await readImageTensor(imgPath);
    let det;
    try {
      det = predictTorchvision(d.model, d.config.model, [img])[0];
    } finally {
      img.dispose();
    }
    try {
      // Mask R-CNN: torchvision's mask probabilities, thresholded at 0.5 as its users do
      const out = det.masks && det.masks.dtype !== 'bool' ? { ...det, masks: det.masks.ge(0.5) } : det;
      if (out !== det) det.masks!.dispose();
      det = out;
      return toCocoResults([det], [{ meta: { imgId: 0 } as Batch['items'][number]['meta'] }], d.categoryIds);
    } finally {
      torch.dispose(det);
    }
  }
  const batch = await prepareImage(d.config, imgPath);
  return torch.tidy(() => toCocoResults(d.model.predict(toDetBatch(batch)), batch.items, d.categoryIds));
}

/** Decodes an image file to [3, H, W] float32 RGB in [0, 1] (as torchvision's to_tensor). */
export async function readImageTensor(imgPath: string): Promise<torch.Tensor> {
  const img = await decodeImage({ bytes: await fs.promises.readFile(imgPath), path: imgPath, flop: false, interpolation: 'bilinear' }, 'rgb');
  return torch.tidy(() => torch.fromTypedArray(img.data, [img.height, img.width, 3])
    .permute(2, 0, 1).float().div(255).contiguous());
}
