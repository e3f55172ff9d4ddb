"""Reference fixtures from MMDetection 3.3 itself for RetinaNet (issue 15), beside the RPN / Faster R-CNN ones.

Reuses the helpers of mmdet_fixtures.py (images, BN calibration, seeds, inference and one training step) and writes
under OUT (default test/fixtures/mmdet-retinanet/):
  checkpoints/retinanet_r50_fpn_1x_coco.pth   tiny RetinaNet (base_channels 8, FPN 32, head feat_channels 32), random
                                              weights from mmdet's own init_weights + BN calibration as the other
                                              fixtures, then the cls/reg tower conv weights *= TOWER_SCALE (6) and
                                              retina_cls.weight *= CLS_SCALE (3), bias kept at the focal prior
                                              -log(99), so that scores spread above score_thr 0.05
  model_configs/retinanet_r50_fpn_1x_coco.json  the config the model was built from (Config.to_dict())
  inference/retinanet_r50_fpn_1x_coco.json      inference_detector() on both test images (test/fixtures/mmdet/images)
  losses/retinanet_r50_fpn_1x_coco.json         one model.loss() on the training batch (loss_cls focal, loss_bbox L1)
  configs/retinanet_{r50,r101}_fpn_{1x,2x}_coco.json   Config.fromfile(...).to_dict() of mmdet's configs
  manifest.json

The images are those of test/fixtures/mmdet/images (regenerated here into a temporary folder and asserted equal).
Paths inside the JSON files are relative to OUT ('../mmdet/images/...').

Rerun:  .cache/openmmlab/bin/python scripts/reference/mmdet_retinanet_fixtures.py [--out DIR]
"""
import argparse
import logging
import os
import os.path as osp
import sys
import tempfile
import warnings

import cv2
import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import mmdet_fixtures as mf  # noqa: E402

import mmcv  # noqa: E402
import mmdet  # noqa: E402
import mmengine  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu  # noqa: E402
from mmdet.datasets import CocoDataset  # noqa: E402
from mmdet.registry import MODELS  # noqa: E402
from mmdet.utils import register_all_modules  # noqa: E402

NAME = 'retinanet_r50_fpn_1x_coco'
CFG_FILE = 'retinanet/retinanet_r50_fpn_1x_coco.py'
# retina_cls weights after init (normal std 0.01) are multiplied by this; the bias stays at the prior
# -log((1 - 0.01) / 0.01); the conv weights of both towers are multiplied by TOWER_SCALE. Chosen by measurement
# (--probe, RETINA_PROBE=scales) so that each test image has 100 detections (20 classes) above
# score_thr 0.05, scores 0.39-0.70 (img_800x1216) and 0.15-0.37 (img_480x640), all distinct.
CLS_SCALE = float(os.environ.get('RETINA_CLS_SCALE', '0'))  # 0: use DEFAULT_CLS_SCALE
DEFAULT_CLS_SCALE = 3.0
TOWER_SCALE = float(os.environ.get('RETINA_TOWER_SCALE', '6'))
IMAGES_DIR = osp.join(mf.ROOT, 'test', 'fixtures', 'mmdet', 'images')


def image_paths():
    """The test/training images of the mmdet fixtures, asserted equal to what mmdet_fixtures.write_images makes."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = mf.write_images(tmp)
        paths = {}
        for name, p in fresh.items():
            committed = osp.join(IMAGES_DIR, name + '.png')
            assert np.array_equal(cv2.imread(p, cv2.IMREAD_COLOR), cv2.imread(committed, cv2.IMREAD_COLOR)), committed
            paths[name] = committed
    return paths


def model_cfg():
    cfg = mf.model_cfg(CFG_FILE, False)  # backbone init_cfg None, base_channels 8, neck 32
    o = mf.TINY['neck_out']
    cfg.model.bbox_head.in_channels = o
    cfg.model.bbox_head.feat_channels = o
    return cfg


def build_checkpoint(out, img_paths, scale):
    cfg = model_cfg()
    seed = mf.seed_of(NAME)
    torch.manual_seed(seed)
    np.random.seed(seed % (2 ** 32))
    model = MODELS.build(cfg.model)
    model.init_weights()
    gen = torch.Generator().manual_seed(seed + 1)
    calib = []
    for p in img_paths.values():
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        t = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        calib.append(model.data_preprocessor(dict(inputs=[t]), False)['inputs'])
    mf.randomize_and_calibrate_bn(model, gen, calib)
    scaled = {}
    with torch.no_grad():
        # normal std 0.01 in four stacked 3x3 convs shrinks the features ~6x per conv: bring the towers to a gain
        # near 1 so that the classifier and regressor see features of order 1
        for tower in ('cls_convs', 'reg_convs'):
            for i, m in enumerate(getattr(model.bbox_head, tower)):
                m.conv.weight.mul_(TOWER_SCALE)
                scaled[f'bbox_head.{tower}.{i}.conv.weight'] = TOWER_SCALE
        model.bbox_head.retina_cls.weight.mul_(scale)
        scaled['bbox_head.retina_cls.weight'] = scale
    meta = dict(
        mmdet_version=mmdet.__version__, mmengine_version=mmengine.__version__, mmcv_version=mmcv.__version__,
        torch_version=torch.__version__, seed=seed, experiment_name=f'tsvision-fixture-{NAME}',
        dataset_meta=dict(classes=list(CocoDataset.METAINFO['classes']),
                          palette=[list(c) for c in CocoDataset.METAINFO['palette']]),
        cfg=cfg.pretty_text,
        fixture=dict(kind='tiny', classifier_scale=scaled,
                     bn='gamma~U(0.5,1.5), beta~U(-0.2,0.2), running stats calibrated on the fixture images'))
    ckpt = osp.join(out, 'checkpoints', NAME + '.pth')
    os.makedirs(osp.dirname(ckpt), exist_ok=True)
    save_checkpoint(dict(meta=meta, state_dict=weights_to_cpu(model.state_dict())), ckpt)
    mf.dump(osp.join(out, 'model_configs', NAME + '.json'), cfg.to_dict())
    return cfg, ckpt


def dump_configs(out):
    names = []
    for arch in ('r50', 'r101'):
        for sched in ('1x', '2x'):
            n = f'retinanet_{arch}_fpn_{sched}_coco'
            mf.dump(osp.join(out, 'configs', n + '.json'), Config.fromfile(osp.join(mf.MMCFG, 'retinanet', n + '.py')).to_dict())
            names.append(n)
    return names


def relocate_images(obj, out):
    """run_inference / run_loss name images 'images/<name>.png'; ours live in test/fixtures/mmdet/images."""
    prefix = osp.relpath(IMAGES_DIR, out)
    for e in (obj.get('images') or {}).values() if isinstance(obj.get('images'), dict) else []:
        e['image'] = osp.join(prefix, osp.basename(e['image']))
    for e in obj.get('batch', {}).get('images', []):
        e['image'] = osp.join(prefix, osp.basename(e['image']))
    return obj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=osp.join(mf.ROOT, 'test', 'fixtures', 'mmdet-retinanet'))
    ap.add_argument('--probe', action='store_true', help='print score spreads for a few classifier scales, write nothing')
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    register_all_modules()
    from mmengine.logging import MMLogger
    MMLogger.get_instance('mmengine').setLevel(logging.WARNING)
    warnings.filterwarnings('ignore')
    img_paths = image_paths()
    if args.probe:
        for scale in [float(x) for x in os.environ.get("RETINA_PROBE", "1,2,4").split(",")]:
            with tempfile.TemporaryDirectory() as tmp:
                cfg, ckpt = build_checkpoint(tmp, img_paths, scale)
                res, _ = mf.run_inference(NAME, cfg, ckpt, img_paths)
                for img, e in res['images'].items():
                    s = np.array(e['scores'])
                    print(f'scale {scale}: {img}: {len(s)} dets, scores {s.min() if len(s) else 0:.3f}..'
                          f'{s.max() if len(s) else 0:.3f}, distinct {len(set(e["scores"]))}, '
                          f'classes {len(set(e["labels"]))}', flush=True)
        return
    out = args.out
    os.makedirs(out, exist_ok=True)
    scale = CLS_SCALE or DEFAULT_CLS_SCALE
    print(f'[build] {NAME}', flush=True)
    cfg, ckpt = build_checkpoint(out, img_paths, scale)
    print(f'[inference] {NAME}', flush=True)
    res, _ = mf.run_inference(NAME, cfg, ckpt, img_paths)
    res['checkpoint'] = mf.rel(ckpt, out)
    mf.dump(osp.join(out, 'inference', NAME + '.json'), relocate_images(res, out))
    print(f'[loss] {NAME}', flush=True)
    loss = mf.run_loss(NAME, cfg, ckpt, img_paths)
    loss['checkpoint'] = mf.rel(ckpt, out)
    mf.dump(osp.join(out, 'losses', NAME + '.json'), relocate_images(loss, out))
    cfg_names = dump_configs(out)
    manifest = dict(
        generator='scripts/reference/mmdet_retinanet_fixtures.py', kind='tiny',
        versions=dict(mmdet=mmdet.__version__, mmengine=mmengine.__version__, mmcv=mmcv.__version__,
                      torch=torch.__version__, numpy=np.__version__, opencv=cv2.__version__),
        seed=mf.seed_of(NAME), classifier_scale=dict(retina_cls=scale, cls_convs=TOWER_SCALE, reg_convs=TOWER_SCALE),
        tiny_widths=dict(base_channels=mf.TINY['base_channels'], neck_out=mf.TINY['neck_out'],
                         feat_channels=mf.TINY['neck_out']),
        models={NAME: dict(config=CFG_FILE, checkpoint=mf.rel(ckpt, out), model_config=f'model_configs/{NAME}.json')},
        images={n: dict(file=osp.join(osp.relpath(IMAGES_DIR, out), n + '.png'), height=h, width=w, image_id=i)
                for n, h, w, i in mf.TEST_IMAGES + mf.TRAIN_IMAGES},
        coco_category_ids=mf.COCO_CAT_IDS, classes=list(CocoDataset.METAINFO['classes']),
        mmdet_configs=cfg_names)
    mf.dump(osp.join(out, 'manifest.json'), manifest)
    print('wrote', out)


if __name__ == '__main__':
    main()
