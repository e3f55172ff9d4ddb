/**
 * The detection task: builds a two-stage detector, COCO-format data loaders and the
 * COCO evaluator (bbox AP or proposal AR) from a resolved detection config, for
 * `tsvision train`/`test` and the runner.
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
import { CocoDetection } from '../../data/datasets/coco';
import { generateShapes } from '../../data/synthetic';
import type { ShapesOptions } from '../../data/synthetic/shapes';
import type { TransformSpec } from '../../data/transforms';
import { CocoDataset, evaluateCoco, proposalRecall, type CocoResult } from '../../evaluation';
import { buildDetector, hasMaskBranch, type DataPreprocessorConfig, type DetectorModelConfig } from '../../models/detectors/build';
import { toCocoResults, toDetBatch } from './data';
import type { DetBatch, DetInstances, Detector } from '../../models/detectors/types';
import { initBackboneWeights } from '../backbone_init';
import { lazyLoaderSource, shardOptions } from '../lazy_source';
import type { PretrainedInitCfg } from '../../models/init_cfg';
import { DetectionTtaModel, ttaViews, zipViewSources, type DetectionTtaConfig } from './tta';
import { detectionConfigSchema } from './config_schema';

/** One split of a COCO-format dataset. */
export interface CocoSplitConfig {
  /** Annotation JSON (relative paths are resolved from the current directory). */
  annFile: string;
  /** Folder the images' file_names are relative to. */
  imgDir: string;
  /**
   * Precomputed proposals for Fast R-CNN: a COCO results-format JSON (bbox [x, y, w, h],
   * score) per image, in original-image pixels.
   */
  proposalFile?: string;
  /**
   * Keep at most this many proposals per image, best first (MMDetection's LoadProposals num_max_proposals; null: all).
   * @asType integer @nullable @minimum 1
   */
  numMaxProposals?: number | null;
  /** Drop images whose shorter side is below this many pixels (MMDetection's filter_cfg.min_size). @minimum 0 */
  filterMinSize?: number;
}

export interface DetectionDataConfig {
  train: CocoSplitConfig;
  val: CocoSplitConfig;
  /** Class names in label order; must equal the annotation file's categories (null: take the file's). */
  classes: string[] | null;
  /**
   * The category id of each class, in label order: the ids results files and `infer` write
   * (MMDetection's CocoDataset: COCO's ids, 1..90 with gaps). Must equal the annotation file's
   * when both are given; null: the file's.
   */
  categoryIds: number[] | null;
  /**
   * Loading-side transforms (resize, flip, crop, ...). Normalization, channel order and
   * padding are not here: they live in `model.dataPreprocessor`, and the loader appends them
   * (see withModelPreprocessing) so they are configured once.
   */
  trainPipeline: TransformSpec[];
  testPipeline: TransformSpec[];
  /** Images per batch (per process) in training. @asType integer @minimum 1 */
  batchSize: number;
  /** @asType integer @minimum 1 */
  valBatchSize: number;
  /** Loader worker threads (0: load in the main thread). @asType integer @minimum 0 */
  workers: number;
  groupByAspectRatio: boolean;
  /**
   * Generate the synthetic shapes dataset into `dir` first when its annotations are
   * missing (so configs on synthetic data run on a fresh clone). null: no generation.
   */
  generate: {
    kind: 'shapes';
    dir: string;
    /** @asType integer @minimum 1 */
    images: number;
    /** @asType integer @minimum 0 */
    seed: number;
    shapes: Partial<ShapesOptions>;
  } | null;
}

/** bbox: box AP; segm: mask AP (models with a mask branch); proposal: proposal AR. */
export type DetectionMetric = 'bbox' | 'segm' | 'proposal';

export interface DetectionConfig extends RunConfig {
  model: DetectorModelConfig;
  data: DetectionDataConfig;
  evaluation: { metrics: DetectionMetric[] };
  /** Test-time augmentation for `tsvision test --tta` (MMDetection's tta_model + tta_pipeline). */
  tta?: DetectionTtaConfig;
}

/** Proposals by image id: [x1, y1, x2, y2] rows in original pixels. */
export type ProposalIndex = Map<number, Float32Array>;

export function loadProposals(file: string, numMax: number | null = null): ProposalIndex {
  let records: unknown;
  try {
    records = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read proposals (${(err as Error).message})`);
  }
  if (!Array.isArray(records)) throw new Error(`${file}: expected a JSON array of {image_id, bbox, score} records`);
  const byImage = new Map<number, { score: number; box: number[] }[]>();
  records.forEach((r: { image_id?: unknown; bbox?: unknown; score?: unknown }, i) => {
    const b = r.bbox;
    if (typeof r.image_id !== 'number' || !Array.isArray(b) || b.length !== 4 || !b.every((v) => Number.isFinite(v))) {
      throw new Error(`${file}: proposal ${i}: expected {image_id: number, bbox: [x, y, w, h], score}`);
    }
    const list = byImage.get(r.image_id) ?? [];
    list.push({ score: typeof r.score === 'number' ? r.score : 0, box: [b[0], b[1], b[0] + b[2], b[1] + b[3]] });
    byImage.set(r.image_id, list);
  });
  const index: ProposalIndex = new Map();
  for (const [id, list] of byImage) {
    list.sort((a, b) => b.score - a.score);
    const kept = numMax === null ? list : list.slice(0, numMax);
    index.set(id, Float32Array.from(kept.flatMap((p) => p.box)));
  }
  return index;
}

/** Proposals of each batch image mapped into the resized (and flipped) image. */
export function batchProposals(batch: Batch, index: ProposalIndex): Tensor[] {
  return batch.items.map(({ meta }) => torch.tidy(() => {
    const raw = index.get(meta.imgId) ?? new Float32Array(0);
    const [sx, sy] = meta.scaleFactor;
    const [h, w] = meta.imgShape;
    // scaled and clipped to the resized image, as MMDetection's Resize does to the proposals
    // ProposalBroadcaster passes it (clip_object_border), before any flip
    let b = torch.fromTypedArray(raw, [raw.length / 4, 4]).mul(torch.tensor([sx, sy, sx, sy]))
      .clamp({ min: 0, max: torch.tensor([w, h, w, h]) });
    if (meta.flip) {
      const [x1, y1, x2, y2] = b.unbind(1);
      b = torch.stack([x2.rsub(w), y1, x1.rsub(w), y2], 1);
    }
    return b;
  }));
}

/** Adapts a detector to the runner: collated batches in, tensors inside. */
export class DetectionModel extends ModelWrapper<Batch, DetInstances[], Detector> {
  constructor(
    detector: Detector,
    private readonly proposals?: { train?: ProposalIndex; val?: ProposalIndex },
    /** The backbone's pretrained weights (config model.backbone.initCfg). */
    private readonly backboneInit?: PretrainedInitCfg | null,
    /** The detector has a mask branch: training targets carry gt masks. */
    private readonly withMasks = false,
  ) {
    super(detector);
  }

  /** Loads the backbone's ImageNet weights (downloaded once into the cache), strictly. */
  async initWeights(log: (line: string) => void): Promise<void> {
    await initBackboneWeights(this.detector.backbone, this.backboneInit, log);
  }

  get detector(): Detector {
    return this.wrapped;
  }

  private input(batch: Batch, withTargets: boolean): DetBatch {
    const b = toDetBatch(batch, { withTargets, withMasks: withTargets && this.withMasks });
    const index = withTargets ? this.proposals?.train : this.proposals?.val;
    if (index) b.proposals = batchProposals(batch, index);
    return b;
  }

  loss(batch: Batch): Record<string, Tensor> {
    return torch.tidy(() => this.detector.loss(this.input(batch, true)));
  }
  predict(batch: Batch): DetInstances[] {
    return torch.tidy(() => this.detector.predict(this.input(batch, false)));
  }
}

function ensureGenerated(data: DetectionDataConfig): Promise<void> {
  const g = data.generate;
  if (!g || fs.existsSync(data.val.annFile)) return Promise.resolve();
  console.error(`detection: generating the synthetic ${g.kind} dataset (${g.images} images) in ${g.dir}`);
  return generateShapes({ out: g.dir, images: g.images, seed: g.seed, shapes: g.shapes }).then(() => undefined);
}

/**
 * A data pipeline followed by the model's preprocessing (`model.dataPreprocessor`: mean, std,
 * channel order, pad divisor), which the loader runs fused with resize and flip in native code.
 * MMDetection 3.x runs the same steps in the model's DetDataPreprocessor; the values are read
 * from there only. A Normalize or Pad left in the pipeline is an error (configured twice).
 */
export function withModelPreprocessing(pipeline: readonly TransformSpec[], dp: DataPreprocessorConfig, where: string): TransformSpec[] {
  pipeline.forEach((s, i) => {
    if (s.type === 'Normalize' || s.type === 'Pad') {
      throw new Error(`${where}[${i}]: ${s.type} belongs to model.dataPreprocessor (mean, std, order, padSizeDivisor), which the loader applies; remove it from the pipeline`);
    }
  });
  return [
    ...pipeline,
    { type: 'Normalize', mean: dp.mean, std: dp.std, order: dp.order },
    { type: 'Pad', sizeDivisor: dp.padSizeDivisor > 0 ? dp.padSizeDivisor : 1 },
  ];
}

/** A BatchSource that loads its dataset on first use (loading is asynchronous). */
function cocoSource(cfg: DetectionConfig, split: 'train' | 'val', pipeline?: TransformSpec[], shard?: DataShard): BatchSource<Batch> {
  const d = cfg.data;
  return lazyLoaderSource(async () => {
    await ensureGenerated(d);
    const s = d[split];
    const dataset = await CocoDetection.load({ annFile: s.annFile, imgDir: s.imgDir, classes: d.classes ?? undefined, filterEmpty: split === 'train', minSize: s.filterMinSize, withMasks: split === 'train' && hasMaskBranch(cfg.model) });
    const ids = dataset.categories.map((c) => c.id);
    if (d.categoryIds && ids.join() !== d.categoryIds.join()) {
      throw new Error(`${s.annFile}: category ids [${ids.join(', ')}] disagree with the config's data.categoryIds [${d.categoryIds.join(', ')}]`);
    }
    const key = split === 'train' ? 'trainPipeline' : 'testPipeline';
    return new DataLoader({
      dataset,
      pipeline: withModelPreprocessing(pipeline ?? d[key], cfg.model.dataPreprocessor, `data.${key}`),
      batchSize: split === 'train' ? d.batchSize : d.valBatchSize,
      workers: d.workers,
      seed: cfg.seed,
      shuffle: split === 'train',
      groupByAspectRatio: split === 'train' && d.groupByAspectRatio,
      ...shardOptions(split, shard),
    });
  });
}

/** Accumulates COCO results; evaluates box AP (bbox), mask AP (segm) and/or proposal AR (proposal). */
export class CocoDetectionEvaluator implements Evaluator<Batch, DetInstances[]> {
  private records: CocoResult[] = [];
  private gt?: CocoDataset;

  constructor(private readonly annFile: string, private readonly metrics: DetectionMetric[]) {}

  private catIds(): number[] {
    this.gt ??= CocoDataset.fromFile(this.annFile);
    // labels index the categories in file order (as the dataset assigns them)
    return this.gt.categories.map((c) => c.id);
  }

  reset(): void {
    this.records = [];
  }

  process(batch: Batch, predictions: DetInstances[]): void {
    this.records.push(...toCocoResults(predictions, batch.items, this.catIds()));
  }

  /** The COCO results so far (distributed evaluation gathers them; an image's results all come from one rank). */
  state(): CocoResult[] {
    return this.records;
  }

  merge(state: unknown): void {
    if (!Array.isArray(state)) throw new Error('detection evaluator: merge expects an array of COCO results');
    for (const r of state as CocoResult[]) this.records.push(r);
  }

  evaluate(): Record<string, number> {
    const gt = this.gt ?? CocoDataset.fromFile(this.annFile);
    const out: Record<string, number> = {};
    for (const metric of this.metrics) {
      if (metric === 'bbox' || metric === 'segm') {
        if (metric === 'segm' && this.records.some((r) => r.segmentation === undefined)) {
          throw new Error("evaluation.metrics: 'segm' needs masks in the predictions (a model with a mask branch: roiHead.maskHead)");
        }
        const r = evaluateCoco(gt, this.records, { iouType: metric });
        for (const line of r.summary) console.error(line);
        const names = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l'];
        names.forEach((n, i) => (out[`${metric}_${n}`] = r.stats[i]));
      } else {
        const r = proposalRecall(gt, this.records);
        for (const line of r.evaluation.summary) console.error(line);
        for (const [k, v] of Object.entries(r.proposalAr)) out[k] = v;
      }
    }
    return out;
  }

  results(): unknown {
    return this.records;
  }
}

export const detectionTask: Task<DetectionConfig, Batch, DetInstances[]> = {
  name: 'detection',
  configSchema: detectionConfigSchema,
  buildModel(cfg) {
    const detector = buildDetector(cfg.model);
    const init = cfg.model.backbone.initCfg;
    const masks = hasMaskBranch(cfg.model);
    if (cfg.model.type !== 'FastRCNN') return new DetectionModel(detector, undefined, init, masks);
    const need = (s: CocoSplitConfig, split: string) => {
      if (!s.proposalFile) throw new Error(`data.${split}.proposalFile: Fast R-CNN needs precomputed proposals`);
      return loadProposals(path.resolve(s.proposalFile), s.numMaxProposals ?? null);
    };
    return new DetectionModel(detector, { train: need(cfg.data.train, 'train'), val: need(cfg.data.val, 'val') }, init, masks);
  },
  trainBatchSize: (cfg) => cfg.data.batchSize,
  buildTrainData: (cfg, shard) => cocoSource(cfg, 'train', undefined, shard),
  buildValData: (cfg, shard) => cocoSource(cfg, 'val', undefined, shard),
  buildTta(cfg, model) {
    if (!cfg.tta) throw new Error('tta: this config has no test-time augmentation settings (add a `tta` section: scales, flip, nms, maxPerImg)');
    if (hasMaskBranch(cfg.model)) throw new Error('tta: the test-time augmentation merge handles boxes only; it does not support models with a mask branch (model.roiHead.maskHead)');
    const views = ttaViews(cfg.data.testPipeline, cfg.tta);
    return { model: new DetectionTtaModel(model, cfg.tta), valData: zipViewSources(views.map((v) => cocoSource(cfg, 'val', v.pipeline))) };
  },
  buildEvaluator(cfg, opts) {
    const metrics = (opts?.metrics ?? cfg.evaluation.metrics) as DetectionMetric[];
    for (const m of metrics) {
      if (m !== 'bbox' && m !== 'segm' && m !== 'proposal') throw new Error(`detection: unknown metric '${m}' (bbox, segm, proposal)`);
      if (m === 'segm' && !hasMaskBranch(cfg.model)) throw new Error("evaluation.metrics: 'segm' needs a model with a mask branch (model.roiHead.maskHead)");
    }
    return new CocoDetectionEvaluator(cfg.data.val.annFile, metrics);
  },
};
