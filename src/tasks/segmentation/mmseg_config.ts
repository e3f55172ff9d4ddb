/**
 * A segmentation config under MMSegmentation 1.2's keys, for the config-parity test: our
 * resolved config mapped to mmseg's dict (`toMMSegConfig`) is compared with the subset of
 * mmseg's own `Config.fromfile(...).to_dict()` (`pickMMSegSubset`) that carries the same
 * hyper-parameters: model (preprocessor, backbone, heads, test mode, pretrained weights),
 * optimizer, schedule, train loop, checkpoint / logger intervals, datasets (type, root, folders,
 * list files, reduce_zero_label), batch sizes, workers, the transforms and the evaluator.
 *
 * Not compared: the validation loader's workers (one `data.workers` serves both loaders; mmseg's
 * Cityscapes base gives validation 4 to training's 2), HRNet's norm_cfg.requires_grad (its type is
 * compared, as ResNet's and the heads' whole norm_cfg), and what has no hyper-parameter (loading,
 * packing, samplers, hooks without settings, visualization).
 */
import type { TransformSpec } from '../../data/transforms';
import type { SegBackboneConfig, SegmentorModelConfig } from '../../models/segmentors/config';
import type { SegmentationConfig, SegSplitConfig } from './task';

type Dict = Record<string, unknown>;

/** camelCase keys → snake_case, recursively (c1InChannels → c1_in_channels). */
export function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Dict).filter(([, x]) => x !== undefined)
    .map(([k, x]) => [k.replace(/([A-Z])/g, (c) => `_${c.toLowerCase()}`), snakeKeys(x)]));
}

function backbone(b: SegBackboneConfig): Dict {
  if (b.type === 'HRNet') {
    const { initCfg: _i, normType, ...rest } = b;
    return { ...(snakeKeys(rest) as Dict), norm_cfg: { type: normType ?? 'BN' } };
  }
  return {
    type: b.type, depth: b.depth, num_stages: 4, out_indices: b.outIndices ?? [0, 1, 2, 3],
    dilations: b.dilations ?? [1, 1, 1, 1], strides: b.strides ?? [1, 2, 2, 2], norm_eval: b.normEval ?? false,
    norm_cfg: { type: b.normType ?? 'BN', requires_grad: b.normRequiresGrad ?? true }, style: b.style ?? 'pytorch', contract_dilation: b.contractDilation ?? false,
  };
}

export function mmsegModel(m: SegmentorModelConfig): Dict {
  const dp = m.dataPreprocessor;
  const aux = m.auxiliaryHead;
  return {
    type: m.type,
    data_preprocessor: { type: 'SegDataPreProcessor', mean: dp.mean, std: dp.std, bgr_to_rgb: dp.order === 'rgb', pad_val: dp.padVal, seg_pad_val: dp.segPadVal, size: dp.size },
    pretrained: m.backbone.initCfg?.checkpoint ?? null,
    backbone: backbone(m.backbone),
    decode_head: snakeKeys(m.decodeHead),
    ...(aux ? { auxiliary_head: snakeKeys(aux) } : {}),
    test_cfg: snakeKeys(m.testCfg),
  };
}

const DATASET_TYPES: Record<SegSplitConfig['kind'], string> = {
  cityscapes: 'CityscapesDataset', ade20k: 'ADE20KDataset', voc: 'PascalVOCDataset', 'shapes-seg': 'BaseSegDataset', folder: 'BaseSegDataset',
};

function dataset(s: SegSplitConfig): Dict {
  switch (s.kind) {
    case 'cityscapes':
      return { type: DATASET_TYPES[s.kind], data_root: s.dataRoot, data_prefix: { img_path: `leftImg8bit/${s.split}`, seg_map_path: `gtFine/${s.split}` }, reduce_zero_label: false };
    case 'ade20k':
      return { type: DATASET_TYPES[s.kind], data_root: s.dataRoot, data_prefix: { img_path: `images/${s.split}`, seg_map_path: `annotations/${s.split}` }, reduce_zero_label: true };
    case 'voc':
      return { type: DATASET_TYPES[s.kind], data_root: s.dataRoot, data_prefix: { img_path: 'JPEGImages', seg_map_path: s.annDir }, ann_file: `ImageSets/Segmentation/${s.list}.txt`, reduce_zero_label: false };
    default:
      throw new Error(`mmseg_config: dataset kind '${s.kind}' has no mmseg counterpart`);
  }
}

/** The transforms with hyper-parameters, as mmseg writes them (crop sizes [h, w]). */
export function mmsegTransforms(pipeline: readonly TransformSpec[]): Dict[] {
  return pipeline.map((s): Dict => {
    switch (s.type) {
      case 'RandomResize': return { type: 'RandomResize', scale: s.scale, ratio_range: s.ratioRange, keep_ratio: s.keepRatio };
      case 'RandomCrop': return { type: 'RandomCrop', crop_size: [s.cropSize[1], s.cropSize[0]], ...(s.catMaxRatio !== undefined ? { cat_max_ratio: s.catMaxRatio } : {}) };
      case 'RandomFlip': return { type: 'RandomFlip', prob: s.prob };
      case 'Resize': return s.scaleFactor !== undefined ? { type: 'Resize', scale_factor: s.scaleFactor, keep_ratio: true } : { type: 'Resize', scale: s.scales.length === 1 ? s.scales[0] : s.scales, keep_ratio: s.keepRatio ?? true };
      case 'PhotoMetricDistortion': {
        const o: Dict = { type: 'PhotoMetricDistortion' };
        if (s.brightnessDelta !== undefined) o.brightness_delta = s.brightnessDelta;
        if (s.contrastRange !== undefined) o.contrast_range = s.contrastRange;
        if (s.saturationRange !== undefined) o.saturation_range = s.saturationRange;
        if (s.hueDelta !== undefined) o.hue_delta = s.hueDelta / 2; // degrees → OpenCV's 0-180 hue
        return o;
      }
      default: return { type: s.type };
    }
  });
}

/** A segmentation config under mmseg's keys (the compared subset; see the file comment). */
export function toMMSegConfig(cfg: SegmentationConfig): Dict {
  const opt = cfg.optimWrapper.optimizer;
  const d = cfg.data;
  if (cfg.train.byEpoch) throw new Error('toMMSegConfig: mmseg configs train by iteration');
  const train = Array.isArray(d.train) ? { type: 'ConcatDataset', datasets: d.train.map(dataset) } : dataset(d.train);
  const withPipeline = (ds: Dict, pipeline: Dict[]): Dict => (ds.type === 'ConcatDataset'
    ? { ...ds, datasets: (ds.datasets as Dict[]).map((x) => ({ ...x, pipeline })) }
    : { ...ds, pipeline });
  return {
    model: mmsegModel(cfg.model),
    optim_wrapper: {
      type: 'OptimWrapper',
      optimizer: opt.type === 'SGD'
        ? { type: 'SGD', lr: opt.lr, momentum: opt.momentum ?? 0, weight_decay: opt.weightDecay ?? 0 }
        : { type: opt.type, lr: opt.lr, weight_decay: opt.weightDecay ?? 0 },
      clip_grad: cfg.optimWrapper.clipGrad ? { max_norm: cfg.optimWrapper.clipGrad.maxNorm, norm_type: cfg.optimWrapper.clipGrad.normType ?? 2 } : null,
    },
    param_scheduler: snakeKeys(cfg.paramScheduler),
    train_cfg: { type: 'IterBasedTrainLoop', max_iters: cfg.train.maxIters, val_interval: cfg.train.valInterval },
    default_hooks: { checkpoint: { by_epoch: cfg.hooks.checkpoint.byEpoch, interval: cfg.hooks.checkpoint.interval }, logger: { interval: cfg.hooks.logger.interval } },
    train_dataloader: { batch_size: d.batchSize, num_workers: d.workers, dataset: withPipeline(train, mmsegTransforms(d.trainPipeline)) },
    val_dataloader: { batch_size: d.valBatchSize, dataset: withPipeline(dataset(d.val), mmsegTransforms(d.testPipeline)) },
    val_evaluator: { type: 'IoUMetric', iou_metrics: cfg.evaluation.metrics },
  };
}

/** The compared subset of mmseg's resolved config dict (see the file comment). */
export function pickMMSegSubset(dump: Dict): Dict {
  const m = dump.model as Dict;
  const { norm_cfg: bn, ...bb } = m.backbone as Dict;
  const backboneOut: Dict = bb.type === 'HRNet'
    ? { ...bb, norm_cfg: { type: (bn as Dict).type } }
    : { ...bb, norm_cfg: { type: (bn as Dict).type, requires_grad: (bn as Dict).requires_grad } };
  const HYPER = new Set(['RandomResize', 'RandomCrop', 'RandomFlip', 'Resize', 'PhotoMetricDistortion']);
  const ds = (x: Dict): Dict => {
    if (x.type === 'ConcatDataset') return { type: 'ConcatDataset', datasets: (x.datasets as Dict[]).map(ds) };
    const pipeline = x.pipeline as Dict[];
    const load = pipeline.find((t) => t.type === 'LoadAnnotations') ?? {};
    // ADE20KDataset's reduce_zero_label defaults to True (the class's default, not in the config dict)
    const reduce = (load.reduce_zero_label as boolean | undefined) ?? (x.reduce_zero_label as boolean | undefined) ?? x.type === 'ADE20KDataset';
    return {
      type: x.type, data_root: String(x.data_root).replace(/\/+$/, ''), data_prefix: x.data_prefix,
      ...(x.ann_file !== undefined ? { ann_file: x.ann_file } : {}), reduce_zero_label: reduce,
      pipeline: pipeline.filter((t) => HYPER.has(t.type as string)),
    };
  };
  const loader = (l: Dict, workers: boolean): Dict => ({ batch_size: l.batch_size, ...(workers ? { num_workers: l.num_workers } : {}), dataset: ds(l.dataset as Dict) });
  const hooks = dump.default_hooks as Dict;
  const ck = hooks.checkpoint as Dict;
  const tc = dump.train_cfg as Dict;
  const ow = dump.optim_wrapper as Dict;
  const ev = dump.val_evaluator as Dict;
  return {
    model: {
      type: m.type, data_preprocessor: m.data_preprocessor, pretrained: m.pretrained ?? null, backbone: backboneOut,
      decode_head: m.decode_head, ...(m.auxiliary_head ? { auxiliary_head: m.auxiliary_head } : {}), test_cfg: m.test_cfg,
    },
    optim_wrapper: { type: ow.type, optimizer: ow.optimizer, clip_grad: ow.clip_grad ?? null },
    param_scheduler: dump.param_scheduler,
    train_cfg: { type: tc.type, max_iters: tc.max_iters, val_interval: tc.val_interval },
    default_hooks: { checkpoint: { by_epoch: ck.by_epoch, interval: ck.interval }, logger: { interval: (hooks.logger as Dict).interval } },
    train_dataloader: loader(dump.train_dataloader as Dict, true),
    val_dataloader: loader(dump.val_dataloader as Dict, false),
    val_evaluator: { type: ev.type, iou_metrics: ev.iou_metrics },
  };
}

/** The differences between two config dicts, one line per key path: 'a.b: ours vs mmseg theirs'. */
export function mmsegConfigDiff(ours: unknown, theirs: unknown, at = ''): string[] {
  const isObj = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(ours) && isObj(theirs)) {
    const keys = [...new Set([...Object.keys(ours), ...Object.keys(theirs)])].sort();
    return keys.flatMap((k) => {
      const p = at ? `${at}.${k}` : k;
      if (!(k in ours)) return [`${p}: missing in ours (mmseg: ${JSON.stringify(theirs[k])})`];
      if (!(k in theirs)) return [`${p}: not in mmseg's (ours: ${JSON.stringify(ours[k])})`];
      return mmsegConfigDiff(ours[k], theirs[k], p);
    });
  }
  if (Array.isArray(ours) && Array.isArray(theirs) && ours.length === theirs.length) {
    return ours.flatMap((v, i) => mmsegConfigDiff(v, theirs[i], `${at}[${i}]`));
  }
  return JSON.stringify(ours) === JSON.stringify(theirs) ? [] : [`${at}: ${JSON.stringify(ours)} vs mmseg ${JSON.stringify(theirs)}`];
}
