/**
 * Top-down pose inference from a config and a checkpoint (MMPose 1.x's mmpose.apis): loading,
 * person boxes of one image through the test pipeline to COCO keypoint results
 * (inference_topdown), person boxes read from a COCO-results file, and detector + pose in one
 * call (demo/topdown_demo_with_mmdet.py), for `tsvision infer`, `demo`, `topdown-demo` and scripts.
 *
 * Shapes: N person boxes, K keypoints (COCO's 17).
 */
import * as fs from 'node:fs';
import * as torch from '../torch';
import { resolveConfig, type LoadedConfig } from '../config';
import { loadModelWeights, loadWeights } from '../engine/checkpoint';
import { LocalBackend } from '../data/backends';
import { collate, type Batch } from '../data/collate';
import { imageSize } from '../data/image';
import { processSample } from '../data/process';
import { buildPipeline } from '../data/transforms';
import type { CocoResult } from '../evaluation';
import { CocoFormatError, isFiniteNumber, isNumberArray, readJsonFile, show } from '../evaluation/coco/errors';
import { poseTask, withPosePreprocessing, type PoseConfig, type PoseModel } from '../tasks/pose/task';
import { bboxKeypointScore } from '../tasks/pose/evaluator';
import { boxNms } from '../tasks/pose/oks_nms';
import { asDetectionConfig, inferImage, loadDetector } from './detection';

/** A top-down pose estimator ready for inference (its flip indices inside PoseModel). */
export interface LoadedPoseEstimator {
  config: PoseConfig;
  /** The estimator behind the task's model wrapper (collated batches in, the config's flip test). */
  model: PoseModel;
}

/** One person's keypoints in COCO's keypoint results format. */
export interface PoseResult extends CocoResult {
  /** 1 (person). */
  category_id: number;
  /** [K*3] x, y (original-image pixels), keypoint score (heatmap maximum). */
  keypoints: number[];
  /** The person box [x, y, w, h] in original-image pixels, as given. */
  bbox: number[];
  /** The box's score (1 when none was given): MMPose's bbox_score. */
  bbox_score: number;
}

/** A person box: [x, y, w, h] (COCO) or [x1, y1, x2, y2] per the call's bboxFormat, and its detection score. */
export interface PersonBox {
  bbox: readonly number[];
  /** Default 1 (MMPose's inference_topdown sets every bbox_score to 1). */
  score?: number;
}

/** Whether a loaded config is a top-down pose config (the CLI's dispatch). */
export function isPoseConfig(loaded: LoadedConfig): boolean {
  return loaded.task.name === 'pose';
}

/** Throws unless the loaded config is a top-down pose config. */
export function asPoseConfig(loaded: LoadedConfig, what: string): PoseConfig {
  const cfg = loaded.config as Partial<PoseConfig>;
  if (!isPoseConfig(loaded) || cfg.model?.type !== 'TopdownPoseEstimator') {
    throw new Error(`${what}: ${loaded.name} is not a top-down pose config (task ${loaded.task.name}, model.type ${String(cfg.model?.type)})`);
  }
  return loaded.config as PoseConfig;
}

/**
 * Builds the config's estimator and loads a checkpoint: ours (.safetensors) or an MMPose .pth,
 * whose key names are the same (backbone.*, head.*). Strict by default, as loadSegmentor;
 * without a checkpoint, the config's random initialization (no pretrained download).
 */
export function loadPoseEstimator(cfg: PoseConfig, checkpoint?: string, opts: { strict?: boolean; log?: (line: string) => void } = {}): LoadedPoseEstimator {
  const model = poseTask.buildModel(cfg) as PoseModel;
  if (checkpoint) {
    const sd = loadWeights(checkpoint);
    try {
      loadModelWeights(model, sd, { strict: opts.strict ?? true, file: checkpoint, log: opts.strict === false ? opts.log ?? ((line) => console.error(line)) : undefined });
    } catch (e) {
      model.estimator.dispose();
      throw e;
    } finally {
      torch.dispose([...sd.values()]);
    }
  }
  model.eval();
  return { config: cfg, model };
}

/** Frees the estimator's native tensors. */
export function disposePoseEstimator(p: LoadedPoseEstimator): void {
  p.model.estimator.dispose();
}

/**
 * The person crops of one image through the config's test pipeline (GetBBoxCenterScale,
 * TopdownAffine) and the model's preprocessing, collated in box order. `boxes` [N][4] xyxy
 * image pixels (float32, as MMPose's arrays), `scores` [N].
 */
export async function prepareTopdownCrops(cfg: PoseConfig, imgPath: string, boxes: ReadonlyArray<readonly number[]>, scores: readonly number[]): Promise<Batch> {
  const { width, height } = await imageSize(fs.readFileSync(imgPath), imgPath);
  const pipeline = buildPipeline(withPosePreprocessing(cfg.data.testPipeline, cfg.model.dataPreprocessor, 'data.testPipeline'));
  const backend = new LocalBackend();
  try {
    const samples = [];
    for (const [i, b] of boxes.entries()) {
      const info = { imgId: 0, imgPath, width, height, boxes: b.map(Math.fround), labels: [0], boxScore: scores[i], instanceId: i };
      samples.push(await processSample({ index: i, seed: 0, info }, backend, pipeline, { order: cfg.model.dataPreprocessor.order }));
    }
    return collate(samples);
  } finally {
    await backend.close();
  }
}

/**
 * MMPose's inference_topdown(model, img, bboxes, bbox_format): each box through the config's test
 * pipeline and preprocessing, predicted in batches of data.valBatchSize with the config's flip
 * test, keypoints decoded back to image pixels. One COCO keypoint result per box, in box order
 * (image_id 0, category_id 1, bbox [x, y, w, h]).
 *
 * No boxes (undefined or an empty list): the whole image is one box [0, 0, w, h], as MMPose does.
 *
 * `score`: MMPose's inference_topdown gives no instance score (its demo saves keypoints,
 * keypoint_scores, bbox and bbox_score); ours is CocoMetric's default rescoring ('bbox_keypoint'):
 * the box's score (1 when not given) times the mean of the keypoint scores above 0.2 (0 when none
 * is), so results rank as `tsvision test` ranks them.
 */
export async function inferTopdown(p: LoadedPoseEstimator, imgPath: string, bboxes?: ReadonlyArray<PersonBox | readonly number[]>, opts: { bboxFormat?: 'xyxy' | 'xywh' } = {}): Promise<PoseResult[]> {
  if (!fs.existsSync(imgPath)) throw new Error(`image not found: ${imgPath}`);
  const format = opts.bboxFormat ?? 'xyxy';
  if (format !== 'xyxy' && format !== 'xywh') throw new Error(`inferTopdown: bboxFormat must be 'xyxy' or 'xywh', got ${show(format)}`);
  let boxes: number[][]; // xyxy
  let cocoBoxes: number[][]; // xywh, as given
  let scores: number[];
  if (!bboxes || bboxes.length === 0) {
    const { width, height } = await imageSize(fs.readFileSync(imgPath), imgPath);
    boxes = [[0, 0, width, height]];
    cocoBoxes = [[0, 0, width, height]];
    scores = [1];
  } else {
    const given = bboxes.map((b, i) => {
      const v = 'bbox' in b ? b.bbox : b;
      if (!isNumberArray(v, 4)) throw new Error(`inferTopdown: box ${i}: expected 4 finite numbers, got ${show(v)}`);
      return [...v];
    });
    // float32, as MMPose's bbox_xywh2xyxy on its float32 arrays (and CocoKeypoints' detection boxes)
    const f = Math.fround;
    boxes = format === 'xywh' ? given.map((b) => { const [x, y, w, h] = b.map(f); return [x, y, f(x + w), f(y + h)]; }) : given;
    cocoBoxes = format === 'xywh' ? given : given.map(([x1, y1, x2, y2]) => [x1, y1, x2 - x1, y2 - y1]);
    scores = bboxes.map((b) => ('bbox' in b && b.score !== undefined ? b.score : 1));
  }
  const bs = p.config.data.valBatchSize;
  const results: PoseResult[] = [];
  for (let start = 0; start < boxes.length; start += bs) {
    const batch = await prepareTopdownCrops(p.config, imgPath, boxes.slice(start, start + bs), scores.slice(start, start + bs));
    const preds = torch.tidy(() => p.model.predict(batch));
    preds.forEach((pred, j) => {
      const k = pred.scores.length;
      const keypoints: number[] = new Array(3 * k);
      for (let i = 0; i < k; i++) {
        keypoints[3 * i] = pred.keypoints[2 * i];
        keypoints[3 * i + 1] = pred.keypoints[2 * i + 1];
        keypoints[3 * i + 2] = pred.scores[i];
      }
      const bboxScore = scores[start + j];
      results.push({ image_id: 0, category_id: 1, keypoints, score: bboxKeypointScore(bboxScore, pred.scores, 0.2), bbox: cocoBoxes[start + j], bbox_score: bboxScore });
      torch.dispose(pred.heatmaps);
    });
  }
  return results;
}

/**
 * Person boxes from a JSON file: COCO results ([{bbox: [x, y, w, h], score?}, ...]; other
 * fields are ignored) or plain boxes ([[x, y, w, h], ...]). Errors name the file and the record.
 */
export function readPersonBoxes(file: string): PersonBox[] {
  if (!fs.existsSync(file)) throw new CocoFormatError(`${file}: not found`);
  const records = readJsonFile(file);
  if (!Array.isArray(records)) throw new CocoFormatError(`${file}: expected an array of boxes ([{"bbox": [x, y, w, h], "score": s}, ...] or [[x, y, w, h], ...]), got ${show(records).slice(0, 80)}`);
  return records.map((r: unknown, i): PersonBox => {
    const fail = (msg: string): never => {
      throw new CocoFormatError(`${file}: record ${i}: ${msg}, got ${show(r).slice(0, 120)}`);
    };
    const bbox = Array.isArray(r) ? r : typeof r === 'object' && r !== null ? (r as { bbox?: unknown }).bbox : fail('expected {"bbox": [x, y, w, h], "score"?} or [x, y, w, h]');
    if (!isNumberArray(bbox, 4)) return fail('bbox must be 4 finite numbers [x, y, w, h]');
    if (!(bbox[2] > 0 && bbox[3] > 0)) fail('bbox width and height must be positive');
    const score = Array.isArray(r) ? undefined : (r as { score?: unknown }).score;
    if (score === undefined) return { bbox };
    if (!isFiniteNumber(score)) return fail('score must be a finite number');
    return { bbox, score };
  });
}

export interface TopdownWithDetectorOptions {
  /** Detection config (a file or a name under configs/) and its checkpoint (undefined: random weights). */
  detConfig: string | LoadedConfig;
  detCheckpoint?: string;
  /** Top-down pose config and its checkpoint (undefined: random weights). */
  poseConfig: string | LoadedConfig;
  poseCheckpoint?: string;
  image: string;
  /** COCO category id of the person class in the detector's results; default 1 (MMPose's det_cat_id 0 is the label). */
  detCatId?: number;
  /** Boxes scoring at or below this are dropped (MMPose's `scores > bbox_thr`); default 0.3. */
  bboxThr?: number;
  /** MMPose's box nms over the kept boxes (IoU above it suppressed); default 0.3 as its demo. */
  nmsThr?: number;
  /** Strict checkpoint loads (default true). */
  strict?: boolean;
}

/** The detector's person boxes and the keypoints of each (in the boxes' order after nms: highest score first). */
export interface TopdownWithDetectorResult {
  /** The detector's results kept (category detCatId, score above bboxThr, after nms). */
  persons: CocoResult[];
  /** One keypoint result per kept box; with no box kept, one for the whole image (MMPose's inference_topdown). */
  poses: PoseResult[];
}

/**
 * MMPose's demo/topdown_demo_with_mmdet.py in one call: the detector's boxes of category
 * `detCatId` scoring above `bboxThr`, box nms at `nmsThr`, then inferTopdown with their scores.
 * Both models are loaded here and disposed before returning.
 */
export async function inferTopdownWithDetector(o: TopdownWithDetectorOptions): Promise<TopdownWithDetectorResult> {
  const detLoaded = typeof o.detConfig === 'string' ? resolveConfig(o.detConfig, []) : o.detConfig;
  const poseLoaded = typeof o.poseConfig === 'string' ? resolveConfig(o.poseConfig, []) : o.poseConfig;
  const poseCfg = asPoseConfig(poseLoaded, 'inferTopdownWithDetector');
  const detCfg = asDetectionConfig(detLoaded, 'inferTopdownWithDetector');
  const catId = o.detCatId ?? 1;
  const thr = o.bboxThr ?? 0.3;
  const nmsThr = o.nmsThr ?? 0.3;
  let dets: CocoResult[];
  const detector = loadDetector(detCfg, o.detCheckpoint, { strict: o.strict ?? true });
  try {
    dets = await inferImage(detector, o.image);
  } finally {
    detector.model.dispose();
  }
  const candidates = dets.filter((d) => d.category_id === catId && d.score > thr && d.bbox);
  const xyxy = candidates.map((d) => { const [x, y, w, h] = d.bbox!; return [x, y, x + w, y + h]; });
  const persons = boxNms(xyxy, candidates.map((d) => d.score), nmsThr).map((i) => candidates[i]);
  const pose = loadPoseEstimator(poseCfg, o.poseCheckpoint, { strict: o.strict ?? true });
  try {
    const poses = await inferTopdown(pose, o.image, persons.map((d) => ({ bbox: d.bbox!, score: d.score })), { bboxFormat: 'xywh' });
    return { persons, poses };
  } finally {
    disposePoseEstimator(pose);
  }
}
