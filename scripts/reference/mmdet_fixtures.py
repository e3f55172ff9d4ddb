"""Reference fixtures from MMDetection 3.3 itself (RPN, Faster R-CNN, Fast R-CNN, Mask R-CNN, Fast R-CNN with masks).

What it writes (under OUT: test/fixtures/mmdet/ for the tiny models, .cache/mmdet-fixtures/ with --full):
  images/        4 deterministic PNGs: img_800x1216.png, img_480x640.png (inference), train_256x384.png,
                 train_232x360.png (one training batch)
  checkpoints/   one checkpoint per model, random weights from mmdet's own init_weights() (see README for the
                 exact recipe), saved with mmengine's save_checkpoint as an mmdet runner does; the RPN also as
                 rpn_r50_fpn_1x_coco.mmdet2.pth (2.x layout: rpn_head.* instead of bbox_head.*)
  model_configs/ the full mmdet config each model was built from (after the fixture's overrides), as JSON
  proposals/     COCO results-format proposal files (image_id, bbox [x, y, w, h], score, category_id) that
                 the Fast R-CNN fixtures were fed: test (from the RPN fixture) and train (generated)
  inference/     per model: detections of inference_detector() on both images (+ metainfo); mask models also
                 each detection's pasted mask as compressed COCO RLE ({size: [h, w], counts: str}, pycocotools)
  intermediates/ per two-stage model and image: preprocessed input stats, per-level neck sums, rpn_results
  losses/        per model: every loss term of one model.loss() on the training batch (deterministic sampler);
                 mask models' batches carry gt masks: the TRAIN_GT shapes, drawn alone as in the images (see
                 gt_mask), as compressed RLE in losses/<model>.json batch.images[].gt_masks
  configs/       (tiny only) Config.fromfile(...).to_dict() of the mmdet 3.3 configs matching configs/*/*_coco.ts
  manifest.json  versions, seeds, widths, classifier scale, image ids, COCO category ids, sampler patch

Rerun:  bash scripts/reference/make-mmdet-fixtures.sh [--full]
   or:  .cache/openmmlab/bin/python scripts/reference/mmdet_fixtures.py [--full] [--out DIR]
Everything is seeded; a rerun in the same environment reproduces the same files (checkpoint meta has no time).
"""
import argparse
import copy
import inspect
import json
import os
import os.path as osp
import sys
import logging
import zlib
from collections import OrderedDict

import cv2
import numpy as np
import pycocotools.mask as mask_util
import torch

import mmcv
import mmdet
import mmengine
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu

from mmdet.apis import inference_detector, init_detector
from mmdet.datasets import CocoDataset
from mmdet.models.task_modules.samplers import RandomSampler
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
MMCFG = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')

SEED = 20240613
# After init_weights() (normal std 0.01) the classifier weights are multiplied by these factors so that logits
# spread and neither saturation nor ties decide ranking (chosen by measurement: top-1000 RPN scores ~0.7-0.99,
# top-100 RoI scores ~0.1-0.99 on the fixture images; the full widths need less).
CLS_SCALE = dict(tiny=dict(rpn_cls=20.0, fc_cls=3.0), full=dict(rpn_cls=2.0, fc_cls=1.0))
# Tiny widths (keys stay R-50's). The widths named in issue 13 (base 16 / 64 / 256) give ~57 MB for the six
# checkpoints; these give ~15 MB.
TINY = dict(base_channels=8, neck_out=32, fc_out=128)

# (fixture name, mmdet 3.3 config under .mim/configs)
MODELS_SPEC = [
    ('rpn_r50_fpn_1x_coco', 'rpn/rpn_r50_fpn_1x_coco.py'),
    ('faster-rcnn_r50_fpn_1x_coco', 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'),
    ('faster-rcnn_r50-caffe_fpn_1x_coco', 'faster_rcnn/faster-rcnn_r50-caffe_fpn_1x_coco.py'),
    ('fast-rcnn_r50_fpn_1x_coco', 'fast_rcnn/fast-rcnn_r50_fpn_1x_coco.py'),
    ('fast-rcnn_r50-caffe_fpn_1x_coco', 'fast_rcnn/fast-rcnn_r50-caffe_fpn_1x_coco.py'),
    ('mask-rcnn_r50_fpn_1x_coco', 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'),
    # mmdet 3.3 has no Fast R-CNN with masks: fast-rcnn_r50_fpn_1x_coco plus mask-rcnn_r50_fpn's mask branch
    # (roi_head.mask_roi_extractor, roi_head.mask_head, train_cfg.rcnn.mask_size, test_cfg.rcnn.mask_thr_binary)
    # and its with_mask LoadAnnotations in the training pipeline; see fast_mask_rcnn_cfg.
    ('fast-mask-rcnn_r50_fpn_1x_coco', 'fast_rcnn/fast-rcnn_r50_fpn_1x_coco.py + mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'),
]
PROPOSAL_SOURCE = 'rpn_r50_fpn_1x_coco'  # the RPN whose test proposals the Fast R-CNN fixtures are fed

# COCO category ids in CocoDataset.METAINFO['classes'] order (what CocoDataset.cat_ids is for
# instances_*2017.json: coco.get_cat_ids(cat_names=classes)).
COCO_CAT_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28,
                31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55,
                56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84,
                85, 86, 87, 88, 89, 90]

TEST_IMAGES = [('img_800x1216', 800, 1216, 1), ('img_480x640', 480, 640, 2)]  # name, h, w, image_id
TRAIN_IMAGES = [('train_256x384', 256, 384, 101), ('train_232x360', 232, 360, 102)]
# gt boxes of the training batch: drawn as rectangles/ellipses into the images; (x1, y1, x2, y2), label index
TRAIN_GT = {
    'train_256x384': [((20, 30, 120, 150), 0), ((150, 60, 300, 200), 2), ((310, 10, 370, 90), 15),
                      ((60, 170, 200, 240), 56)],
    'train_232x360': [((40, 40, 200, 190), 16), ((220, 100, 340, 220), 61)],
}


# ----------------------------------------------------------------------------------------------- helpers
def f32(a):
    """float32 values as the shortest decimals that round-trip to the same float32 (Math.fround recovers)."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 0:
        return float(str(a))
    return [f32(x) for x in a]


def f64(t):
    """A tensor/array/number as exact float64 (nested lists)."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().double().numpy()
    a = np.asarray(t, dtype=np.float64)
    return a.tolist()


def dump(path, obj):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')


def rel(path, out):
    return osp.relpath(path, out)


def seed_of(name):
    return SEED + zlib.crc32(name.encode()) % 100000


def tensor_stats(t, n=8):
    t = t.detach().double()
    return dict(shape=list(t.shape), sum=float(t.sum()), mean=float(t.mean()), abs_sum=float(t.abs().sum()),
                first=f32(t.flatten()[:n].float().numpy()))


# ------------------------------------------------------------------------------------------------ images
def draw_shape(img, box, ellipse, color):
    x1, y1, x2, y2 = box
    if ellipse:
        cv2.ellipse(img, ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360,
                    color, -1, lineType=cv2.LINE_8)
    else:
        cv2.rectangle(img, (x1, y1), (x2, y2), color, -1, lineType=cv2.LINE_8)


def make_image(h, w, seed, gt=None, gt_drawn=None):
    """Smooth sinusoidal background + filled rectangles/ellipses (no anti-aliasing), BGR uint8. gt_drawn (a list):
    receives (box, ellipse) of each gt shape, in TRAIN_GT order."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.empty((h, w, 3), np.float64)
    for c in range(3):
        fx, fy = rng.uniform(0.5, 2.0, 2)
        ph = rng.uniform(0, 2 * np.pi)
        img[..., c] = 128 + 70 * np.sin(2 * np.pi * (fx * xx / w + fy * yy / h) + ph)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    shapes = []
    for _ in range(max(6, (h * w) // 40000)):
        x1, y1 = int(rng.randint(0, w - 20)), int(rng.randint(0, h - 20))
        x2 = int(min(w - 1, x1 + rng.randint(15, max(16, w // 3))))
        y2 = int(min(h - 1, y1 + rng.randint(15, max(16, h // 3))))
        shapes.append(((x1, y1, x2, y2), bool(rng.rand() < 0.5)))
    for box, _ in (gt or []):
        shapes.append((box, bool(rng.rand() < 0.5)))
    if gt_drawn is not None:
        gt_drawn.extend(shapes[len(shapes) - len(gt or []):])
    for box, ellipse in shapes:
        color = tuple(int(v) for v in rng.randint(0, 256, 3))
        draw_shape(img, box, ellipse, color)
    return img


def write_images(out):
    paths = {}
    for i, (name, h, w, _) in enumerate(TEST_IMAGES + TRAIN_IMAGES):
        p = osp.join(out, 'images', name + '.png')
        os.makedirs(osp.dirname(p), exist_ok=True)
        img = make_image(h, w, SEED + i, TRAIN_GT.get(name))
        cv2.imwrite(p, img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        assert np.array_equal(cv2.imread(p, cv2.IMREAD_COLOR), img)
        paths[name] = p
    return paths


# ------------------------------------------------------------------------------------------------ models
def fast_mask_rcnn_cfg():
    """Fast R-CNN (fast-rcnn_r50_fpn_1x_coco) with Mask R-CNN's mask branch (mask-rcnn_r50_fpn_1x_coco)."""
    cfg = Config.fromfile(osp.join(MMCFG, 'fast_rcnn/fast-rcnn_r50_fpn_1x_coco.py'))
    mask = Config.fromfile(osp.join(MMCFG, 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')).model
    cfg.model.roi_head.mask_roi_extractor = copy.deepcopy(mask.roi_head.mask_roi_extractor)
    cfg.model.roi_head.mask_head = copy.deepcopy(mask.roi_head.mask_head)
    cfg.model.train_cfg.rcnn.mask_size = mask.train_cfg.rcnn.mask_size
    cfg.model.test_cfg.rcnn.mask_thr_binary = mask.test_cfg.rcnn.mask_thr_binary
    cfg.model.data_preprocessor.pad_mask = True
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'LoadAnnotations':
            t['with_mask'] = True
    return cfg


def model_cfg(cfg_file, full):
    cfg = fast_mask_rcnn_cfg() if '+' in cfg_file else Config.fromfile(osp.join(MMCFG, cfg_file))
    m = cfg.model
    m.backbone.init_cfg = None  # no download of pretrained weights
    if not full:
        b, o, fc = TINY['base_channels'], TINY['neck_out'], TINY['fc_out']
        m.backbone.base_channels = b
        m.neck.in_channels = [b * 4, b * 8, b * 16, b * 32]
        m.neck.out_channels = o
        # mmdet 3.3 `RPN` configs name the head `rpn_head` too; the RPN detector stores it as self.bbox_head.
        if 'rpn_head' in m:
            m.rpn_head.in_channels = o
            m.rpn_head.feat_channels = o
        if 'roi_head' in m:
            m.roi_head.bbox_roi_extractor.out_channels = o
            m.roi_head.bbox_head.in_channels = o
            m.roi_head.bbox_head.fc_out_channels = fc
            if 'mask_head' in m.roi_head:
                m.roi_head.mask_roi_extractor.out_channels = o
                m.roi_head.mask_head.in_channels = o
                m.roi_head.mask_head.conv_out_channels = o
    return cfg


def randomize_and_calibrate_bn(model, gen, calib_inputs):
    """mmdet's ResNet init zeroes every Bottleneck's last BN gamma (zero_init_residual=True) and leaves BN at
    mean 0 / var 1, so conv2/conv3 of every block would not influence the output. Make every weight matter:
    BN gamma ~ U(0.5, 1.5), beta ~ U(-0.2, 0.2) (seeded), then running stats = cumulative average of batch
    statistics over the calibration images (train-mode forward of the backbone)."""
    bns = [mod for mod in model.modules() if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(torch.rand(bn.weight.shape, generator=gen) + 0.5)
            bn.bias.copy_(torch.rand(bn.bias.shape, generator=gen) * 0.4 - 0.2)
            bn.reset_running_stats()
            bn.momentum = None
        backbone = model.backbone
        for bn in bns:
            bn.train()
        for x in calib_inputs:
            backbone(x)
        for bn in bns:
            bn.momentum = 0.1
            bn.num_batches_tracked.zero_()
    model.eval()


def build_checkpoint(name, cfg_file, full, out, img_paths):
    register_all_modules()
    cfg = model_cfg(cfg_file, full)
    torch.manual_seed(seed_of(name))
    np.random.seed(seed_of(name) % (2 ** 32))
    model = MODELS.build(cfg.model)
    model.init_weights()
    gen = torch.Generator().manual_seed(seed_of(name) + 1)
    # calibration inputs: every fixture image through the model's own data preprocessor (no resize)
    calib = []
    for p in img_paths.values():
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        t = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        calib.append(model.data_preprocessor(dict(inputs=[t]), False)['inputs'])
    randomize_and_calibrate_bn(model, gen, calib)
    heads = {}
    scale = CLS_SCALE['full' if full else 'tiny']
    with torch.no_grad():
        if hasattr(model, 'rpn_head'):
            model.rpn_head.rpn_cls.weight.mul_(scale['rpn_cls'])
            heads['rpn_head.rpn_cls.weight'] = scale['rpn_cls']
        if hasattr(model, 'bbox_head') and hasattr(model.bbox_head, 'rpn_cls'):  # the RPN detector
            model.bbox_head.rpn_cls.weight.mul_(scale['rpn_cls'])
            heads['bbox_head.rpn_cls.weight'] = scale['rpn_cls']
        if hasattr(model, 'roi_head'):
            model.roi_head.bbox_head.fc_cls.weight.mul_(scale['fc_cls'])
            heads['roi_head.bbox_head.fc_cls.weight'] = scale['fc_cls']
    meta = dict(
        mmdet_version=mmdet.__version__, mmengine_version=mmengine.__version__, mmcv_version=mmcv.__version__,
        torch_version=torch.__version__, seed=seed_of(name), experiment_name=f'tsvision-fixture-{name}',
        dataset_meta=dict(classes=list(CocoDataset.METAINFO['classes']),
                          palette=[list(c) for c in CocoDataset.METAINFO['palette']]),
        cfg=cfg.pretty_text,
        fixture=dict(kind='full' if full else 'tiny', classifier_scale=heads,
                     bn='gamma~U(0.5,1.5), beta~U(-0.2,0.2), running stats calibrated on the fixture images'))
    ckpt_path = osp.join(out, 'checkpoints', name + '.pth')
    os.makedirs(osp.dirname(ckpt_path), exist_ok=True)
    save_checkpoint(dict(meta=meta, state_dict=weights_to_cpu(model.state_dict())), ckpt_path)
    extra = {}
    if name.startswith('rpn_'):
        # mmdet 2.x model-zoo layout of the same weights: the RPN head under rpn_head.*
        sd = model.state_dict()
        sd2 = OrderedDict(('rpn_head.' + k[len('bbox_head.'):] if k.startswith('bbox_head.') else k, v)
                          for k, v in sd.items())
        sd2._metadata = OrderedDict(('rpn_head' + k[len('bbox_head'):] if k.startswith('bbox_head') else k, v)
                                    for k, v in sd._metadata.items())
        meta2 = dict(meta, mmdet_version='2.28.2 layout (keys renamed from the 3.3 checkpoint)', CLASSES=None)
        meta2.pop('dataset_meta')
        p2 = osp.join(out, 'checkpoints', name + '.mmdet2.pth')
        save_checkpoint(dict(meta=meta2, state_dict=weights_to_cpu(sd2)), p2)
        extra['mmdet2'] = p2
    mc = osp.join(out, 'model_configs', name + '.json')
    dump(mc, cfg.to_dict())
    return cfg, ckpt_path, extra


# ------------------------------------------------------------------------------------------------ inference
def rle_json(mask):
    """A binary [h, w] mask as COCO's compressed RLE (pycocotools), JSON-ready."""
    r = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(v) for v in r['size']], counts=r['counts'].decode('ascii'))


def instances_json(inst, cat_ids):
    labels = inst.labels.cpu().numpy().astype(int).tolist()
    out = dict(bboxes=[f32(b) for b in inst.bboxes.cpu().numpy()], scores=f32(inst.scores.cpu().numpy()),
               labels=labels, category_ids=[cat_ids[l] for l in labels])
    if 'masks' in inst:
        out['masks'] = [rle_json(m) for m in inst.masks.cpu().numpy()]
    return out


def metainfo_json(ds):
    keys = ('img_id', 'ori_shape', 'img_shape', 'scale_factor', 'pad_shape', 'batch_input_shape', 'flip',
            'flip_direction')
    out = {}
    for k in keys:
        if k in ds.metainfo:
            v = ds.metainfo[k]
            out[k] = [float(x) if isinstance(x, (float, np.floating)) else int(x) for x in v] \
                if isinstance(v, (tuple, list)) else (v if not isinstance(v, np.generic) else v.item())
    return out


def run_inference(name, cfg, ckpt, img_paths, proposals_fed=None, intermediates=False):
    model = init_detector(cfg, ckpt, device='cpu')
    cat_ids = COCO_CAT_IDS
    assert list(model.dataset_meta['classes']) == list(CocoDataset.METAINFO['classes'])
    captured = {}
    hooks = []
    if intermediates or proposals_fed is not None:
        hooks.append(model.data_preprocessor.register_forward_hook(
            lambda m, i, o: captured.__setitem__('inputs', o['inputs'])))
        hooks.append(model.neck.register_forward_hook(lambda m, i, o: captured.__setitem__('neck', o)))
        if hasattr(model, 'roi_head'):
            orig = model.roi_head.predict

            def roi_predict(x, rpn_results_list, data_samples, rescale=False):
                captured['rpn_results'] = [r.clone() for r in rpn_results_list]
                return orig(x, rpn_results_list, data_samples, rescale=rescale)
            model.roi_head.predict = roi_predict
    pipeline = None
    if proposals_fed is not None:
        compose = Compose(copy.deepcopy(cfg.test_dataloader.dataset.pipeline))
    result = dict(model=name, config=cfg.filename and osp.relpath(cfg.filename, MMCFG), images={})
    inter = dict(model=name, images={})
    for img_name, h, w, img_id in TEST_IMAGES:
        if proposals_fed is not None:
            fed = proposals_fed[img_id]

            def pipeline(d, fed=fed, img_id=img_id):
                d = dict(d, img_id=img_id, proposals=dict(bboxes=fed['bboxes'].copy(), scores=fed['scores'].copy()))
                return compose(d)
        ds = inference_detector(model, img_paths[img_name], test_pipeline=pipeline)
        entry = dict(image=f'images/{img_name}.png', image_id=img_id, **metainfo_json(ds))
        entry.update(instances_json(ds.pred_instances, cat_ids))
        entry['num'] = len(entry['scores'])
        if proposals_fed is not None:
            rr = captured['rpn_results'][0]
            entry['proposals_fed'] = dict(
                count=int(len(proposals_fed[img_id]['bboxes'])),
                note='bboxes (original pixels) and scores handed to LoadProposals, in this order; see '
                     'proposals/<file>.json for the COCO-results form they were read from',
                file=proposals_fed['file'])
            entry['roi_head_proposals'] = dict(
                note='proposals the RoI head received (after the pipeline Resize: scaled by scale_factor and '
                     'clipped to img_shape), resized-image pixels',
                bboxes=[f32(b) for b in rr.bboxes.numpy()], scores=f32(rr.scores.numpy()))
        result['images'][img_name] = entry
        if intermediates:
            x = captured['inputs']
            rr = captured['rpn_results'][0]
            inter['images'][img_name] = dict(
                input=tensor_stats(x),
                neck=[dict(shape=list(t.shape), sum=float(t.double().sum()), abs_sum=float(t.double().abs().sum()))
                      for t in captured['neck']],
                rpn_results=dict(
                    note='RPN proposals passed to the RoI head (rescale=False: resized-image pixels), '
                         'sorted by score as mmdet returns them',
                    num=int(len(rr)), bboxes=[f32(b) for b in rr.bboxes.numpy()], scores=f32(rr.scores.numpy())))
    for hk in hooks:
        hk.remove()
    return result, (inter if intermediates else None)


def write_proposal_file(path, per_image):
    """per_image: {image_id: (bboxes float32 [n,4] xyxy original pixels, scores float32 [n])}.
    Writes COCO results form with exact doubles (x = float(x1), w = float(x2) - float(x1), both exact) and
    returns what a reader doing x2 = x + w in float64 then float32 gets, with the scores, sorted by score
    descending (stable), as tsvision's loadProposals does. Asserts that equals the input boxes."""
    records, fed = [], {}
    for img_id, (b, s) in per_image.items():
        for box, sc in zip(b.astype(np.float32), s.astype(np.float32)):
            x1, y1, x2, y2 = (float(v) for v in box)
            records.append(dict(image_id=int(img_id), bbox=[x1, y1, x2 - x1, y2 - y1], score=float(sc),
                                category_id=1))
    dump(path, records)
    for img_id in per_image:
        recs = [r for r in records if r['image_id'] == img_id]
        order = sorted(range(len(recs)), key=lambda i: -recs[i]['score'])  # stable
        bb = np.array([[r['bbox'][0], r['bbox'][1], r['bbox'][0] + r['bbox'][2], r['bbox'][1] + r['bbox'][3]]
                       for r in (recs[i] for i in order)], dtype=np.float64).astype(np.float32).reshape(-1, 4)
        sc = np.array([recs[i]['score'] for i in order], dtype=np.float32)
        b0, s0 = per_image[img_id]
        assert np.array_equal(bb, b0.astype(np.float32)[order]) and np.array_equal(sc, s0.astype(np.float32)[order])
        fed[img_id] = dict(bboxes=bb, scores=sc)
    return fed


# ------------------------------------------------------------------------------------------------ training
def strided_choice(self, gallery, num):
    """Deterministic stand-in for RandomSampler.random_choice: `num` entries of the gallery evenly spread
    over it, gallery[(i * len(gallery)) // num] for i = 0 .. num-1 (integer division; in gallery order)."""
    assert len(gallery) >= num
    idx = (torch.arange(num, dtype=torch.long) * len(gallery)) // num
    if isinstance(gallery, torch.Tensor):
        return gallery[idx.to(gallery.device)]
    return np.asarray(gallery)[idx.numpy()]


def train_pipeline_cfg(cfg):
    pipe = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)

    def fix(ts):
        for t in ts:
            if t['type'] == 'Resize':
                t.pop('scale', None)
                t['scale_factor'] = 1.0
                t['keep_ratio'] = True
            elif t['type'] == 'RandomFlip':
                t['prob'] = 0.0
            elif t['type'] == 'ProposalBroadcaster':
                fix(t['transforms'])
    fix(pipe)
    return pipe


def train_proposals():
    """Deterministic proposals for the Fast R-CNN training batch: 12 jittered copies of every gt box plus
    random boxes, 300 per image, scores descending."""
    rng = np.random.RandomState(SEED + 7)
    out = {}
    for name, h, w, img_id in TRAIN_IMAGES:
        boxes = []
        for (x1, y1, x2, y2), _ in TRAIN_GT[name]:
            bw, bh = x2 - x1, y2 - y1
            for _ in range(12):
                j = rng.uniform(-0.25, 0.25, 4) * np.array([bw, bh, bw, bh])
                boxes.append([x1 + j[0], y1 + j[1], x2 + j[2], y2 + j[3]])
        while len(boxes) < 300:
            x1, y1 = rng.uniform(0, w - 8), rng.uniform(0, h - 8)
            boxes.append([x1, y1, min(w, x1 + rng.uniform(8, w / 2)), min(h, y1 + rng.uniform(8, h / 2))])
        b = np.clip(np.array(boxes), 0, [w, h, w, h]).astype(np.float32)
        s = np.sort(rng.uniform(0.05, 1.0, len(b)))[::-1].astype(np.float32)
        out[img_id] = (b, s)
    return out


def gt_mask(name, h, w, k):
    """The k-th TRAIN_GT shape of image `name` alone, drawn as make_image draws it (its rectangle/ellipse choice,
    cv2 filled, LINE_8), as a uint8 [h, w] bitmap. Occlusion by later shapes is not applied."""
    i = [n for n, _, _, _ in TEST_IMAGES + TRAIN_IMAGES].index(name)
    drawn = []
    make_image(h, w, SEED + i, TRAIN_GT[name], drawn)  # as write_images: same seed, same draws
    m = np.zeros((h, w), np.uint8)
    draw_shape(m, drawn[k][0], drawn[k][1], 1)
    return m


def run_loss(name, cfg, ckpt, img_paths, train_fed=None):
    model = init_detector(cfg, ckpt, device='cpu')
    model.train()  # ResNet.train() keeps BN in eval (norm_eval=True) and stage 0-1 frozen (frozen_stages=1)
    compose = Compose(train_pipeline_cfg(cfg))
    with_mask = 'mask_head' in cfg.model.get('roi_head', {})
    masks = {n: [rle_json(gt_mask(n, h, w, k)) for k in range(len(TRAIN_GT[n]))] for n, h, w, _ in TRAIN_IMAGES} \
        if with_mask else {}
    items = []
    for img_name, h, w, img_id in TRAIN_IMAGES:
        d = dict(img_path=img_paths[img_name], img_id=img_id,
                 instances=[dict(bbox=[float(v) for v in box], bbox_label=label, ignore_flag=0)
                            for box, label in TRAIN_GT[img_name]])
        if with_mask:
            for inst, m in zip(d['instances'], masks[img_name]):
                inst['mask'] = dict(m)
        if train_fed is not None:
            d['proposals'] = dict(bboxes=train_fed[img_id]['bboxes'].copy(), scores=train_fed[img_id]['scores'].copy())
        items.append(compose(d))
    data = model.data_preprocessor(pseudo_collate(items), True)
    captured = {}
    if hasattr(model, 'roi_head'):
        orig = model.roi_head.loss

        def roi_loss(x, rpn_results_list, data_samples):
            captured['rpn_results'] = [r.clone() for r in rpn_results_list]
            return orig(x, rpn_results_list, data_samples)
        model.roi_head.loss = roi_loss
    with torch.no_grad():
        losses = model.loss(data['inputs'], data['data_samples'])
    terms = {}
    for k, v in losses.items():
        if isinstance(v, (list, tuple)):
            terms[k] = dict(per_level=[float(t.item()) for t in v], sum=float(sum(t.double() for t in v).item()))
        else:
            terms[k] = float(v.item()) if v.numel() == 1 else f64(v)
    bns = [(n, m.training) for n, m in model.named_modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    bn_names = {n for n, _ in bns}
    frozen = sorted({n.split('.')[0] + '.' + n.split('.')[1] for n, p in model.named_parameters()
                     if not p.requires_grad and n.rsplit('.', 1)[0] not in bn_names})
    res = dict(
        model=name,
        losses=terms,
        batch=dict(
            inputs=tensor_stats(data['inputs']),
            images=[dict(image=f'images/{n}.png', image_id=i,
                         gt_bboxes=[list(map(float, b)) for b, _ in TRAIN_GT[n]],
                         gt_labels=[l for _, l in TRAIN_GT[n]],
                         gt_category_ids=[COCO_CAT_IDS[l] for _, l in TRAIN_GT[n]],
                         **(dict(gt_masks=masks[n]) if with_mask else {}),
                         **metainfo_json(ds))
                    for (n, _, _, i), ds in zip(TRAIN_IMAGES, data['data_samples'])]),
        train_pipeline=train_pipeline_cfg(cfg),
        model_state=dict(
            training=model.training, bn_modules=len(bns), bn_in_train_mode=sum(1 for _, t in bns if t),
            norm_eval=bool(cfg.model.backbone.get('norm_eval', False)),
            frozen_stages=cfg.model.backbone.get('frozen_stages', -1), frozen_non_bn_modules=frozen,
            bn_requires_grad=bool(cfg.model.backbone.norm_cfg.get('requires_grad', True)),
            note='model.train() after init_detector(); ResNet.train() puts every BN back to eval (norm_eval) '
                 'and keeps the stem + layer1 frozen; no dropout. Loss values only (no backward: mmcv RoIAlign '
                 'backward is not served in the reference env).'),
    )
    if 'rpn_results' in captured:
        res['roi_head_proposals'] = [
            dict(num=int(len(r)), bboxes=[f32(b) for b in r.bboxes.numpy()], scores=f32(r.scores.numpy()))
            for r in captured['rpn_results']]
    return res


# ------------------------------------------------------------------------------------------------ configs
def dump_configs(out):
    names = []
    for d, prefix in (('rpn', 'rpn_'), ('faster_rcnn', 'faster-rcnn_'), ('fast_rcnn', 'fast-rcnn_'), ('mask_rcnn', 'mask-rcnn_')):
        for arch in ('r50', 'r50-caffe', 'r101', 'r101-caffe'):
            for sched in ('1x', '2x'):
                n = f'{prefix}{arch}_fpn_{sched}_coco'
                p = osp.join(MMCFG, d, n + '.py')
                if osp.exists(p):
                    dump(osp.join(out, 'configs', n + '.json'), Config.fromfile(p).to_dict())
                    names.append(n)
    return names


# ------------------------------------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--full', action='store_true', help='unmodified R-50 widths, written under .cache/mmdet-fixtures')
    ap.add_argument('--out', default=None)
    args = ap.parse_args()
    out = args.out or osp.join(ROOT, '.cache/mmdet-fixtures' if args.full else 'test/fixtures/mmdet')
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    register_all_modules()
    from mmengine.logging import MMLogger
    MMLogger.get_instance('mmengine').setLevel(logging.WARNING)  # no per-parameter init_weights() report
    import warnings
    warnings.filterwarnings('ignore')
    # the sampler patch (RPN and RoI head samplers are both RandomSampler)
    RandomSampler.random_choice = strided_choice

    img_paths = write_images(out)
    built = {}
    for name, cfg_file in MODELS_SPEC:
        print(f'[build] {name}', flush=True)
        built[name] = build_checkpoint(name, cfg_file, args.full, out, img_paths)

    # inference: RPN and Faster R-CNN first (the RPN's proposals feed Fast R-CNN)
    test_fed = None
    for name, _ in MODELS_SPEC:
        cfg, ckpt, _ = built[name]
        two_stage = 'faster-rcnn' in name
        fed = None
        if name.startswith('fast-'):
            if test_fed is None:
                src = json.load(open(osp.join(out, 'inference', PROPOSAL_SOURCE + '.json')))
                per = {e['image_id']: (np.array(e['bboxes'], np.float32).reshape(-1, 4), np.array(e['scores'], np.float32))
                       for e in src['images'].values()}
                pfile = osp.join(out, 'proposals', f'{PROPOSAL_SOURCE}_test.json')
                test_fed = write_proposal_file(pfile, per)
                test_fed['file'] = rel(pfile, out)
            fed = test_fed
        print(f'[inference] {name}', flush=True)
        res, inter = run_inference(name, cfg, ckpt, img_paths, proposals_fed=fed, intermediates=two_stage)
        res['checkpoint'] = rel(ckpt, out)
        dump(osp.join(out, 'inference', name + '.json'), res)
        if inter:
            dump(osp.join(out, 'intermediates', name + '.json'), inter)

    # training losses
    tp = train_proposals()
    tfile = osp.join(out, 'proposals', 'train.json')
    train_fed = write_proposal_file(tfile, tp)
    for name, _ in MODELS_SPEC:
        cfg, ckpt, _ = built[name]
        print(f'[loss] {name}', flush=True)
        res = run_loss(name, cfg, ckpt, img_paths, train_fed if name.startswith('fast-') else None)
        res['checkpoint'] = rel(ckpt, out)
        if name.startswith('fast-'):
            res['proposal_file'] = rel(tfile, out)
        dump(osp.join(out, 'losses', name + '.json'), res)

    cfg_names = dump_configs(out) if not args.full else []
    manifest = dict(
        generator='scripts/reference/mmdet_fixtures.py', kind='full' if args.full else 'tiny',
        versions=dict(mmdet=mmdet.__version__, mmengine=mmengine.__version__, mmcv=mmcv.__version__,
                      torch=torch.__version__, numpy=np.__version__, opencv=cv2.__version__),
        seed=SEED, classifier_scale=CLS_SCALE['full' if args.full else 'tiny'], tiny_widths=None if args.full else TINY,
        models={n: dict(config=f, checkpoint=rel(built[n][1], out), model_config=f'model_configs/{n}.json',
                        **{k: rel(v, out) for k, v in built[n][2].items()}) for n, f in MODELS_SPEC},
        images={n: dict(file=f'images/{n}.png', height=h, width=w, image_id=i) for n, h, w, i in TEST_IMAGES + TRAIN_IMAGES},
        coco_category_ids=COCO_CAT_IDS, classes=list(CocoDataset.METAINFO['classes']),
        sampler_patch=inspect.getsource(strided_choice),
        mmdet_configs=cfg_names)
    dump(osp.join(out, 'manifest.json'), manifest)
    print('wrote', out)


if __name__ == '__main__':
    main()
