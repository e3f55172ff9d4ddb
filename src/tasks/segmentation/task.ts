/**
 * The semantic-segmentation task: builds an EncoderDecoder (src/models/segmentors/build.ts),
 * label-map data loaders (Cityscapes, ADE20K, Pascal VOC 2012, shapes-seg or any image/label
 * folder pair) and the IoU evaluator (mIoU, mAcc, aAcc, per-class IoU and Acc) from a resolved
 * segmentation config, for `tsvision train`/`test` and the runner.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { DataShard, RunConfig, Task } from '../../config/types';
import type { BatchSource, Evaluator, TrainableModel } from '../../engine/types';
import { isAugBatch, ttaPipelines, zipViewSources, type TtaView } from '../tta';
import { mergedPrediction, viewProbabilities } from '../../models/segmentors/tta';
import { ModelWrapper } from '../../engine/model_wrapper';
import type { Batch } from '../../data/collate';
import { DataLoader } from '../../data/loader';
import { createBackend } from '../../data/backends';
import { loadSegMap } from '../../data/load';
import {
  ade20kOptions, cityscapesOptions, SegmentationDataset, shapesSegOptions, vocOptions, type SegmentationOptions,
} from '../../data/datasets/segmentation';
import { ADE20K_CLASSES } from '../../data/datasets/seg-metainfo';
import { generateShapesSeg } from '../../data/synthetic/shapes-seg';
import type { ShapesOptions } from '../../data/synthetic/shapes';
import type { TransformSpec } from '../../data/transforms';
import { SegMetricAccumulator } from '../../evaluation/segmentation';
import { buildSegmentor } from '../../models/segmentors/build';
import type { SegmentorModelConfig } from '../../models/segmentors/config';
import type { SegPrediction, Segmentor } from '../../models/segmentors/types';
import type { PretrainedInitCfg } from '../../models/init_cfg';
import { initBackboneWeights } from '../backbone_init';
import { lazyLoaderSource, shardOptions } from '../lazy_source';
import { toSegBatch, withSegPreprocessing } from './data';
import { segmentationConfigSchema } from './config_schema';

/** One split of a segmentation dataset, by layout. Relative paths are resolved from the current directory. */
export type SegSplitConfig =
  | {
    /** leftImg8bit/{split}/CITY/*_leftImg8bit.png with gtFine/{split}/CITY/*_gtFine_labelTrainIds.png (19 classes). */
    kind: 'cityscapes';
    dataRoot: string;
    split: 'train' | 'val' | 'test';
  }
  | {
    /** images/{split}/*.jpg with annotations/{split}/*.png; 0 ('other') is ignored (reduce_zero_label). */
    kind: 'ade20k';
    dataRoot: string;
    split: 'training' | 'validation';
  }
  | {
    /** JPEGImages/NAME.jpg with annDir/NAME.png for the names in ImageSets/Segmentation/{list}.txt. */
    kind: 'voc';
    dataRoot: string;
    /** The list file's name: 'train', 'val', 'aug', 'trainval'. */
    list: string;
    annDir: 'SegmentationClass' | 'SegmentationClassAug';
  }
  | {
    /** img_dir/{split}/*.jpg with ann_dir/{split}/*.png, classes from DIR/classes.json. */
    kind: 'shapes-seg';
    dataRoot: string;
    split: 'train' | 'val';
  }
  | {
    /** Any image folder paired by name with a label-map folder (mmseg's BaseSegDataset). */
    kind: 'folder';
    imgDir: string;
    annDir: string;
    imgSuffix: string;
    segMapSuffix: string;
    /** 0 becomes the ignore index and every other label drops by one (mmseg's reduce_zero_label). */
    reduceZeroLabel: boolean;
  };

export interface SegmentationDataConfig {
  /** The training set: one split, or several concatenated (mmseg's ConcatDataset, VOC + SBD aug). */
  train: SegSplitConfig | SegSplitConfig[];
  val: SegSplitConfig;
  /** Class names in label order; must equal the dataset's (null: the dataset's, for 'folder': required by the model's numClasses). */
  classes: string[] | null;
  /**
   * Loading-side transforms (RandomResize, RandomCrop with catMaxRatio, RandomFlip,
   * PhotoMetricDistortion; Resize at test). Normalization and padding are not here: they live
   * in `model.dataPreprocessor`, and the loader appends them (see withSegPreprocessing).
   */
  trainPipeline: TransformSpec[];
  testPipeline: TransformSpec[];
  /** Images per batch (per process) in training. @asType integer @minimum 1 */
  batchSize: number;
  /** @asType integer @minimum 1 */
  valBatchSize: number;
  /** Loader worker threads (0: load in the main thread). @asType integer @minimum 0 */
  workers: number;
  /**
   * Generate the synthetic shapes-seg dataset into `dir` first when its classes.json is missing
   * (so configs on synthetic data run on a fresh clone). null: no generation.
   */
  generate: {
    kind: 'shapes-seg';
    dir: string;
    /** @asType integer @minimum 1 */
    images: number;
    /** @asType integer @minimum 0 */
    seed: number;
    shapes: Partial<ShapesOptions>;
  } | null;
}

/** mmseg's IoUMetric iou_metrics; aAcc and the per-class values come with each. */
export type SegmentationMetric = 'mIoU' | 'mDice' | 'mFscore';
export const SEGMENTATION_METRICS: readonly SegmentationMetric[] = ['mIoU', 'mDice', 'mFscore'];

/**
 * Test-time augmentation for `tsvision test --tta` (mmseg's tta_model + tta_pipeline): every test image
 * rescaled by each ratio of the original size (mmcv's Resize(scale_factor=r, keep_ratio=True)), and flipped
 * too when asked; the views' softmax probabilities are averaged at the original size (SegTTAModel).
 */
export interface SegmentationTtaConfig {
  /** mmseg's img_ratios, e.g. [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]. @minItems 1 */
  imgRatios: number[];
  /** Also run every ratio horizontally flipped. */
  flip: boolean;
}

/** mmseg's tta settings of its dataset bases: six ratios, with flip. */
export const MMSEG_TTA: SegmentationTtaConfig = { imgRatios: [0.5, 0.75, 1.0, 1.25, 1.5, 1.75], flip: true };

export interface SegmentationConfig extends RunConfig {
  model: SegmentorModelConfig;
  data: SegmentationDataConfig;
  evaluation: { metrics: SegmentationMetric[] };
  /** Test-time augmentation for `tsvision test --tta` (default: mmseg's MMSEG_TTA). */
  tta?: SegmentationTtaConfig;
}

/** The dataset options of a split. */
export async function splitOptions(s: SegSplitConfig): Promise<SegmentationOptions> {
  switch (s.kind) {
    case 'cityscapes': return cityscapesOptions(s.dataRoot, s.split);
    case 'ade20k': return ade20kOptions(s.dataRoot, s.split, [...ADE20K_CLASSES]);
    case 'voc': return vocOptions(s.dataRoot, s.list, s.annDir);
    case 'shapes-seg': return shapesSegOptions(s.dataRoot, s.split);
    case 'folder': {
      return { imgDir: s.imgDir, annDir: s.annDir, imgSuffix: s.imgSuffix, segMapSuffix: s.segMapSuffix, classes: [], reduceZeroLabel: s.reduceZeroLabel };
    }
    default: throw new Error(`data: unknown dataset kind '${(s as { kind: string }).kind}' (cityscapes, ade20k, voc, shapes-seg, folder)`);
  }
}

/** Loads one split (several concatenated for a train list), checking the classes against the config's and the model's. */
export async function loadSplit(cfg: SegmentationConfig, which: 'train' | 'val'): Promise<SegmentationDataset> {
  await ensureGenerated(cfg.data);
  const d = cfg.data;
  const splits = which === 'train' && Array.isArray(d.train) ? d.train : [which === 'train' ? d.train as SegSplitConfig : d.val];
  const parts: SegmentationDataset[] = [];
  for (const [i, s] of splits.entries()) {
    const opts = await splitOptions(s);
    if (s.kind === 'folder') {
      if (!d.classes) throw new Error(`data.${which}${splits.length > 1 ? `[${i}]` : ''}: a 'folder' dataset needs data.classes`);
      opts.classes = [...d.classes];
    }
    parts.push(await SegmentationDataset.load(opts, d.classes ?? undefined));
  }
  const ds = parts.length === 1 ? parts[0] : SegmentationDataset.concat(parts);
  const n = cfg.model.decodeHead.numClasses;
  if (ds.classes.length !== n) {
    throw new Error(`model.decodeHead.numClasses is ${n}, the ${which} dataset (${ds.name}) has ${ds.classes.length} classes`);
  }
  return ds;
}

/** Generations in progress in this process, by folder (the train and val loaders may open together). */
const generating = new Map<string, Promise<void>>();

function ensureGenerated(data: SegmentationDataConfig): Promise<void> {
  const g = data.generate;
  if (!g || fs.existsSync(path.join(g.dir, 'classes.json'))) return Promise.resolve();
  const key = path.resolve(g.dir);
  let p = generating.get(key);
  if (!p) {
    p = (async () => {
      console.error(`segmentation: generating the synthetic ${g.kind} dataset (${g.images} images) in ${g.dir}`);
      // generated into a temporary folder, renamed when complete: an interrupted run leaves no half dataset
      const tmp = `${key}.tmp-${process.pid}`;
      fs.rmSync(tmp, { recursive: true, force: true });
      await generateShapesSeg({ out: tmp, images: g.images, seed: g.seed, shapes: g.shapes });
      fs.mkdirSync(path.dirname(key), { recursive: true });
      fs.rmSync(key, { recursive: true, force: true });
      fs.renameSync(tmp, key);
    })().finally(() => generating.delete(key));
    generating.set(key, p);
  }
  return p;
}

/** Adapts a segmentor to the runner: collated batches in, SegBatch inside. */
export class SegmentationModel extends ModelWrapper<Batch, SegPrediction[], Segmentor> {
  constructor(
    segmentor: Segmentor,
    /** The backbone's pretrained weights (config model.backbone.initCfg). */
    private readonly backboneInit: PretrainedInitCfg | null | undefined,
    private readonly segPadVal = 255,
  ) {
    super(segmentor);
  }

  get segmentor(): Segmentor {
    return this.wrapped;
  }

  /** Loads the backbone's ImageNet weights (downloaded once into the cache), strictly. */
  async initWeights(log: (line: string) => void): Promise<void> {
    await initBackboneWeights(this.segmentor.backbone, this.backboneInit, log);
  }

  loss(batch: Batch): Record<string, Tensor> {
    return torch.tidy(() => this.segmentor.loss(toSegBatch(batch, { withTargets: true, segPadVal: this.segPadVal })));
  }
  predict(batch: Batch): SegPrediction[] {
    return torch.tidy(() => this.segmentor.predict(toSegBatch(batch)));
  }
}

/** The test-time views of a segmentation test pipeline: each ratio of the original size, and flipped. */
export function segTtaViews(testPipeline: TransformSpec[], tta: SegmentationTtaConfig, where = 'tta'): TtaView<number>[] {
  if (!Array.isArray(tta.imgRatios) || tta.imgRatios.length === 0) throw new Error(`${where}.imgRatios: expected at least one ratio`);
  tta.imgRatios.forEach((r, i) => {
    if (!(Number.isFinite(r) && r > 0)) throw new Error(`${where}.imgRatios[${i}]: expected a positive number, got ${JSON.stringify(r)}`);
  });
  const resizes = tta.imgRatios.map((r) => ({ key: r, resize: (s: Extract<TransformSpec, { type: 'Resize' }>) => ({ type: 'Resize' as const, scales: [], scaleFactor: r, keepRatio: true, ...(s.interpolation ? { interpolation: s.interpolation } : {}) }) }));
  return ttaPipelines(testPipeline, resizes, tta.flip, where);
}

/**
 * Wraps a segmentation model for test-time augmentation: predicts each view of an AugBatch (each at the
 * original size, flips undone by the segmentor) and averages their probabilities per image as the views
 * come, so one view's logits are held at a time beside the running sums.
 */
export class SegmentationTtaModel extends ModelWrapper<Batch, SegPrediction[], TrainableModel<Batch, SegPrediction[]>> {
  loss(): Record<string, Tensor> {
    throw new Error('SegmentationTtaModel: test-time augmentation is for testing; train the model itself');
  }
  predict(batch: Batch): SegPrediction[] {
    if (!isAugBatch(batch)) throw new Error('SegmentationTtaModel.predict: expected a batch from the test-time augmentation loader (with its views)');
    let sums: Tensor[] | undefined;
    try {
      for (const view of batch.views) {
        const next = torch.tidy(() => this.wrapped.predict(view).map((p, i) => {
          const probs = viewProbabilities(p.logits);
          if (sums && sums[i].shape.join() !== probs.shape.join()) throw new Error(`SegmentationTtaModel: a view of ${batch.items[i].meta.imgPath} predicted [${probs.shape.join(', ')}], another [${sums[i].shape.join(', ')}]`);
          return sums ? sums[i].add(probs) : probs;
        }));
        torch.dispose(sums);
        sums = next;
      }
      const total = sums!;
      return torch.tidy(() => total.map((s) => mergedPrediction(s, batch.views.length)));
    } finally {
      torch.dispose(sums);
    }
  }
}

/** The validation (or training) dataset of a config, loaded once per config object. */
const datasets = new WeakMap<SegmentationDataConfig, Map<string, Promise<SegmentationDataset>>>();
function datasetOf(cfg: SegmentationConfig, which: 'train' | 'val'): Promise<SegmentationDataset> {
  let m = datasets.get(cfg.data);
  if (!m) datasets.set(cfg.data, (m = new Map()));
  let p = m.get(which);
  if (!p) m.set(which, (p = loadSplit(cfg, which)));
  return p;
}

/** A BatchSource that loads its dataset on first use (loading is asynchronous). */
function segSource(cfg: SegmentationConfig, split: 'train' | 'val', testPipeline?: TransformSpec[], shard?: DataShard): BatchSource<Batch> {
  const d = cfg.data;
  return lazyLoaderSource(async () => {
    const dataset = await datasetOf(cfg, split);
    const key = split === 'train' ? 'trainPipeline' : 'testPipeline';
    return new DataLoader({
      dataset,
      pipeline: withSegPreprocessing(testPipeline ?? d[key], cfg.model.dataPreprocessor, `data.${key}`, split === 'train'),
      batchSize: split === 'train' ? d.batchSize : d.valBatchSize,
      workers: d.workers,
      seed: cfg.seed,
      shuffle: split === 'train',
      load: { order: cfg.model.dataPreprocessor.order, segMap: dataset.segMap },
      ...shardOptions(split, shard),
    });
  });
}

/** Per-class IoU and Acc of an evaluation (fractions; NaN where the class never occurs). */
export interface PerClassRow {
  class: string;
  IoU: number;
  Acc: number;
}

/**
 * mmseg's IoUMetric: each prediction (at the original size) against the image's label map read
 * from its file at the original size (mmseg loads annotations after the test Resize), so the
 * test pipeline's resize does not touch the ground truth. Label maps are read while later
 * batches run; only the [C] counts are kept.
 */
export class SegmentationEvaluator implements Evaluator<Batch, SegPrediction[]> {
  private acc?: SegMetricAccumulator;
  private pending: Promise<void> = Promise.resolve();
  private failure?: Error;
  private lastRows: PerClassRow[] = [];

  constructor(private readonly dataset: () => Promise<SegmentationDataset>, private readonly metrics: SegmentationMetric[]) {}

  reset(): void {
    this.acc?.reset();
    this.pending = Promise.resolve();
    this.failure = undefined;
  }

  process(batch: Batch, predictions: SegPrediction[]): void {
    // copied now: the runner frees the prediction tensors after this call
    const preds = predictions.map((p, i) => {
      const [h, w] = p.labels.shape;
      const [oh, ow] = batch.items[i].meta.oriShape;
      if (h !== oh || w !== ow) throw new Error(`segmentation: prediction for ${batch.items[i].meta.imgPath} is ${h}x${w}, the image ${oh}x${ow} (predictions must be at the original size)`);
      return p.labels.to('int32').contiguous().toTypedArray() as Int32Array;
    });
    const items = batch.items.map((it) => it.meta);
    this.pending = this.pending.then(async () => {
      if (this.failure) return;
      try {
        const ds = await this.dataset();
        this.acc ??= new SegMetricAccumulator({ numClasses: ds.classes.length });
        const backend = createBackend();
        try {
          for (const [i, meta] of items.entries()) {
            const info = ds.info(meta.imgId);
            if (!info.segMapPath) throw new Error(`${ds.name}: image ${info.imgPath} has no label map`);
            const [h, w] = meta.oriShape;
            const gt = await loadSegMap(await backend.get(info.segMapPath), info.segMapPath, w, h, ds.segMap);
            this.acc.add(preds[i], gt);
          }
        } finally {
          await backend.close();
        }
      } catch (e) {
        this.failure = e as Error;
      }
    });
  }

  /** The per-class area sums so far (distributed evaluation adds the ranks' sums). */
  async state(): Promise<{ count: number; areaIntersect: number[]; areaUnion: number[]; areaPred: number[]; areaLabel: number[] } | null> {
    await this.pending;
    if (this.failure) throw this.failure;
    const a = this.acc;
    if (!a || a.count === 0) return null;
    return { count: a.count, areaIntersect: [...a.areaIntersect], areaUnion: [...a.areaUnion], areaPred: [...a.areaPred], areaLabel: [...a.areaLabel] };
  }

  /** Adds another rank's state() (after this evaluator's own pending label maps; evaluate() awaits it). */
  merge(state: unknown): void {
    if (state === null) return; // that rank had no images
    const s = state as Awaited<ReturnType<SegmentationEvaluator['state']>> & object;
    this.pending = this.pending.then(async () => {
      if (this.failure) return;
      try {
        const ds = await this.dataset();
        const a = (this.acc ??= new SegMetricAccumulator({ numClasses: ds.classes.length }));
        const n = s?.areaIntersect?.length;
        if (n !== a.numClasses) throw new Error(`segmentation evaluator: merge expects per-class sums of ${a.numClasses} classes, got ${n}`);
        for (let c = 0; c < n; c++) {
          a.areaIntersect[c] += s.areaIntersect[c];
          a.areaUnion[c] += s.areaUnion[c];
          a.areaPred[c] += s.areaPred[c];
          a.areaLabel[c] += s.areaLabel[c];
        }
        a.count += s.count;
      } catch (e) {
        this.failure = e as Error;
      }
    });
  }

  async evaluate(): Promise<Record<string, number>> {
    await this.pending;
    if (this.failure) throw this.failure;
    const ds = await this.dataset();
    if (!this.acc || this.acc.count === 0) throw new Error(`segmentation: no predictions to evaluate (${ds.name})`);
    const m = this.acc.compute();
    const out: Record<string, number> = { aAcc: m.aAcc, mIoU: m.mIoU, mAcc: m.mAcc };
    if (this.metrics.includes('mDice')) out.mDice = m.mDice;
    if (this.metrics.includes('mFscore')) Object.assign(out, { mFscore: m.mFscore, mPrecision: m.mPrecision, mRecall: m.mRecall });
    this.lastRows = ds.classes.map((c, i) => ({ class: c, IoU: m.IoU[i], Acc: m.Acc[i] }));
    for (const r of this.lastRows) {
      out[`IoU.${r.class}`] = r.IoU;
      out[`Acc.${r.class}`] = r.Acc;
    }
    console.error(formatPerClassTable(this.lastRows));
    return out;
  }

  /** The per-class table of the last evaluation (for `tsvision test --out`). */
  results(): unknown {
    return { perClass: this.lastRows.map((r) => ({ class: r.class, IoU: fin(r.IoU), Acc: fin(r.Acc) })) };
  }
}

const fin = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** mmseg's per-class results table: IoU and Acc in percent, 2 decimals ('nan' for absent classes). */
export function formatPerClassTable(rows: readonly PerClassRow[]): string {
  const pct = (v: number) => (Number.isFinite(v) ? (v * 100).toFixed(2) : 'nan');
  const width = Math.max(5, ...rows.map((r) => r.class.length));
  const lines = [`${'Class'.padEnd(width)}  ${'IoU'.padStart(6)}  ${'Acc'.padStart(6)}`];
  for (const r of rows) lines.push(`${r.class.padEnd(width)}  ${pct(r.IoU).padStart(6)}  ${pct(r.Acc).padStart(6)}`);
  return lines.join('\n');
}

export const segmentationTask: Task<SegmentationConfig, Batch, SegPrediction[]> = {
  name: 'segmentation',
  configSchema: segmentationConfigSchema,
  buildModel(cfg) {
    return new SegmentationModel(buildSegmentor(cfg.model), cfg.model.backbone.initCfg, cfg.model.dataPreprocessor.segPadVal);
  },
  trainBatchSize: (cfg) => cfg.data.batchSize,
  buildTrainData: (cfg, shard) => segSource(cfg, 'train', undefined, shard),
  buildValData: (cfg, shard) => segSource(cfg, 'val', undefined, shard),
  buildTta(cfg, model) {
    const views = segTtaViews(cfg.data.testPipeline, cfg.tta ?? MMSEG_TTA);
    return { model: new SegmentationTtaModel(model), valData: zipViewSources(views.map((v) => segSource(cfg, 'val', v.pipeline))) };
  },
  buildEvaluator(cfg, opts) {
    const metrics = (opts?.metrics ?? cfg.evaluation.metrics) as SegmentationMetric[];
    for (const m of metrics) {
      if (!SEGMENTATION_METRICS.includes(m)) throw new Error(`segmentation: unknown metric '${m}' (${SEGMENTATION_METRICS.join(', ')})`);
    }
    return new SegmentationEvaluator(() => datasetOf(cfg, 'val'), metrics);
  },
};
