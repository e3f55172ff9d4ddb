/**
 * The one documented mapping from a tsvision detection config to MMDetection 3.3's config
 * keys (`Config.fromfile(...).to_dict()`), for the parts that decide what is trained and
 * tested: model, optim_wrapper, param_scheduler, train_cfg, auto_scale_lr and the data
 * loaders' batch sizes, filters and geometric transforms. test/tasks/mmdet_config.test.ts
 * compares it key by key with MMDetection's dumped configs.
 *
 * Conventions: our camelCase keys are mmdet's snake_case ones; mmdet's class names
 * (`type`) are emitted for the parts our code implements as that class (ResNet, FPN, RPNHead,
 * MaxIoUAssigner, RandomSampler, DeltaXYWHBBoxCoder, FCNMaskHead, ...), with the values our code fixes
 * (sigmoid CE for the RPN, softmax CE for the RoI head, pos_weight -1, class-specific
 * regression). mmdet's 'nms' dicts are our `iouThreshold` fields. Pipelines: only Resize /
 * RandomFlip are compared (loading and packing have no counterpart here; mean/std/pad are the
 * data_preprocessor's).
 */
import type { TransformSpec } from '../../data/transforms';
import type { SchedulerConfig } from '../../optim';
import type { DataPreprocessorConfig, DetectorModelConfig, SingleStageModelConfig } from '../../models/detectors/build';
import type { RoIExtractorOptions } from '../../models/roi_heads/standard_roi_head';
import type { DetectionConfig } from './task';

type Dict = Record<string, unknown>;

function coder(c: { means?: number[]; stds?: number[] } | undefined, stds: number[]): Dict {
  return { type: 'DeltaXYWHBBoxCoder', target_means: c?.means ?? [0, 0, 0, 0], target_stds: c?.stds ?? stds };
}

function boxLoss(l: { type: string; lossWeight?: number; beta?: number } | undefined): Dict {
  const t = l ?? { type: 'L1Loss' };
  return { type: t.type, ...(t.beta !== undefined ? { beta: t.beta } : {}), loss_weight: t.lossWeight ?? 1 };
}

function assigner(a: { posIouThr: number; negIouThr: number | [number, number]; minPosIou?: number; matchLowQuality?: boolean; ignoreIofThr?: number }): Dict {
  return {
    type: 'MaxIoUAssigner', pos_iou_thr: a.posIouThr, neg_iou_thr: a.negIouThr, min_pos_iou: a.minPosIou ?? 0,
    match_low_quality: a.matchLowQuality ?? true, ignore_iof_thr: a.ignoreIofThr ?? -1,
  };
}

function sampler(s: { num: number; posFraction: number; negPosUb?: number; addGtAsProposals?: boolean }): Dict {
  return { type: 'RandomSampler', num: s.num, pos_fraction: s.posFraction, neg_pos_ub: s.negPosUb ?? -1, add_gt_as_proposals: s.addGtAsProposals ?? true };
}

function proposalCfg(p: { nmsPre: number; maxPerImg: number; iouThreshold: number; minBboxSize: number }): Dict {
  return { nms_pre: p.nmsPre, max_per_img: p.maxPerImg, nms: { type: 'nms', iou_threshold: p.iouThreshold }, min_bbox_size: p.minBboxSize };
}

function preprocessor(dp: DataPreprocessorConfig, masks: boolean): Dict {
  // pad_mask: gt masks padded with the batch (what our toDetBatch does for models with a mask branch)
  return { type: 'DetDataPreprocessor', mean: dp.mean, std: dp.std, bgr_to_rgb: dp.order === 'rgb', ...(masks ? { pad_mask: true } : {}), pad_size_divisor: dp.padSizeDivisor };
}

function roiExtractor(e: RoIExtractorOptions, outChannels: number): Dict {
  return {
    type: 'SingleRoIExtractor', roi_layer: { type: 'RoIAlign', output_size: e.outputSize, sampling_ratio: e.samplingRatio },
    out_channels: outChannels, featmap_strides: e.featmapStrides,
  };
}

/** RetinaNet's bbox_head, train_cfg and test_cfg (focal loss, PseudoSampler, dense test cfg). */
function singleStageParts(m: SingleStageModelConfig): Dict {
  const h = m.bboxHead;
  const a = h.anchor;
  const f = h.lossCls ?? {};
  const t = m.trainCfg;
  const r = m.testCfg;
  return {
    bbox_head: {
      type: 'RetinaHead', num_classes: h.numClasses, in_channels: h.inChannels, stacked_convs: h.stackedConvs ?? 4, feat_channels: h.featChannels ?? 256,
      anchor_generator: {
        type: 'AnchorGenerator',
        ...(a.scales ? { scales: a.scales } : { octave_base_scale: a.octaveBaseScale, scales_per_octave: a.scalesPerOctave }),
        ratios: a.ratios, strides: a.strides,
      },
      bbox_coder: coder(h.coder, [1, 1, 1, 1]),
      loss_cls: { type: 'FocalLoss', use_sigmoid: true, gamma: f.gamma ?? 2, alpha: f.alpha ?? 0.25, loss_weight: f.lossWeight ?? 1 },
      loss_bbox: boxLoss(h.lossBbox),
    },
    train_cfg: { assigner: assigner(t.assigner), sampler: { type: 'PseudoSampler' }, allowed_border: t.allowedBorder, pos_weight: -1, debug: false },
    test_cfg: { nms_pre: r.nmsPre, min_bbox_size: r.minBboxSize, score_thr: r.scoreThr, nms: { type: 'nms', iou_threshold: r.iouThreshold }, max_per_img: r.maxPerImg },
  };
}

/** The `model` dict. */
export function mmdetModel(m: DetectorModelConfig): Dict {
  const b = m.backbone;
  const init = (b as { initCfg?: { type: string; checkpoint: string; prefix?: string } | null }).initCfg;
  const model: Dict = {
    type: m.type,
    data_preprocessor: preprocessor(m.dataPreprocessor, m.type !== 'RetinaNet' && m.roiHead?.maskHead !== undefined),
    backbone: {
      type: 'ResNet', depth: b.depth, num_stages: 4, out_indices: b.outIndices ?? [0, 1, 2, 3], frozen_stages: b.frozenStages ?? -1,
      norm_cfg: { type: 'BN', requires_grad: b.normRequiresGrad ?? true }, norm_eval: b.normEval ?? true, style: b.style ?? 'pytorch',
      ...(init ? { init_cfg: { type: init.type, checkpoint: init.checkpoint, ...(init.prefix ? { prefix: init.prefix } : {}) } } : {}),
    },
    neck: {
      type: 'FPN', in_channels: m.neck.inChannels, out_channels: m.neck.outChannels,
      ...(m.neck.startLevel !== undefined ? { start_level: m.neck.startLevel } : {}),
      ...(m.neck.addExtraConvs !== undefined ? { add_extra_convs: m.neck.addExtraConvs } : {}),
      num_outs: m.neck.numOuts,
    },
  };
  if (m.type === 'RetinaNet') return { ...model, ...singleStageParts(m) };
  const train: Dict = {};
  const test: Dict = {};
  if (m.rpnHead) {
    const r = m.rpnHead;
    model.rpn_head = {
      type: 'RPNHead', in_channels: r.inChannels, feat_channels: r.featChannels ?? r.inChannels,
      anchor_generator: { type: 'AnchorGenerator', scales: r.anchor.scales, ratios: r.anchor.ratios, strides: r.anchor.strides },
      bbox_coder: coder(r.coder, [1, 1, 1, 1]),
      loss_cls: { type: 'CrossEntropyLoss', use_sigmoid: true, loss_weight: r.lossClsWeight ?? 1 },
      loss_bbox: boxLoss(r.lossBbox),
    };
    const t = m.trainCfg.rpn;
    if (t) train.rpn = { assigner: assigner(t.assigner), sampler: sampler(t.sampler), allowed_border: t.allowedBorder, pos_weight: -1, debug: false };
    if (m.trainCfg.rpnProposal) train.rpn_proposal = proposalCfg(m.trainCfg.rpnProposal);
    if (m.testCfg.rpn) test.rpn = proposalCfg(m.testCfg.rpn);
  }
  if (m.roiHead) {
    const { roiExtractor: e, bboxHead: h, maskRoiExtractor: me, maskHead: mh } = m.roiHead;
    const roiHead: Dict = model.roi_head = {
      type: 'StandardRoIHead',
      bbox_roi_extractor: roiExtractor(e, h.inChannels),
      bbox_head: {
        type: 'Shared2FCBBoxHead', in_channels: h.inChannels, fc_out_channels: h.fcOutChannels ?? 1024, roi_feat_size: h.roiSize,
        num_classes: h.numClasses, bbox_coder: coder(h.coder, [0.1, 0.1, 0.2, 0.2]), reg_class_agnostic: false,
        loss_cls: { type: 'CrossEntropyLoss', use_sigmoid: false, loss_weight: h.lossClsWeight ?? 1 },
        loss_bbox: boxLoss(h.lossBbox),
      },
    };
    if (me && mh) {
      roiHead.mask_roi_extractor = roiExtractor(me, mh.inChannels);
      roiHead.mask_head = {
        type: 'FCNMaskHead', num_convs: mh.numConvs ?? 4, in_channels: mh.inChannels, conv_out_channels: mh.convOutChannels ?? 256,
        num_classes: mh.numClasses, loss_mask: { type: 'CrossEntropyLoss', use_mask: true, loss_weight: mh.lossMaskWeight ?? 1 },
      };
    }
    const t = m.trainCfg.rcnn;
    if (t) {
      train.rcnn = { assigner: assigner(t.assigner), sampler: sampler(t.sampler), ...(mh ? { mask_size: t.maskSize ?? 28 } : {}), pos_weight: -1, debug: false };
    }
    const r = m.testCfg.rcnn;
    if (r) {
      test.rcnn = { score_thr: r.scoreThr, nms: { type: 'nms', iou_threshold: r.iouThreshold }, max_per_img: r.maxPerImg, ...(mh ? { mask_thr_binary: r.maskThrBinary ?? 0.5 } : {}) };
    }
  }
  model.train_cfg = train;
  model.test_cfg = test;
  return model;
}

function scheduler(s: SchedulerConfig): Dict {
  const o = s as unknown as Record<string, unknown>;
  const out: Dict = { type: o.type };
  const names: Record<string, string> = { startFactor: 'start_factor', endFactor: 'end_factor', byEpoch: 'by_epoch', begin: 'begin', end: 'end', milestones: 'milestones', gamma: 'gamma', power: 'power', etaMin: 'eta_min' };
  for (const [k, v] of Object.entries(o)) if (k !== 'type' && names[k]) out[names[k]] = v;
  return out;
}

/** Resize / RandomFlip of a pipeline, as mmdet writes them. */
export function mmdetGeometry(pipeline: readonly TransformSpec[]): Dict[] {
  const out: Dict[] = [];
  for (const s of pipeline) {
    if (s.type === 'Resize') out.push({ type: 'Resize', scale: s.scales.length === 1 ? s.scales[0] : s.scales, keep_ratio: s.keepRatio });
    else if (s.type === 'RandomFlip') out.push({ type: 'RandomFlip', prob: s.prob });
  }
  return out;
}

/** A detection config under MMDetection's keys (the compared subset; see the file comment). */
export function toMMDetConfig(cfg: DetectionConfig): Dict {
  const o = cfg.optimWrapper;
  const opt = o.optimizer;
  const d = cfg.data;
  const train = cfg.train;
  return {
    model: mmdetModel(cfg.model),
    optim_wrapper: {
      type: 'OptimWrapper',
      optimizer: opt.type === 'SGD'
        ? { type: 'SGD', lr: opt.lr, momentum: opt.momentum ?? 0, weight_decay: opt.weightDecay ?? 0 }
        : { type: opt.type, lr: opt.lr, weight_decay: opt.weightDecay ?? 0 },
      ...(o.clipGrad ? { clip_grad: { max_norm: o.clipGrad.maxNorm, norm_type: o.clipGrad.normType ?? 2 } } : {}),
    },
    param_scheduler: cfg.paramScheduler.map(scheduler),
    train_cfg: train.byEpoch
      ? { type: 'EpochBasedTrainLoop', max_epochs: train.maxEpochs, val_interval: train.valInterval }
      : { type: 'IterBasedTrainLoop', max_iters: train.maxIters, val_interval: train.valInterval },
    ...(cfg.autoScaleLr ? { auto_scale_lr: { enable: cfg.autoScaleLr.enable, base_batch_size: cfg.autoScaleLr.baseBatchSize } } : {}),
    train_dataloader: {
      batch_size: d.batchSize,
      dataset: {
        filter_cfg: { filter_empty_gt: true, min_size: d.train.filterMinSize ?? 0 },
        pipeline: mmdetGeometry(d.trainPipeline),
        ...(d.train.proposalFile ? { num_max_proposals: d.train.numMaxProposals ?? null } : {}),
      },
    },
    test_dataloader: {
      batch_size: d.valBatchSize,
      dataset: {
        pipeline: mmdetGeometry(d.testPipeline),
        ...(d.val.proposalFile ? { num_max_proposals: d.val.numMaxProposals ?? null } : {}),
      },
    },
  };
}

/** MaxIoUAssigner's constructor defaults, which mmdet's dumped configs omit where the file does. */
const MAX_IOU_DEFAULTS: Dict = { min_pos_iou: 0, match_low_quality: true, ignore_iof_thr: -1 };

/** A copy of a dumped dict with class defaults filled in where the config leaves them out. */
function withClassDefaults(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withClassDefaults);
  if (typeof v !== 'object' || v === null) return v;
  const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withClassDefaults(x)])) as Dict;
  return o.type === 'MaxIoUAssigner' ? { ...MAX_IOU_DEFAULTS, ...o } : o;
}

/**
 * The same subset picked from a dumped MMDetection config (class defaults filled in): the sections toMMDetConfig
 * writes, with the loaders reduced to batch size, filter, num_max_proposals and Resize /
 * RandomFlip (flattening ProposalBroadcaster).
 */
export function pickMMDetSubset(dump: Dict): Dict {
  const geometry = (pipeline: Dict[]): Dict[] => pipeline.flatMap((t) => (t.type === 'ProposalBroadcaster' ? (t.transforms as Dict[]) : [t]))
    .filter((t) => t.type === 'Resize' || t.type === 'RandomFlip')
    .map((t) => (t.type === 'Resize' ? { type: 'Resize', scale: t.scale, keep_ratio: t.keep_ratio } : { type: 'RandomFlip', prob: t.prob }));
  const proposals = (pipeline: Dict[]): Dict => {
    const p = pipeline.find((t) => t.type === 'LoadProposals');
    return p ? { num_max_proposals: p.num_max_proposals ?? null } : {};
  };
  const loader = (l: Dict, train: boolean): Dict => {
    const ds = l.dataset as Dict;
    const pipeline = ds.pipeline as Dict[];
    const f = ds.filter_cfg as Dict | undefined;
    return {
      batch_size: l.batch_size,
      dataset: {
        ...(train ? { filter_cfg: { filter_empty_gt: f?.filter_empty_gt ?? false, min_size: f?.min_size ?? 0 } } : {}),
        pipeline: geometry(pipeline),
        ...proposals(pipeline),
      },
    };
  };
  const optim = dump.optim_wrapper as Dict;
  return {
    model: withClassDefaults(dump.model),
    optim_wrapper: { type: optim.type, optimizer: optim.optimizer, ...(optim.clip_grad ? { clip_grad: optim.clip_grad } : {}) },
    param_scheduler: dump.param_scheduler,
    train_cfg: dump.train_cfg,
    auto_scale_lr: dump.auto_scale_lr,
    train_dataloader: loader(dump.train_dataloader as Dict, true),
    test_dataloader: loader(dump.test_dataloader as Dict, false),
  };
}

/** Paths where two JSON-like values differ ("model.rpn_head.in_channels: 256 vs 512"). */
export function configDiff(ours: unknown, theirs: unknown, at = ''): string[] {
  const isObj = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(ours) && isObj(theirs)) {
    const keys = [...new Set([...Object.keys(ours), ...Object.keys(theirs)])].sort();
    return keys.flatMap((k) => {
      const p = at ? `${at}.${k}` : k;
      if (!(k in ours)) return [`${p}: missing in ours (mmdet: ${JSON.stringify(theirs[k])})`];
      if (!(k in theirs)) return [`${p}: not in mmdet's (ours: ${JSON.stringify(ours[k])})`];
      return configDiff(ours[k], theirs[k], p);
    });
  }
  if (Array.isArray(ours) && Array.isArray(theirs) && ours.length === theirs.length) {
    return ours.flatMap((v, i) => configDiff(v, theirs[i], `${at}[${i}]`));
  }
  const same = typeof ours === 'number' && typeof theirs === 'number' ? Math.abs(ours - theirs) <= 1e-12 * Math.max(1, Math.abs(theirs)) : JSON.stringify(ours) === JSON.stringify(theirs);
  return same ? [] : [`${at}: ${JSON.stringify(ours)} vs mmdet ${JSON.stringify(theirs)}`];
}
