"""End-to-end inference fixtures from MMSegmentation 1.2: image file -> mmseg.apis.inference_model.

The six tiny segmentors of mmseg_fixtures.py (their checkpoints test/fixtures/mmseg/<name>.pth and their mmseg model
dicts in test/fixtures/mmseg/manifest.json are read, not rewritten), each given its base config's data_preprocessor
(SegDataPreProcessor: ImageNet mean / std, bgr_to_rgb, no test-time padding) and the test pipeline

    [LoadImageFromFile, Resize(scale=SCALE, keep_ratio=True), PackSegInputs]

are run by mmseg.apis.init_model(cfg, checkpoint, device='cpu') + inference_model(model, png) on two PNGs this
script draws (smooth random colours: a seeded 6x8 grid upsampled bicubically, plus a little noise):

  same.png    96x72 (w x h): keep-ratio Resize to (96, 72) leaves its size as is
  resize.png  113x77: Resize gives 96x65 (factor 96/113); logits are resized back to 113x77 by the segmentor

in whole mode and in slide mode (SLIDE_CFG: 64x64 crops, stride 48: 2x2 windows on both images).

What it writes (under OUT, default test/fixtures/mmseg-infer/):
  same.png, resize.png   the images (PNG, lossless: cv2 and sharp decode the same pixels)
  <model>.pth            a flat dict of tensors (torch.save):
                           <mode>.<image>.labels   pred_sem_seg.data[0] as uint8 [H, W] (every model, mode, image)
                           <mode>.<image>.logits   seg_logits.data float32 [5, H, W] at the image's size, for
                                                   whole mode on every model and slide mode on LOGIT_SLIDE (the
                                                   folder stays under 3 MB)
  manifest.json          versions, seed, scale, slide_cfg, images (sizes), and per model the mmseg config used
                         (model dict with data_preprocessor and test_cfg of whole mode; test_pipeline) and which
                         keys its .pth holds
  README.md              (hand-written) the recipe

Rerun:  .cache/openmmlab/bin/python scripts/reference/mmseg_infer_fixtures.py [--out DIR] [--ckpt DIR]
Seeded; a rerun in the same environment writes the same images and tensors.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import torch

import mmcv
import mmengine
import mmseg
from mmengine.config import Config
from mmseg.apis import inference_model, init_model
from mmseg.utils import register_all_modules

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SEG_CFG = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')

SEED = 20261207
SCALE = (96, 72)  # mmseg's (w, h) order
IMAGES = dict(same=(96, 72), resize=(113, 77))  # (w, h)
SLIDE_CFG = dict(mode='slide', crop_size=(64, 64), stride=(48, 48))
LOGIT_SLIDE = ('psp_r18v1d', 'uper_r18v1c')
TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=SCALE, keep_ratio=True),
    dict(type='PackSegInputs'),
]


def draw(gen, w, h):
    """Smooth random uint8 BGR image: a 6x8 grid of colours upsampled bicubically, plus N(0, 4²) noise."""
    grid = torch.rand(1, 3, 6, 8, generator=gen) * 255
    img = torch.nn.functional.interpolate(grid, size=(h, w), mode='bicubic', align_corners=False)[0]
    img = img + torch.randn(img.shape, generator=gen) * 4
    return img.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def config_for(name, model_dict, mode):
    """mmseg's config for one tiny model: its fixture model dict, its base's data_preprocessor, the test pipeline."""
    base = Config.fromfile(osp.join(SEG_CFG, '_base_', 'models', model_dict['base']))
    m = copy.deepcopy(model_dict['model'])
    m['data_preprocessor'] = base.data_preprocessor.to_dict()
    m['test_cfg'] = dict(mode='whole') if mode == 'whole' else copy.deepcopy(SLIDE_CFG)
    return Config(dict(model=m, test_pipeline=copy.deepcopy(TEST_PIPELINE), default_scope='mmseg'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=osp.join(ROOT, 'test', 'fixtures', 'mmseg-infer'))
    ap.add_argument('--ckpt', default=osp.join(ROOT, 'test', 'fixtures', 'mmseg'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    register_all_modules()
    gen = torch.Generator().manual_seed(SEED)
    images = {}
    for key, (w, h) in IMAGES.items():
        file = osp.join(args.out, f'{key}.png')
        cv2.imwrite(file, draw(gen, w, h))
        assert mmcv.imread(file).shape == (h, w, 3)
        images[key] = dict(file=f'{key}.png', width=w, height=h)

    with open(osp.join(args.ckpt, 'manifest.json')) as f:
        models = json.load(f)['models']
    out_models = {}
    for name, md in models.items():
        io = {}
        cfgs = {}
        for mode in ('whole', 'slide'):
            cfg = config_for(name, md, mode)
            cfgs[mode] = cfg.to_dict()
            model = init_model(cfg, osp.join(args.ckpt, f'{name}.pth'), device='cpu')
            for key, im in images.items():
                r = inference_model(model, osp.join(args.out, im['file']))
                logits = r.seg_logits.data.float()
                labels = r.pred_sem_seg.data[0]
                assert tuple(logits.shape[1:]) == (im['height'], im['width']), (name, mode, key, logits.shape)
                assert torch.equal(labels, logits.argmax(0)), (name, mode, key)
                io[f'{mode}.{key}.labels'] = labels.to(torch.uint8).clone()
                if mode == 'whole' or name in LOGIT_SLIDE:
                    io[f'{mode}.{key}.logits'] = logits.contiguous().clone()
            del model
        torch.save(io, osp.join(args.out, f'{name}.pth'))
        out_models[name] = dict(base=md['base'], model=cfgs['whole']['model'], slide_cfg=SLIDE_CFG,
                                test_pipeline=cfgs['whole']['test_pipeline'], keys=sorted(io))
        print(name, 'ok', flush=True)
    man = dict(
        versions=dict(torch=torch.__version__, mmseg=mmseg.__version__, mmengine=mmengine.__version__,
                      mmcv=mmcv.__version__, opencv=cv2.__version__, python=sys.version.split()[0]),
        seed=SEED, scale=list(SCALE), slide_cfg=SLIDE_CFG, logit_slide=list(LOGIT_SLIDE), images=images,
        checkpoints=osp.relpath(args.ckpt, ROOT), models=out_models)
    with open(osp.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(man, f, indent=1, default=list)


if __name__ == '__main__':
    main()
