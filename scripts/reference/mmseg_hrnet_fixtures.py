"""Reference fixtures for the HRNet backbone from MMSegmentation 1.2 and MMPose 1.3 themselves.

What it writes (under OUT, default test/fixtures/mmseg-hrnet/):
  mmseg_hrnet_tiny.pth       mmseg's HRNet backbone at tiny widths (TINY_EXTRA below: the W18 structure of
                             configs/_base_/models/fcn_hr18.py with channels [4, 8, 16, 32], stage1 num_channels 8,
                             num_modules 1/1/2/2), random weights from mmseg's own init_weights() (Kaiming on
                             convs), then every BN's weight and bias randomised and its running statistics
                             calibrated and perturbed (randomize_bn), so that eval-mode BN is exercised; saved with mmengine's save_checkpoint (meta has no time)
  mmseg_hrnet_tiny.io.pth    a flat dict of tensors (torch.save):
                               eval.<size>.input, eval.<size>.out<k>     eval-mode forward, sizes 2x3x64x96 and
                                                                         1x3x61x83 (odd: the fuse layers' resize)
                               train.input, train.out<k>, train.loss     train-mode forward on 2x3x64x96 (BN batch
                                                                         statistics), loss = sum of out_k**2 over k
                               grad.<param name>                         d loss / d param (the parameters keep_grad selects)
                               train_running.<buffer name>               running_mean/var after that forward
  mmpose_hrnet_tiny.pth      mmpose's HRNet (same TINY_EXTRA, mmpose defaults: nearest upsampling in the fuse
                             layers, stage4 multiscale_output False, Normal(std=0.001) conv init, the same BN
                             randomisation), mmengine checkpoint
  mmpose_hrnet_tiny.io.pth   eval.2x3x64x96.{input,out0} (one output: multiscale_output False)
  keys.json                  {model: {state-dict key: shape}} of full-width backbones, no weights:
                             mmseg_w18 (fcn_hr18.py), mmseg_w48 (fcn_hr48_*.py overrides), mmpose_w32, mmpose_w48
                             (td-hm_hrnet-w{32,48}_8xb*-210e_coco-256x192.py)
  manifest.json              versions, seeds, TINY_EXTRA, sizes, output shapes

Rerun:  .cache/openmmlab/bin/python scripts/reference/mmseg_hrnet_fixtures.py [--out DIR]
Everything is seeded; a rerun in the same environment reproduces the same tensors.
"""
import argparse
import copy
import json
import os
import re
import os.path as osp
import sys

import torch

import mmengine
import mmpose
import mmseg
from mmengine.config import Config
from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu
from mmpose.models.backbones import HRNet as PoseHRNet
from mmseg.models.backbones import HRNet as SegHRNet

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SEG_CFG = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')
POSE_CFG = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs')

SEED = 20261205
# fcn_hr18.py's extra with small widths; stage3 and stage4 keep 2 modules each so that the module-to-module path
# (and mmpose's multiscale_output=False on the last module only) is covered; num_blocks as W18.
TINY_EXTRA = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ), num_channels=(8, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4), num_channels=(4, 8)),
    stage3=dict(num_modules=2, num_branches=3, block='BASIC', num_blocks=(4, 4, 4), num_channels=(4, 8, 16)),
    stage4=dict(num_modules=2, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4), num_channels=(4, 8, 16, 32)),
)
EVAL_SIZES = [(2, 3, 64, 96), (1, 3, 61, 83)]
TRAIN_SIZE = (2, 3, 64, 96)


def size_name(s):
    return 'x'.join(str(v) for v in s)


def randomize_bn(model, gen, forward=None, size=TRAIN_SIZE, batch=None):
    """Every BN: weight U(0.5, 1.5), bias N(0, 0.1^2); running stats calibrated on 3 random batches of `size` (or
    batch(), when given; train-mode forward(x), default model(x), with a cumulative average), then running_mean +=
    N(0, 0.05^2), running_var *= U(0.8, 1.25), so that eval-mode BN is neither the identity nor the batch statistics,
    and outputs stay O(1)-O(10)."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            c = m.num_features
            m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
            m.reset_running_stats()
            m.momentum = None
        model.train()
        for _ in range(3):
            (forward or model)(batch() if batch else torch.randn(*size, generator=gen))
        for m in bns:
            c = m.num_features
            m.momentum = 0.1
            m.num_batches_tracked.zero_()
            m.running_mean.add_(torch.randn(c, generator=gen) * 0.05)
            m.running_var.mul_(torch.rand(c, generator=gen) * 0.45 + 0.8)


def keep_grad(name):
    """The gradients recorded (to keep the fixture small): all but those of the 2nd-4th block of each branch and
    of layer1 (same code as the first block's, whose gradients are kept)."""
    return re.search(r'(^layer1|\.branches\.\d+)\.[1-9]\.', name) is None


def save_ckpt(model, path, extra_meta):
    meta = dict(mmseg_version=mmseg.__version__, mmpose_version=mmpose.__version__, seed=SEED, **extra_meta)
    save_checkpoint(dict(meta=meta, state_dict=weights_to_cpu(model.state_dict())), path)


def eval_outputs(model, gen, io, sizes):
    model.eval()
    shapes = {}
    with torch.no_grad():
        for s in sizes:
            x = torch.randn(*s, generator=gen)
            outs = model(x)
            io[f'eval.{size_name(s)}.input'] = x
            for k, o in enumerate(outs):
                io[f'eval.{size_name(s)}.out{k}'] = o.detach().clone()
            shapes[size_name(s)] = [list(o.shape) for o in outs]
    return shapes


def seg_tiny(out):
    torch.manual_seed(SEED)
    model = SegHRNet(extra=copy.deepcopy(TINY_EXTRA), norm_cfg=dict(type='BN', requires_grad=True))
    model.init_weights()
    gen = torch.Generator().manual_seed(SEED + 1)
    randomize_bn(model, gen)
    save_ckpt(model, osp.join(out, 'mmseg_hrnet_tiny.pth'), dict(model='mmseg HRNet', extra=TINY_EXTRA))

    io = {}
    shapes = eval_outputs(model, gen, io, EVAL_SIZES)

    # one training-mode forward/backward (BN batch statistics; running stats updated with momentum 0.1)
    model.train()
    model.zero_grad()
    x = torch.randn(*TRAIN_SIZE, generator=gen)
    outs = model(x)
    loss = sum((o ** 2).sum() for o in outs)
    loss.backward()
    io['train.input'] = x
    for k, o in enumerate(outs):
        io[f'train.out{k}'] = o.detach().clone()
    io['train.loss'] = loss.detach().clone().reshape(1)
    for name, p in model.named_parameters():
        if keep_grad(name):
            io[f'grad.{name}'] = p.grad.detach().clone()
    for name, b in model.named_buffers():
        if name.endswith('running_mean') or name.endswith('running_var'):
            io[f'train_running.{name}'] = b.detach().clone()
    torch.save(io, osp.join(out, 'mmseg_hrnet_tiny.io.pth'))
    return dict(eval_shapes=shapes, train_shapes=[list(o.shape) for o in outs], loss=float(loss),
                num_parameters=sum(p.numel() for p in model.parameters()))


def pose_tiny(out):
    torch.manual_seed(SEED + 2)
    model = PoseHRNet(extra=copy.deepcopy(TINY_EXTRA))
    model.init_weights()
    gen = torch.Generator().manual_seed(SEED + 3)
    randomize_bn(model, gen)
    save_ckpt(model, osp.join(out, 'mmpose_hrnet_tiny.pth'), dict(model='mmpose HRNet', extra=TINY_EXTRA))
    io = {}
    shapes = eval_outputs(model, gen, io, [TRAIN_SIZE])
    torch.save(io, osp.join(out, 'mmpose_hrnet_tiny.io.pth'))
    return dict(eval_shapes=shapes)


def key_shapes(model):
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def full_keys():
    keys = {}
    for name, rel in [('mmseg_w18', 'hrnet/fcn_hr18_4xb2-40k_cityscapes-512x1024.py'),
                      ('mmseg_w48', 'hrnet/fcn_hr48_4xb2-40k_cityscapes-512x1024.py')]:
        cfg = Config.fromfile(osp.join(SEG_CFG, rel))
        b = copy.deepcopy(cfg.model.backbone)
        b.pop('type')
        b['norm_cfg'] = dict(type='BN', requires_grad=True)  # SyncBN has the same keys; BN builds on CPU
        keys[name] = dict(config=rel, extra=b['extra'], keys=key_shapes(SegHRNet(**b)))
    for name, rel in [('mmpose_w32', 'body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py'),
                      ('mmpose_w48', 'body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-256x192.py')]:
        cfg = Config.fromfile(osp.join(POSE_CFG, rel))
        b = copy.deepcopy(cfg.model.backbone)
        b.pop('type')
        b.pop('init_cfg', None)
        keys[name] = dict(config=rel, extra=b['extra'], keys=key_shapes(PoseHRNet(**b)))
    return keys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=osp.join(ROOT, 'test', 'fixtures', 'mmseg-hrnet'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    man = dict(
        versions=dict(torch=torch.__version__, mmseg=mmseg.__version__, mmpose=mmpose.__version__,
                      mmengine=mmengine.__version__, python=sys.version.split()[0]),
        seed=SEED, tiny_extra=TINY_EXTRA, eval_sizes=[list(s) for s in EVAL_SIZES], train_size=list(TRAIN_SIZE),
        mmseg_tiny=seg_tiny(args.out), mmpose_tiny=pose_tiny(args.out))
    with open(osp.join(args.out, 'keys.json'), 'w') as f:
        json.dump(full_keys(), f, separators=(',', ':'))
    with open(osp.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(man, f, indent=2)
    print(json.dumps(man, indent=2))


if __name__ == '__main__':
    main()
