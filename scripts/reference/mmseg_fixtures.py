"""Reference fixtures for whole segmentors (EncoderDecoder + backbone + decode / auxiliary heads) from MMSegmentation 1.2.

Each tiny model is one of mmseg's packaged model bases (configs/_base_/models/*.py, read with mmengine's
Config.fromfile) with the widths shrunk (TINY below), BN instead of SyncBN, no pretrained weights, 5 classes and
dropout_ratio 0 (so that a train-mode loss is deterministic; the state dict is the same):

  fcn_r50v1c     fcn_r50-d8.py: ResNetV1c-50, stem_channels 8, base_channels 4 (stages 16/32/64/128 channels),
                 dilations (1, 1, 2, 4), strides (1, 2, 1, 1), contract_dilation; FCNHead (2 convs, concat_input)
                 + auxiliary FCNHead on stage 3
  psp_r18v1d     pspnet_r50-d8.py with ResNetV1d-18 (avg_down shortcuts, BasicBlock), stem 8, base 4 (4/8/16/32),
                 multi_grid (1, 2) on the last stage; PSPHead + auxiliary FCNHead
  fcn_hr         fcn_hr18.py with the tiny HRNet of mmseg_hrnet_fixtures.py (channels 4/8/16/32), FCNHead on the
                 resize_concat of the four branches, no auxiliary head
  aspp_r18v1c    deeplabv3_r50-d8.py with ResNetV1c-18 tiny; ASPPHead + auxiliary FCNHead
  sepaspp_r18v1c deeplabv3plus_r50-d8.py with ResNetV1c-18 tiny; DepthwiseSeparableASPPHead (c1 from stage 0)
                 + auxiliary FCNHead
  uper_r18v1c    upernet_r50.py with ResNetV1c-18 tiny (no dilation); UPerHead + auxiliary FCNHead

Weights: mmseg's own init_weights(), then every BN's affine parameters and running statistics randomised
(randomize_bn, as in mmseg_hrnet_fixtures.py) and each conv_seg's weight ~ N(0, 0.1²), bias ~ N(0, 0.3²) (mmseg
inits it at N(0, 0.01²): logits so small would make argmax agreement a test of rounding).

What it writes (under OUT, default test/fixtures/mmseg/):
  <model>.pth         the tiny segmentor's state dict, mmengine's save_checkpoint (meta has no time)
  <model>.io.pth      a flat dict of tensors (torch.save):
                        eval.logits          encode_decode(inputs.eval) in eval mode: [2, 5, 64, 64] (the pad shape)
                        whole.logits.<i>     predict() in whole mode on inputs.eval with META_WHOLE (image i:
                        whole.labels.<i>     img_shape < pad_shape, flip, ori_shape ≠ img_shape): [5, h, w], [h, w]
                        slide.logits.0       predict() in slide mode (crop 32x32, stride 24x24) on inputs.slide
                        slide.labels.0       (1x3x60x75; ori_shape 45x56)
                        loss.<key>           train-mode loss(inputs.eval, gt) (BN batch statistics): every key
                        grad.<param>         d(sum of the loss terms) / d param, for the parameters keep_grad selects
  inputs.pth          inputs.eval [2, 3, 64, 64], inputs.slide [1, 3, 60, 75] (float32), gt [2, 64, 64] (int64:
                      5 classes in 8x8 blocks, 255 on image 0's last 8 columns and on ~5% of pixels)
  keys.json           {name: {config, keys: {state-dict key: shape}}} of full-width segmentors built from mmseg's
                      configs (fcn_r50-d8, pspnet_r50-d8, deeplabv3_r101-d8, deeplabv3plus_r50-d8, upernet_r50,
                      fcn_hr18; *_4xb2-40k_cityscapes-512x1024.py), no weights
  manifest.json       versions, seed, the tiny models' mmseg configs (model dicts), metas, loss values, shapes

Rerun:  .cache/openmmlab/bin/python scripts/reference/mmseg_fixtures.py [--out DIR]
Everything is seeded; a rerun in the same environment reproduces the same tensors.
"""
import argparse
import copy
import json
import os
import os.path as osp
import re
import sys

import torch

import mmengine
import mmseg
from mmengine.config import Config, ConfigDict
from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

from mmseg_hrnet_fixtures import randomize_bn  # noqa: E402 (beside this script)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SEG_CFG = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')

SEED = 20261206
NUM_CLASSES = 5
EVAL_SIZE = (2, 3, 64, 64)
SLIDE_SIZE = (1, 3, 60, 75)
SLIDE_CFG = dict(mode='slide', crop_size=(32, 32), stride=(24, 24))
# whole-mode metas of inputs.eval: image 0 holds 64x56 valid pixels (padded right by 8) of a 48x40 original, image 1
# holds 50x64 (padded below by 14) of a 37x48 original and was flipped horizontally
META_WHOLE = [
    dict(ori_shape=(48, 40), img_shape=(64, 56), pad_shape=(64, 64), padding_size=[0, 8, 0, 0], flip=False),
    dict(ori_shape=(37, 48), img_shape=(50, 64), pad_shape=(64, 64), padding_size=[0, 0, 0, 14], flip=True,
         flip_direction='horizontal'),
]
META_SLIDE = [dict(ori_shape=(45, 56), img_shape=(60, 75), pad_shape=(60, 75), padding_size=[0, 0, 0, 0], flip=False)]

TINY_HRNET_EXTRA = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(2, ), num_channels=(8, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(2, 2), num_channels=(4, 8)),
    stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(2, 2, 2), num_channels=(4, 8, 16)),
    stage4=dict(num_modules=2, num_branches=4, block='BASIC', num_blocks=(2, 2, 2, 2), num_channels=(4, 8, 16, 32)),
)


def tiny_resnet(b, type_, depth, **kw):
    b.update(type=type_, depth=depth, stem_channels=8, base_channels=4, **kw)
    return b


def aux(m, in_channels):
    m.auxiliary_head.update(in_channels=in_channels, channels=8)


def tiny_models():
    """name -> (base config file, function shrinking its model dict in place)."""
    def fcn(m):
        tiny_resnet(m.backbone, 'ResNetV1c', 50)
        m.decode_head.update(in_channels=128, channels=16)
        aux(m, 64)

    def psp(m):
        tiny_resnet(m.backbone, 'ResNetV1d', 18, multi_grid=(1, 2))
        m.decode_head.update(in_channels=32, channels=16)
        aux(m, 16)

    def hr(m):
        m.backbone.extra = copy.deepcopy(TINY_HRNET_EXTRA)
        m.decode_head.update(in_channels=[4, 8, 16, 32], channels=60)

    def aspp(m):
        tiny_resnet(m.backbone, 'ResNetV1c', 18)
        m.decode_head.update(in_channels=32, channels=16)
        aux(m, 16)

    def sepaspp(m):
        tiny_resnet(m.backbone, 'ResNetV1c', 18)
        m.decode_head.update(in_channels=32, channels=16, c1_in_channels=4, c1_channels=4)
        aux(m, 16)

    def uper(m):
        tiny_resnet(m.backbone, 'ResNetV1c', 18)
        m.decode_head.update(in_channels=[4, 8, 16, 32], channels=16)
        aux(m, 16)

    return dict(fcn_r50v1c=('fcn_r50-d8.py', fcn), psp_r18v1d=('pspnet_r50-d8.py', psp), fcn_hr=('fcn_hr18.py', hr),
                aspp_r18v1c=('deeplabv3_r50-d8.py', aspp), sepaspp_r18v1c=('deeplabv3plus_r50-d8.py', sepaspp),
                uper_r18v1c=('upernet_r50.py', uper))


def bn_everywhere(d):
    """SyncBN -> BN (same keys; SyncBN cannot run in one CPU process), recursively."""
    if isinstance(d, dict):
        for k, v in d.items():
            if k == 'norm_cfg' and isinstance(v, dict) and v.get('type') == 'SyncBN':
                v['type'] = 'BN'
            else:
                bn_everywhere(v)
    elif isinstance(d, (list, tuple)):
        for v in d:
            bn_everywhere(v)


def heads(model):
    hs = [model.decode_head]
    if model.with_auxiliary_head:
        hs += list(model.auxiliary_head) if isinstance(model.auxiliary_head, torch.nn.ModuleList) else [model.auxiliary_head]
    return hs


def randomize(model, gen):
    """conv_seg weight N(0, 0.1²), bias N(0, 0.3²); then every BN as mmseg_hrnet_fixtures.randomize_bn: weight
    U(0.5, 1.5), bias N(0, 0.1²), running statistics calibrated on 3 random batches (backbone and every head, train
    mode) then perturbed (mean += N(0, 0.05²), var *= U(0.8, 1.25))."""
    def forward(x):
        feats = model.extract_feat(x)
        for h in heads(model):
            h.forward(feats)

    with torch.no_grad():
        for h in heads(model):
            h.conv_seg.weight.copy_(torch.randn(h.conv_seg.weight.shape, generator=gen) * 0.1)
            h.conv_seg.bias.copy_(torch.randn(h.conv_seg.bias.shape, generator=gen) * 0.3)
    randomize_bn(model, gen, forward, size=EVAL_SIZE)


GRAD_PATTERNS = [
    r'^backbone\.(stem\.0|conv1|layer1\.0\.conv1|layer1\.0\.downsample\.\d|layer4\.0\.conv2|layer4\.1\.bn\d)\.',
    r'^backbone\.(stage4\.1\.fuse_layers\.0\.3\.0|stage4\.1\.branches\.3\.1\.conv2|transition3\.3\.0\.0)\.',
    r'^(decode_head|auxiliary_head)\.conv_seg\.',
    r'^(decode_head|auxiliary_head)\.(convs\.0|bottleneck|conv_cat|psp_modules\.3\.1|aspp_modules\.1|'
    r'c1_bottleneck|sep_bottleneck\.1|fpn_bottleneck|lateral_convs\.0|image_pool\.1)\.',
]


def keep_grad(name):
    return any(re.search(p, name) for p in GRAD_PATTERNS)


def samples(metas, gt=None):
    out = []
    for i, meta in enumerate(metas):
        s = SegDataSample(metainfo=copy.deepcopy(meta))
        if gt is not None:
            s.gt_sem_seg = PixelData(data=gt[i:i + 1].clone())
        out.append(s)
    return out


def make_inputs(gen):
    n, _, h, w = EVAL_SIZE
    blocks = torch.randint(0, NUM_CLASSES, (n, h // 8, w // 8), generator=gen)
    gt = blocks.repeat_interleave(8, dim=1).repeat_interleave(8, dim=2)
    gt[torch.rand(n, h, w, generator=gen) < 0.05] = 255
    gt[0, :, w - 8:] = 255
    return {'inputs.eval': torch.randn(*EVAL_SIZE, generator=gen), 'inputs.slide': torch.randn(*SLIDE_SIZE, generator=gen),
            'gt': gt.long()}


def run_model(name, base, shrink, inputs, out):
    cfg = Config.fromfile(osp.join(SEG_CFG, '_base_', 'models', base))
    m = copy.deepcopy(cfg.model)
    m.pretrained = None
    m.backbone.pop('init_cfg', None)
    m.data_preprocessor = None
    shrink(m)
    for h in [m.decode_head] + ([m.auxiliary_head] if m.get('auxiliary_head') else []):
        h.update(num_classes=NUM_CLASSES, dropout_ratio=0.0)
    bn_everywhere(m)
    torch.manual_seed(SEED)
    model = MODELS.build(m)
    model.init_weights()
    gen = torch.Generator().manual_seed(SEED + 1)
    randomize(model, gen)
    meta = dict(mmseg_version=mmseg.__version__, seed=SEED, model=name)
    save_checkpoint(dict(meta=meta, state_dict=weights_to_cpu(model.state_dict())), osp.join(out, f'{name}.pth'))

    io = {}
    model.eval()
    with torch.no_grad():
        x = inputs['inputs.eval']
        io['eval.logits'] = model.encode_decode(x, [dict(img_shape=(64, 64), pad_shape=(64, 64))] * 2).clone()
        model.test_cfg = ConfigDict(mode='whole')
        for i, s in enumerate(model.predict(x, samples(META_WHOLE))):
            io[f'whole.logits.{i}'] = s.seg_logits.data.clone()
            io[f'whole.labels.{i}'] = s.pred_sem_seg.data[0].long().clone()
        model.test_cfg = ConfigDict(SLIDE_CFG)
        for i, s in enumerate(model.predict(inputs['inputs.slide'], samples(META_SLIDE))):
            io[f'slide.logits.{i}'] = s.seg_logits.data.clone()
            io[f'slide.labels.{i}'] = s.pred_sem_seg.data[0].long().clone()

    model.train()
    model.zero_grad()
    meta_train = [dict(img_shape=(64, 64), pad_shape=(64, 64), ori_shape=(64, 64))] * 2
    losses = model.loss(inputs['inputs.eval'], samples(meta_train, inputs['gt']))
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    for k, v in losses.items():
        io[f'loss.{k}'] = v.detach().clone().reshape(1)
    for pname, p in model.named_parameters():
        if keep_grad(pname) and p.grad is not None:
            io[f'grad.{pname}'] = p.grad.detach().clone()
    torch.save(io, osp.join(out, f'{name}.io.pth'))
    return dict(base=base, model=m.to_dict(), losses={k: float(v) for k, v in losses.items()},
                grads=sorted(k[5:] for k in io if k.startswith('grad.')),
                num_parameters=sum(p.numel() for p in model.parameters()))


FULL = dict(
    fcn_r50_d8='fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    pspnet_r50_d8='pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    deeplabv3_r101_d8='deeplabv3/deeplabv3_r101-d8_4xb2-40k_cityscapes-512x1024.py',
    deeplabv3plus_r50_d8='deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    upernet_r50='upernet/upernet_r50_4xb2-40k_cityscapes-512x1024.py',
    fcn_hr18='hrnet/fcn_hr18_4xb2-40k_cityscapes-512x1024.py',
)


def full_keys():
    keys = {}
    for name, rel in FULL.items():
        m = copy.deepcopy(Config.fromfile(osp.join(SEG_CFG, rel)).model)
        m.pretrained = None
        m.backbone.pop('init_cfg', None)
        m.data_preprocessor = None
        bn_everywhere(m)
        model = MODELS.build(m)
        keys[name] = dict(config=rel, keys={k: list(v.shape) for k, v in model.state_dict().items()})
        del model
    return keys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=osp.join(ROOT, 'test', 'fixtures', 'mmseg'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    register_all_modules()
    inputs = make_inputs(torch.Generator().manual_seed(SEED))
    torch.save(inputs, osp.join(args.out, 'inputs.pth'))
    models = {name: run_model(name, base, shrink, inputs, args.out) for name, (base, shrink) in tiny_models().items()}
    man = dict(
        versions=dict(torch=torch.__version__, mmseg=mmseg.__version__, mmengine=mmengine.__version__,
                      python=sys.version.split()[0]),
        seed=SEED, num_classes=NUM_CLASSES, eval_size=list(EVAL_SIZE), slide_size=list(SLIDE_SIZE), slide_cfg=SLIDE_CFG,
        meta_whole=META_WHOLE, meta_slide=META_SLIDE, models=models)
    with open(osp.join(args.out, 'keys.json'), 'w') as f:
        json.dump(full_keys(), f, separators=(',', ':'))
    with open(osp.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(man, f, indent=1, default=list)
    print(json.dumps({k: dict(losses=v['losses'], num_parameters=v['num_parameters']) for k, v in models.items()}, indent=1))


if __name__ == '__main__':
    main()
