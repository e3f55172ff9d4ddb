/**
 * The top-down pose task (MMPose 1.x's td-hm configs): builds a TopdownPoseEstimator
 * (src/models/pose_estimators), COCO-keypoints loaders of person crops (ground-truth boxes in
 * training; at test time ground-truth boxes or a person-detection results file, MMPose's
 * bbox_file) and MMPose's CocoMetric (rescoring, OKS-NMS, keypoint AP) from a resolved pose
 * config, for `tsvision train`/`test` and the runner.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { DataShard, RunConfig, Task } from '../../config/types';
import type { BatchSource, Evaluator } from '../../engine/types';
import { ModelWrapper } from '../../engine/model_wrapper';
import type { Batch } from '../../data/collate';
import { DataLoader } from '../../data/loader';
import { CocoKeypoints } from '../../data/datasets/coco-keypoints';
import type { TransformSpec } from '../../data/transforms';
import { COCO_FLIP_PAIRS, generatePeople } from '../../data/synthetic/people';
import { CocoDataset } from '../../evaluation/coco/dataset';
import { buildPoseEstimator } from '../../models/pose_estimators/build';
import type { TopdownPoseEstimatorConfig } from '../../models/pose_estimators/config';
import type { TopdownPoseEstimator } from '../../models/pose_estimators/topdown';
import type { PoseBatch, PosePrediction, PoseSampleMeta } from '../../models/pose_estimators/types';
import type { PretrainedInitCfg } from '../../models/init_cfg';
import { initBackboneWeights } from '../backbone_init';
import { lazyLoaderSource, shardOptions } from '../lazy_source';
import { topdownPrediction } from './data';
import { TopdownCocoMetric, type ScoreMode, type TopdownPrediction } from './evaluator';
import { poseConfigSchema } from './config_schema';

/** MMPose's PoseDataPreprocessor: mean/std in 0..255 and the channel order the model expects. */
export interface PoseDataPreprocessorConfig {
  /** Per-channel mean in `order` (mmpose: [123.675, 116.28, 103.53]). */
  mean: [number, number, number];
  std: [number, number, number];
  /** mmpose's bgr_to_rgb=True: 'rgb'. */
  order: 'rgb' | 'bgr';
}

/** The model section: the estimator and its data preprocessor (mmpose's model.data_preprocessor). */
export interface PoseModelConfig extends TopdownPoseEstimatorConfig {
  dataPreprocessor: PoseDataPreprocessorConfig;
}

/** One split of a COCO-keypoints dataset. Relative paths are resolved from the current directory. */
export interface PoseSplitConfig {
  /** person_keypoints_*.json */
  annFile: string;
  /** The folder the annotations' file_name values are relative to. */
  imgDir: string;
}

export interface PoseValSplitConfig extends PoseSplitConfig {
  /** COCO results of a person detector (MMPose's bbox_file); null: the ground-truth boxes. */
  bboxFile: string | null;
  /** Detections scoring below this are dropped (MMPose's filter_cfg.bbox_score_thr; null: none). @minimum 0 */
  bboxScoreThr: number | null;
}

export interface PoseDataConfig {
  train: PoseSplitConfig;
  val: PoseValSplitConfig;
  /**
   * Transforms after loading (MMPose's train_pipeline without LoadImage and PackPoseInputs):
   * GetBBoxCenterScale, TopdownRandomFlip, RandomHalfBody, RandomBBoxTransform, TopdownAffine,
   * GenerateTarget with the codec's config as its encoder. Normalization is not here: it lives in
   * model.dataPreprocessor, and the loader appends it.
   */
  trainPipeline: TransformSpec[];
  /** GetBBoxCenterScale, TopdownAffine. */
  testPipeline: TransformSpec[];
  /** Crops per batch (per process) in training. @asType integer @minimum 1 */
  batchSize: number;
  /** @asType integer @minimum 1 */
  valBatchSize: number;
  /** Loader worker threads (0: load in the main thread). @asType integer @minimum 0 */
  workers: number;
  /**
   * Generate the synthetic `people` dataset into `dir` (DIR/{train,val}/*.jpg,
   * DIR/annotations/person_keypoints_{train,val}.json) when its val annotations are missing, so
   * configs on synthetic data run on a fresh clone. null: no generation.
   */
  generate: {
    kind: 'people';
    dir: string;
    /** @asType integer @minimum 2 */
    images: number;
    /** @asType integer @minimum 0 */
    seed: number;
    /** Image sides drawn in [minSize, maxSize] (the generator's default: 320..640). @asType integer @minimum 16 */
    minSize: number;
    /** @asType integer @minimum 16 */
    maxSize: number;
  } | null;
}

/** MMPose's CocoMetric settings (evaluation/metrics/coco_metric.py). */
export interface PoseEvaluationConfig {
  /** Only 'coco' (keypoint AP/AR through our COCO evaluator). */
  metrics: 'coco'[];
  /** default 'bbox_keypoint'. */
  scoreMode?: ScoreMode;
  /** default 0.2. @minimum 0 */
  keypointScoreThr?: number;
  /** default 'oks_nms'. */
  nmsMode?: 'oks_nms' | 'none';
  /** default 0.9. @minimum 0 */
  nmsThr?: number;
}

export interface PoseConfig extends RunConfig {
  model: PoseModelConfig;
  data: PoseDataConfig;
  evaluation: PoseEvaluationConfig;
}

export const POSE_METRICS = ['coco'] as const;

/** Generations in progress in this process, by folder (the train and val loaders may open together). */
const generating = new Map<string, Promise<void>>();

function ensureGenerated(data: PoseDataConfig): Promise<void> {
  const g = data.generate;
  if (!g || fs.existsSync(path.join(g.dir, 'annotations', 'person_keypoints_val.json'))) return Promise.resolve();
  const key = path.resolve(g.dir);
  let p = generating.get(key);
  if (!p) {
    p = (async () => {
      console.error(`pose: generating the synthetic people dataset (${g.images} images) in ${g.dir}`);
      // into a temporary folder renamed when complete: an interrupted run leaves no half dataset
      const tmp = `${key}.tmp-${process.pid}`;
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!(g.minSize <= g.maxSize)) throw new Error(`data.generate: minSize ${g.minSize} is above maxSize ${g.maxSize}`);
      await generatePeople({ out: tmp, images: g.images, seed: g.seed, size: { minSize: g.minSize, maxSize: g.maxSize } });
      fs.mkdirSync(path.dirname(key), { recursive: true });
      fs.rmSync(key, { recursive: true, force: true });
      fs.renameSync(tmp, key);
    })().finally(() => generating.delete(key));
    generating.set(key, p);
  }
  return p;
}

/** Loads a split's top-down records (one per person box). */
export async function loadPoseSplit(cfg: PoseConfig, which: 'train' | 'val'): Promise<CocoKeypoints> {
  await ensureGenerated(cfg.data);
  const s = cfg.data[which];
  const where = `data.${which}`;
  for (const k of ['annFile', 'imgDir'] as const) {
    if (typeof s[k] !== 'string' || !s[k]) throw new Error(`${where}.${k}: expected a path, got ${JSON.stringify(s[k])}`);
  }
  if (!fs.existsSync(s.annFile)) throw new Error(`${where}.annFile: ${s.annFile} not found`);
  const v = which === 'val' ? (s as PoseValSplitConfig) : undefined;
  if (v?.bboxFile && !fs.existsSync(v.bboxFile)) throw new Error(`${where}.bboxFile: ${v.bboxFile} not found`);
  const ds = await CocoKeypoints.load({
    annFile: s.annFile,
    imgDir: s.imgDir,
    mode: 'topdown',
    ...(v?.bboxFile ? { detections: v.bboxFile } : {}),
    ...(v?.bboxScoreThr != null ? { bboxScoreThr: v.bboxScoreThr } : {}),
  });
  const k = ds.keypointInfo.names.length;
  if (k !== cfg.model.head.outChannels) throw new Error(`model.head.outChannels is ${cfg.model.head.outChannels}, the ${which} dataset (${ds.name}) has ${k} keypoints`);
  if (JSON.stringify(ds.keypointInfo.flipPairs) !== JSON.stringify(COCO_FLIP_PAIRS)) throw new Error(`${where}.annFile: ${s.annFile}: flip pairs ${JSON.stringify(ds.keypointInfo.flipPairs)}, the pose task knows COCO's ${JSON.stringify(COCO_FLIP_PAIRS)}`);
  if (ds.length === 0) throw new Error(`${where}: no person samples in ${s.annFile}${v?.bboxFile ? ` with ${v.bboxFile}` : ''}`);
  return ds;
}

/** The split's dataset, loaded once per config object. */
const datasets = new WeakMap<PoseDataConfig, Map<string, Promise<CocoKeypoints>>>();
function datasetOf(cfg: PoseConfig, which: 'train' | 'val'): Promise<CocoKeypoints> {
  let m = datasets.get(cfg.data);
  if (!m) datasets.set(cfg.data, (m = new Map()));
  let p = m.get(which);
  if (!p) m.set(which, (p = loadPoseSplit(cfg, which)));
  return p;
}

/** flip_indices from the dataset's flip pairs: index j's mirror. */
export function flipIndicesOf(numKeypoints: number, flipPairs: ReadonlyArray<readonly [number, number]>): number[] {
  const idx = Array.from({ length: numKeypoints }, (_, i) => i);
  for (const [a, b] of flipPairs) {
    idx[a] = b;
    idx[b] = a;
  }
  return idx;
}

/**
 * A pipeline followed by the model's preprocessing (mmpose's PoseDataPreprocessor: mean, std,
 * order). A Normalize in the pipeline is an error (configured twice); the crops are all the
 * input size, so nothing is padded.
 */
export function withPosePreprocessing(pipeline: readonly TransformSpec[], dp: PoseDataPreprocessorConfig, where: string): TransformSpec[] {
  if (!Array.isArray(pipeline)) throw new Error(`${where}: expected a list of transforms`);
  pipeline.forEach((s, i) => {
    if (s.type === 'Normalize' || s.type === 'Pad') throw new Error(`${where}[${i}]: ${s.type} belongs to model.dataPreprocessor (mean, std, order), which the loader applies; remove it from the pipeline`);
  });
  if (!pipeline.some((s) => s.type === 'TopdownAffine')) throw new Error(`${where}: a top-down pipeline needs a TopdownAffine (the crop to the input size)`);
  return [...pipeline, { type: 'Normalize', mean: dp.mean, std: dp.std, order: dp.order }];
}

/** The pipelines' GenerateTarget encoder must be the head's decoder (the same codec encodes and decodes). */
function checkCodec(cfg: PoseConfig): void {
  const gen = cfg.data.trainPipeline.findIndex((s) => s.type === 'GenerateTarget');
  if (gen < 0) throw new Error('data.trainPipeline: no GenerateTarget (the training targets)');
  const enc = (cfg.data.trainPipeline[gen] as Extract<TransformSpec, { type: 'GenerateTarget' }>).encoder;
  const dec = cfg.model.head.decoder;
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const k of ['type', 'inputSize', 'heatmapSize'] as const) {
    if (!same(enc?.[k], dec[k])) throw new Error(`data.trainPipeline[${gen}].encoder.${k} is ${JSON.stringify(enc?.[k])}, model.head.decoder.${k} ${JSON.stringify(dec[k])}: they must be the same codec`);
  }
}

/** A collated batch of crops as a PoseBatch; with `withTargets` it carries the GenerateTarget heatmaps and weights. */
export function toPoseBatch(batch: Batch, opts: { withTargets?: boolean; flipIndices?: number[]; device?: string } = {}): PoseBatch {
  const dev = opts.device ? { device: opts.device } : {};
  const metas: PoseSampleMeta[] = batch.items.map(({ meta, pose }) => {
    if (!pose?.inputSize) throw new Error(`pose: ${meta.imgPath}: the sample has no crop geometry (the pipeline needs GetBBoxCenterScale and TopdownAffine)`);
    return { inputCenter: [pose.center[0], pose.center[1]], inputScale: [pose.scale[0], pose.scale[1]], ...(opts.flipIndices ? { flipIndices: opts.flipIndices } : {}) };
  });
  const images = torch.fromTypedArray(batch.inputs, batch.shape, dev);
  if (!opts.withTargets) return { images, metas };
  const n = batch.items.length;
  const first = batch.items[0].pose!;
  const [w, h] = first.heatmapSize;
  const k = first.targetWeights.length;
  const plane = k * h * w;
  if (plane === 0) throw new Error(`pose: ${batch.items[0].meta.imgPath}: no training targets (the train pipeline needs GenerateTarget)`);
  const heat = new Float32Array(n * plane);
  const weights = new Float32Array(n * k);
  batch.items.forEach(({ meta, pose }, i) => {
    if (pose!.heatmaps.length !== plane || pose!.targetWeights.length !== k) {
      throw new Error(`pose: ${meta.imgPath}: targets of ${pose!.heatmaps.length} values and ${pose!.targetWeights.length} weights, the batch's first ${plane} and ${k}`);
    }
    heat.set(pose!.heatmaps, i * plane);
    weights.set(pose!.targetWeights, i * k);
  });
  return {
    images,
    metas,
    targets: { heatmaps: torch.fromTypedArray(heat, [n, k, h, w], dev), keypointWeights: torch.fromTypedArray(weights, [n, k], dev) },
  };
}

/** Adapts a TopdownPoseEstimator to the runner: collated batches in, PoseBatch inside. */
export class PoseModel extends ModelWrapper<Batch, PosePrediction[], TopdownPoseEstimator> {
  constructor(
    estimator: TopdownPoseEstimator,
    /** The backbone's pretrained weights (config model.backbone.initCfg). */
    private readonly backboneInit: PretrainedInitCfg | null | undefined,
    /** The dataset's flip_indices (the flip test needs them). */
    readonly flipIndices: number[],
  ) {
    super(estimator);
  }

  get estimator(): TopdownPoseEstimator {
    return this.wrapped;
  }

  /** Loads the backbone's ImageNet weights (downloaded once into the cache), strictly. */
  async initWeights(log: (line: string) => void): Promise<void> {
    await initBackboneWeights(this.estimator.backbone, this.backboneInit, log);
  }

  loss(batch: Batch): Record<string, Tensor> {
    return torch.tidy(() => this.estimator.loss(toPoseBatch(batch, { withTargets: true, flipIndices: this.flipIndices })));
  }
  predict(batch: Batch): PosePrediction[] {
    return torch.tidy(() => this.estimator.predict(toPoseBatch(batch, { flipIndices: this.flipIndices })));
  }
}

/** A BatchSource that loads its dataset on first use. */
function poseSource(cfg: PoseConfig, split: 'train' | 'val', shard?: DataShard): BatchSource<Batch> {
  const d = cfg.data;
  return lazyLoaderSource(async () => {
    if (split === 'train') checkCodec(cfg);
    const dataset = await datasetOf(cfg, split);
    const key = split === 'train' ? 'trainPipeline' : 'testPipeline';
    return new DataLoader({
      dataset,
      pipeline: withPosePreprocessing(d[key], cfg.model.dataPreprocessor, `data.${key}`),
      batchSize: split === 'train' ? d.batchSize : d.valBatchSize,
      workers: d.workers,
      seed: cfg.seed,
      shuffle: split === 'train',
      load: { order: cfg.model.dataPreprocessor.order },
      pipelineContextModule: path.join(__dirname, 'pipeline_context.js'),
      ...shardOptions(split, shard),
    });
  });
}

/**
 * MMPose's CocoMetric over a top-down run: each crop's keypoints (image pixels) with its
 * sample id, image, box score and box scale; rescoring, OKS-NMS and keypoint AP at the end,
 * reported under MMPose's names prefixed 'coco/' ('coco/AP', 'coco/AP .5', ...).
 */
export class PoseEvaluator implements Evaluator<Batch, PosePrediction[]> {
  private metric?: TopdownCocoMetric;
  private lastResults: unknown[] = [];
  /** The predictions processed since reset, for state() (distributed evaluation). */
  private processed: TopdownPrediction[] = [];

  constructor(private readonly annFile: string, private readonly opts: Omit<PoseEvaluationConfig, 'metrics'>) {}

  private ensure(): TopdownCocoMetric {
    if (!this.metric) {
      if (!fs.existsSync(this.annFile)) throw new Error(`data.val.annFile: ${this.annFile} not found`);
      this.metric = new TopdownCocoMetric(CocoDataset.fromFile(this.annFile), this.opts);
    }
    return this.metric;
  }

  reset(): void {
    // the ground truth is kept; the predictions are forgotten
    if (this.metric) this.metric = new TopdownCocoMetric(this.metric.gt, this.opts);
    this.processed = [];
  }

  process(batch: Batch, predictions: PosePrediction[]): void {
    if (predictions.length !== batch.items.length) throw new Error(`pose: ${predictions.length} predictions for a batch of ${batch.items.length} crops`);
    // copied: the prediction arrays are the model's
    const preds = predictions.map((p, i) => topdownPrediction(batch.items[i], Float32Array.from(p.keypoints), Float32Array.from(p.scores)));
    this.ensure().process(preds);
    for (const p of preds) this.processed.push(p);
  }

  /** The processed predictions, with plain arrays (distributed evaluation gathers them). */
  state(): TopdownPrediction[] {
    return this.processed.map((p) => ({ ...p, keypoints: Array.from(p.keypoints), keypointScores: Array.from(p.keypointScores), bboxScale: p.bboxScale && ([p.bboxScale[0], p.bboxScale[1]] as const) }));
  }

  merge(state: unknown): void {
    if (!Array.isArray(state)) throw new Error('pose evaluator: merge expects an array of top-down predictions');
    this.ensure().process(state as TopdownPrediction[]);
  }

  evaluate(): Record<string, number> {
    const r = this.ensure().compute();
    this.lastResults = r.results;
    return Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [`coco/${k}`, v]));
  }

  /** The kept COCO keypoint results of the last evaluation (for `tsvision test --out`). */
  results(): unknown {
    return this.lastResults;
  }
}

export const poseTask: Task<PoseConfig, Batch, PosePrediction[]> = {
  name: 'pose',
  configSchema: poseConfigSchema,
  buildModel(cfg) {
    return new PoseModel(buildPoseEstimator(cfg.model), cfg.model.backbone.initCfg, flipIndicesOf(cfg.model.head.outChannels, flipPairsFor(cfg)));
  },
  trainBatchSize: (cfg) => cfg.data.batchSize,
  buildTrainData: (cfg, shard) => poseSource(cfg, 'train', shard),
  buildValData: (cfg, shard) => poseSource(cfg, 'val', shard),
  buildEvaluator(cfg, opts) {
    const metrics = opts?.metrics ?? cfg.evaluation.metrics;
    for (const m of metrics) {
      if (!(POSE_METRICS as readonly string[]).includes(m)) throw new Error(`pose: unknown metric '${m}' (${POSE_METRICS.join(', ')})`);
    }
    const { metrics: _m, ...rest } = cfg.evaluation;
    return new PoseEvaluator(cfg.data.val.annFile, rest);
  },
};

/** COCO's flip pairs (the datasets this task loads are COCO-keypoints files of 17 keypoints; loadPoseSplit checks theirs). */
function flipPairsFor(cfg: PoseConfig): Array<[number, number]> {
  const k = cfg.model.head.outChannels;
  if (k !== 17) throw new Error(`model.head.outChannels: ${k} keypoints; the pose task knows COCO's 17 (flip pairs)`);
  return COCO_FLIP_PAIRS;
}
