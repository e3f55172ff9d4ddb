"""Reference fixtures for the decode heads, the segmentation cross-entropy, acc_seg and the OHEM pixel sampler,
from MMSegmentation 1.2 itself.

For each case of CASES (FCN with concat_input and 2 convs, FCN with 0 convs, the auxiliary FCN with 1 conv,
HRNet's FCN with resize_concat over 4 levels, PSP, ASPP, DepthwiseSeparableASPP, UPer), with small widths:
the head is built by mmseg's registry with BN, initialised by its own init_weights(), conv_seg re-drawn larger
(N(0, 0.2²), bias N(0, 0.1²)) so that the logits are not all ≈ 0, every BN's affine parameters randomised and
its running statistics calibrated and perturbed (randomize_bn, as mmseg_hrnet_fixtures.py). It writes, under
OUT (default test/fixtures/mmseg-heads/):

  <case>.pth       the head's state_dict (torch.save of a flat dict; dropout_ratio 0.1)
  <case>.io.pth    a flat dict of tensors (torch.save):
                     input.<i>                 the backbone outputs fed to the head
                     eval.logits               eval-mode forward (dropout inactive, BN running statistics)
                     labels                    [N, H, W] random classes with ~10% 255 (ignored), stored as
                                               uint8 (int64 in mmseg's computation)
                     labels_full               the same without 255 (mmseg's class_weight path cannot take 255)
                     train.logits              train-mode forward with dropout_ratio 0 (BN batch statistics)
                     train.<loss key>          loss_by_feat of the case's config (loss_ce, acc_seg)
                     grad.<param name>         d Σ loss_* / d param after that forward/backward
                     train_running.<buffer>    running_mean / running_var after it (momentum 0.1)
                     variant.<v>.<loss key>    loss_by_feat on the detached train.logits with variant v's
                                               lossDecode / sampler (VARIANTS below)
                     variant.<v>.grad_logits   d Σ loss_* / d train.logits under variant v (GRAD_VARIANTS only)
                     variant.<v>.seg_weight    the sampler's pixel weights (uint8; OHEM variants only)
  manifest.json    versions, seed, and per case: mmseg's head config, ours (camelCase, as DecodeHeadConfig),
                   input shapes, and per variant our lossDecode / sampler and which labels it uses

Rerun:  .cache/openmmlab/bin/python scripts/reference/mmseg_head_fixtures.py [--out DIR]
Everything is seeded; a rerun in the same environment reproduces the same tensors.
"""
import argparse
import copy
import json
import os
import os.path as osp
import re
import sys
import warnings

import torch

import mmcv
import mmengine
import mmseg
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

from mmseg_hrnet_fixtures import randomize_bn  # noqa: E402 (beside this script)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SEED = 20261216
N = 2
NUM_CLASSES = 5
LABEL_SIZE = (48, 64)
IGNORE_FRACTION = 0.1
BN = dict(type='BN', requires_grad=True)


def ce(**kw):
    return dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=kw.pop('loss_weight', 1.0), **kw)


def head(type, **kw):
    base = dict(type=type, num_classes=NUM_CLASSES, norm_cfg=BN, dropout_ratio=0.1, align_corners=False,
                loss_decode=ce())
    base.update(kw)
    return base


# name -> (mmseg head config, input shapes [C, H, W] per backbone level)
CASES = {
    'fcn': (head('FCNHead', in_channels=16, in_index=-1, channels=8, num_convs=2, concat_input=True),
            [(16, 12, 16)]),
    'fcn_0convs': (head('FCNHead', in_channels=8, in_index=0, channels=8, num_convs=0, concat_input=True,
                        kernel_size=1), [(8, 12, 16)]),
    # the auxiliary head of the ResNet configs: one conv on the third level, loss weight 0.4
    'fcn_aux': (head('FCNHead', in_channels=12, in_index=2, channels=8, num_convs=1, concat_input=False,
                     loss_decode=ce(loss_weight=0.4)), [(8, 24, 32), (10, 12, 16), (12, 12, 16), (16, 12, 16)]),
    # HRNet's head (fcn_hr18.py): 1x1 convs over the four branches resized to the first and concatenated
    'fcn_hr': (head('FCNHead', in_channels=[4, 8, 16, 32], in_index=[0, 1, 2, 3], channels=60,
                    input_transform='resize_concat', kernel_size=1, num_convs=1, concat_input=False,
                    dropout_ratio=-1),
               [(4, 24, 32), (8, 12, 16), (16, 6, 8), (32, 3, 4)]),
    'psp': (head('PSPHead', in_channels=16, in_index=-1, channels=8, pool_scales=(1, 2, 3, 6)), [(16, 12, 16)]),
    # align_corners True on one head (the resize of image_pool and of the logits to the labels)
    'aspp': (head('ASPPHead', in_channels=16, in_index=-1, channels=8, dilations=(1, 2, 4, 6),
                  align_corners=True), [(16, 12, 16)]),
    'dsaspp': (head('DepthwiseSeparableASPPHead', in_channels=16, in_index=1, channels=8, dilations=(1, 2, 4, 6),
                    c1_in_channels=8, c1_channels=4), [(8, 24, 32), (16, 12, 16)]),
    'uper': (head('UPerHead', in_channels=[8, 12, 16, 24], in_index=[0, 1, 2, 3], channels=8,
                  pool_scales=(1, 2, 3, 6)), [(8, 24, 32), (12, 12, 16), (16, 6, 8), (24, 3, 4)]),
}

# name -> (overrides of the head config for loss_by_feat, labels key)
VARIANTS = {
    # the threshold decides (about half the pixels under it) ...
    'ohem_thresh': (dict(sampler=dict(type='OHEMPixelSampler', thresh=0.18, min_kept=500)), 'labels'),
    # ... or the quota does (p of the 3000th easiest-to-miss pixel is above 0.05)
    'ohem_thresh_min_kept': (dict(sampler=dict(type='OHEMPixelSampler', thresh=0.05, min_kept=1500)), 'labels'),
    'ohem_topk': (dict(sampler=dict(type='OHEMPixelSampler', min_kept=500)), 'labels'),
    'ohem_topk_two_losses': (dict(sampler=dict(type='OHEMPixelSampler', min_kept=700),
                                  loss_decode=[ce(), ce(loss_weight=0.4, loss_name='loss_b', avg_non_ignore=True)]),
                             'labels'),
    'avg_non_ignore': (dict(loss_decode=ce(loss_weight=0.7, avg_non_ignore=True)), 'labels'),
    'class_weight': (dict(loss_decode=ce(class_weight=[0.5, 1.0, 1.5, 2.0, 0.8])), 'labels_full'),
    'class_weight_non_ignore': (dict(loss_decode=ce(class_weight=[0.5, 1.0, 1.5, 2.0, 0.8], avg_non_ignore=True)),
                                'labels_full'),
    # two entries named loss_ce are summed; a third under its own name
    'two_losses': (dict(loss_decode=[ce(), ce(loss_weight=0.5, avg_non_ignore=True), ce(loss_weight=0.3, loss_name='loss_x')]),
                   'labels'),
}

# the variants whose gradient w.r.t. the logits is recorded (all of them would exceed the fixture budget)
GRAD_VARIANTS = {'ohem_thresh', 'ohem_topk_two_losses', 'class_weight', 'two_losses'}


def camel(s):
    return re.sub(r'_([a-z0-9])', lambda m: m.group(1).upper(), s)


def to_ours(cfg):
    """mmseg's snake_case config as our camelCase one (tuples as lists)."""
    if isinstance(cfg, dict):
        return {camel(k): to_ours(v) for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return [to_ours(v) for v in cfg]
    return cfg


def build(cfg):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return MODELS.build(copy.deepcopy(cfg))


def samples(labels):
    out = []
    for lab in labels:
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab.unsqueeze(0))
        out.append(s)
    return out


def randomize(model, gen, inputs_fn):
    """conv_seg N(0, 0.2²) / N(0, 0.1²); every BN as mmseg_hrnet_fixtures.randomize_bn, calibrated on inputs_fn()."""
    with torch.no_grad():
        model.conv_seg.weight.copy_(torch.randn(model.conv_seg.weight.shape, generator=gen) * 0.2)
        model.conv_seg.bias.copy_(torch.randn(model.conv_seg.bias.shape, generator=gen) * 0.1)
    randomize_bn(model, gen, batch=inputs_fn)


def loss_sum(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def run_case(name, cfg, shapes, out):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, name)))
    model = build(cfg)
    model.init_weights()
    randomize(model, gen, lambda: [torch.randn(N, *s, generator=gen) for s in shapes])
    torch.save(dict(model.state_dict()), osp.join(out, f'{name}.pth'))

    io = {}
    inputs = [torch.randn(N, *s, generator=gen) for s in shapes]
    for i, x in enumerate(inputs):
        io[f'input.{i}'] = x
    model.eval()
    with torch.no_grad():
        io['eval.logits'] = model(inputs).clone()

    labels_full = torch.randint(0, NUM_CLASSES, (N, *LABEL_SIZE), generator=gen)
    labels = labels_full.clone()
    labels[torch.rand(labels.shape, generator=gen) < IGNORE_FRACTION] = 255
    io['labels'], io['labels_full'] = labels, labels_full  # saved as uint8 (below), used as int64 here

    # train mode without dropout (random otherwise): the same weights in a head with dropout_ratio 0
    train_cfg = dict(cfg, dropout_ratio=0)
    tmodel = build(train_cfg)
    tmodel.load_state_dict(model.state_dict(), strict=True)
    tmodel.train()
    tmodel.zero_grad()
    logits = tmodel(inputs)
    losses = tmodel.loss_by_feat(logits, samples(labels))
    loss_sum(losses).backward()
    io['train.logits'] = logits.detach().clone()
    for k, v in losses.items():
        io[f'train.{k}'] = v.detach().clone().reshape(1)
    for pname, p in tmodel.named_parameters():
        io[f'grad.{pname}'] = p.grad.detach().clone()
    for bname, b in tmodel.named_buffers():
        if bname.endswith('running_mean') or bname.endswith('running_var'):
            io[f'train_running.{bname}'] = b.detach().clone()

    variants = {}
    for vname, (over, label_key) in VARIANTS.items():
        vcfg = dict(train_cfg, **copy.deepcopy(over))
        vmodel = build(vcfg)
        lg = io['train.logits'].clone().requires_grad_(True)
        lab = io[label_key]
        if vmodel.sampler is not None:
            with torch.no_grad():
                seg = torch.nn.functional.interpolate(lg, size=LABEL_SIZE, mode='bilinear',
                                                      align_corners=vmodel.align_corners)
                w = vmodel.sampler.sample(seg, lab.unsqueeze(1))
            assert set(w.unique().tolist()) <= {0.0, 1.0}
            io[f'variant.{vname}.seg_weight'] = w.to(torch.uint8)
        vl = vmodel.loss_by_feat(lg, samples(lab))
        loss_sum(vl).backward()
        for k, v in vl.items():
            io[f'variant.{vname}.{k}'] = v.detach().clone().reshape(1)
        if vname in GRAD_VARIANTS:
            io[f'variant.{vname}.grad_logits'] = lg.grad.detach().clone()
        ours = to_ours({k: over[k] for k in over})
        variants[vname] = dict(labels=label_key, lossDecode=ours.get('lossDecode', to_ours(cfg['loss_decode'])),
                               sampler=ours.get('sampler'),
                               kept=int(io[f'variant.{vname}.seg_weight'].sum()) if vmodel.sampler is not None else None,
                               losses={k: float(v) for k, v in vl.items()})
    io['labels'], io['labels_full'] = labels.to(torch.uint8), labels_full.to(torch.uint8)
    torch.save(io, osp.join(out, f'{name}.io.pth'))

    return dict(mmseg_cfg=json.loads(json.dumps(cfg)), cfg=to_ours(cfg), input_shapes=[[N, *s] for s in shapes],
                eval_logits_shape=list(io['eval.logits'].shape),
                train_losses={k: float(v) for k, v in losses.items()}, variants=variants,
                num_parameters=sum(p.numel() for p in model.parameters()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=osp.join(ROOT, 'test', 'fixtures', 'mmseg-heads'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    register_all_modules()
    man = dict(
        versions=dict(torch=torch.__version__, mmseg=mmseg.__version__, mmcv=mmcv.__version__,
                      mmengine=mmengine.__version__, python=sys.version.split()[0]),
        seed=SEED, num_classes=NUM_CLASSES, label_size=list(LABEL_SIZE), ignore_fraction=IGNORE_FRACTION,
        cases={name: run_case(name, cfg, shapes, args.out) for name, (cfg, shapes) in CASES.items()})
    with open(osp.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(man, f, indent=1)
    print(json.dumps({k: dict(train=v['train_losses'], kept={n: x['kept'] for n, x in v['variants'].items()})
                      for k, v in man['cases'].items()}, indent=1))


if __name__ == '__main__':
    main()
