"""Test-time-augmentation fixtures from MMSegmentation 1.2: SegTTAModel over a TestTimeAug pipeline.

Two tiny segmentors of mmseg_fixtures.py (fcn_r50v1c, uper_r18v1c; checkpoints test/fixtures/mmseg/<name>.pth),
each with its base's data_preprocessor and whole-mode inference, are wrapped in mmseg's SegTTAModel and run on
resize.png of test/fixtures/mmseg-infer/ (113x77) through mmseg's tta pipeline of its dataset bases, with
RATIOS instead of the six ratios (a shorter fixture):

    [LoadImageFromFile,
     TestTimeAug([[Resize(scale_factor=r, keep_ratio=True) for r in RATIOS],
                  [RandomFlip(prob=0., direction='horizontal'), RandomFlip(prob=1., direction='horizontal')],
                  [PackSegInputs]])]

What it writes (under OUT, default test/fixtures/mmseg-tta/):
  <model>.pth     a flat dict of tensors (torch.save):
                    view<i>.logits  each view's seg_logits.data float32 [5, 77, 113] (at the image's size, flip
                                    undone), views in TestTimeAug's order (ratio-major, then no flip / flip)
                    view<i>.shape   the view's resized image (h, w) as int64 [2]
                    labels          SegTTAModel's merged pred_sem_seg as uint8 [77, 113]
  manifest.json   versions, ratios, views (ratio, flip), the pipeline, the image, and per model its base

Rerun:  .cache/openmmlab/bin/python scripts/reference/mmseg_tta_fixtures.py [--out DIR]
Deterministic; a rerun in the same environment writes the same tensors.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys

import torch

import mmcv
import mmengine
import mmseg
from mmengine.dataset import Compose
from mmseg.apis import init_model
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

sys.path.insert(0, osp.dirname(__file__))
from mmseg_infer_fixtures import ROOT, config_for  # noqa: E402

RATIOS = [0.5, 1.25]
MODELS_USED = ('fcn_r50v1c', 'uper_r18v1c')
TTA_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale_factor=r, keep_ratio=True) for r in RATIOS],
        [dict(type='RandomFlip', prob=0., direction='horizontal'), dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='PackSegInputs')],
    ]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=osp.join(ROOT, 'test', 'fixtures', 'mmseg-tta'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    register_all_modules()
    ckpts = osp.join(ROOT, 'test', 'fixtures', 'mmseg')
    image = osp.join(ROOT, 'test', 'fixtures', 'mmseg-infer', 'resize.png')
    with open(osp.join(ckpts, 'manifest.json')) as f:
        models = json.load(f)['models']
    pipeline = Compose(copy.deepcopy(TTA_PIPELINE))
    views = [dict(ratio=r, flip=f) for r in RATIOS for f in (False, True)]
    out_models = {}
    for name in MODELS_USED:
        model = init_model(config_for(name, models[name], 'whole'), osp.join(ckpts, f'{name}.pth'), device='cpu')
        tta = MODELS.build(dict(type='SegTTAModel', module=model))
        data = pipeline(dict(img_path=image))
        assert len(data['inputs']) == len(views)
        batch = {k: [[v] for v in vs] for k, vs in data.items()}
        with torch.no_grad():
            per_view = [model.test_step(dict(inputs=batch['inputs'][i], data_samples=batch['data_samples'][i]))[0] for i in range(len(views))]
            merged = tta.test_step(batch)[0]
        io = {}
        for i, (v, s) in enumerate(zip(views, per_view)):
            assert bool(s.flip) == v['flip'], (name, i, s.flip)
            io[f'view{i}.logits'] = s.seg_logits.data.float().contiguous().clone()
            io[f'view{i}.shape'] = torch.tensor(s.img_shape, dtype=torch.int64)
        io['labels'] = merged.pred_sem_seg.data[0].to(torch.uint8).clone()
        torch.save(io, osp.join(args.out, f'{name}.pth'))
        out_models[name] = dict(base=models[name]['base'], keys=sorted(io))
        print(name, 'ok', [tuple(s.img_shape) for s in per_view], flush=True)
    man = dict(
        versions=dict(torch=torch.__version__, mmseg=mmseg.__version__, mmengine=mmengine.__version__, mmcv=mmcv.__version__),
        ratios=RATIOS, views=views, tta_pipeline=TTA_PIPELINE, image='test/fixtures/mmseg-infer/resize.png', models=out_models)
    with open(osp.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(man, f, indent=1)


if __name__ == '__main__':
    main()
