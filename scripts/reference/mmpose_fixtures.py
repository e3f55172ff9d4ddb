"""Reference fixtures for top-down pose (SimpleBaseline, HRNet) written by MMPose 1.3 itself.

What it writes (under OUT, default test/fixtures/mmpose/):
  sb_tiny.pth        mmpose TopdownPoseEstimator: mmpose ResNet-18 with base_channels/stem_channels 8 (out_indices
                     (3,)) + HeatmapHead(in 64, 17 keypoints, deconvs (16, 16, 16) 4x4, final 1x1); torch's default
                     conv init (mmpose's std-0.001 head init would make near-flat heatmaps), every BN randomised and
                     its running stats calibrated then perturbed (randomize_bn); flat state dict (torch.save)
  hrnet_tiny.pth     mmpose TopdownPoseEstimator: mmpose HRNet at widths [4, 8, 16, 32] (TINY_EXTRA) + HeatmapHead(in 4,
                     no deconv, final 1x1); same initialisation recipe
  <m>.io.pth         flat dict of tensors for m in (sb_tiny, hrnet_tiny):
                       input                      [2, 3, 128, 96] normalised images (N(0,1))
                       heatmaps                   head(backbone(input)), eval mode, [2, 17, 32, 24]
                       flip_heatmaps.shift        mmpose's flip test average (flip_mode heatmap, shift_heatmap True)
                       flip_heatmaps.noshift      the same with shift_heatmap False (as mmpose's UDP configs)
                       pred.<codec>.keypoints/.scores  model.predict() with flip test (msra, dark: shift True;
                                                  udp: shift False), in image coordinates (center/scale below)
                       train.heatmaps/.weights    targets (MSRAHeatmap.encode of random keypoints, some invisible)
                       train.loss_kpt/.acc_pose   model.loss() in train mode (BN batch statistics)
                       acc.moved, acc.value       pose_pck_accuracy of the targets moved 1 px in x / 2 px in y
                       grad.<param>               gradients of loss_kpt for a few parameters
  codec.pth          codec cases on hand-made keypoints (input space 96x128, K=6): codec.<name>.heatmaps/.weights
                     (encode), codec.<name>.keypoints/.scores (decode of those heatmaps), and
                     codec.<name>.decode_random.* (decode of smooth random heatmaps), names msra, dark, udp (the
                     model codecs) and msra_384, dark_384, udp_384 (288x384 / 72x96, sigma 3, keypoints x3)
  keys.json          {row: {state-dict key: shape}} of the full-width estimators of mmpose's configs (no weights)
  topdown.png        a 160x120 image (smooth gradients and blocks; PNG, so every decoder reads the same pixels)
  topdown.json       mmpose.apis.init_model(sb_tiny config + PoseDataPreprocessor (ImageNet mean/std, bgr_to_rgb),
                     sb_tiny.pth) then inference_topdown(model, topdown.png, bboxes, 'xyxy') with the td-hm val
                     pipeline at 96x128 (flip test, shifted heatmaps): per call its boxes and each result's keypoints
                     [K, 2] (image pixels) and keypoint_scores [K]; a call with bboxes None (the whole image)
  manifest.json      versions, seed, sizes, sample metainfo (input_center, input_scale, input_size, flip_indices)

Rerun:  .cache/openmmlab/bin/python scripts/reference/mmpose_fixtures.py [--out DIR]
Seeded, single-threaded; a rerun in the same environment writes the same bytes.
"""
import argparse
import copy
import json
import os
import os.path as osp
import re
import sys

import numpy as np
import torch

import mmengine
import mmpose
from mmengine.config import Config
from mmengine.structures import InstanceData, PixelData
from mmpose.codecs import MSRAHeatmap, UDPHeatmap
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from mmpose.utils import register_all_modules

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
POSE_CFG = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'coco')
SEED = 20261206
K = 17
INPUT_SIZE = (96, 128)  # (w, h), as mmpose
HEATMAP_SIZE = (24, 32)
BATCH = 2
FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
CENTERS = [[150.0, 200.0], [321.5, 97.25]]
SCALES = [[120.0, 160.0], [75.0, 100.0]]
TINY_EXTRA = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(2, ), num_channels=(8, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(2, 2), num_channels=(4, 8)),
    stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(2, 2, 2), num_channels=(4, 8, 16)),
    stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(2, 2, 2, 2), num_channels=(4, 8, 16, 32)),
)
CODECS = dict(
    msra=dict(type='MSRAHeatmap', input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2),
    dark=dict(type='MSRAHeatmap', input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2, unbiased=True),
    udp=dict(type='UDPHeatmap', input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2),
)
SHIFT = dict(msra=True, dark=True, udp=False)
# codec-only cases at the seed's 384x288 rows (sigma 3: non-integer-free radius 9, a 19x19 patch); keypoints x3
CODECS_384 = dict(
    msra_384=dict(type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3),
    dark_384=dict(type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3, unbiased=True),
    udp_384=dict(type='UDPHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3),
)


def build_codec(cfg):
    c = dict(cfg)
    t = c.pop('type')
    return (MSRAHeatmap if t == 'MSRAHeatmap' else UDPHeatmap)(**c)


def randomize_bn(model, gen):
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
            model.head(model.extract_feat(torch.randn(BATCH, 3, INPUT_SIZE[1], INPUT_SIZE[0], generator=gen)))
        for m in bns:
            c = m.num_features
            m.momentum = 0.1
            m.num_batches_tracked.zero_()
            m.running_mean.add_(torch.randn(c, generator=gen) * 0.05)
            m.running_var.mul_(torch.rand(c, generator=gen) * 0.45 + 0.8)


def model_cfg(kind, codec='msra', shift=True):
    if kind == 'sb_tiny':
        backbone = dict(type='ResNet', depth=18, base_channels=8, stem_channels=8, out_indices=(3, ))
        head = dict(type='HeatmapHead', in_channels=64, out_channels=K, deconv_out_channels=(16, 16, 16),
                    deconv_kernel_sizes=(4, 4, 4))
    else:
        backbone = dict(type='HRNet', in_channels=3, extra=copy.deepcopy(TINY_EXTRA))
        head = dict(type='HeatmapHead', in_channels=4, out_channels=K, deconv_out_channels=None)
    head['loss'] = dict(type='KeypointMSELoss', use_target_weight=True)
    head['decoder'] = CODECS[codec]
    return dict(type='TopdownPoseEstimator', backbone=backbone, head=head,
                test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=shift))


def samples(with_targets=None):
    out = []
    for i in range(BATCH):
        s = PoseDataSample(metainfo=dict(input_center=np.array(CENTERS[i], dtype=np.float32),
                                         input_scale=np.array(SCALES[i], dtype=np.float32),
                                         input_size=INPUT_SIZE, flip_indices=FLIP_INDICES))
        gi = InstanceData()
        gi.bboxes = np.zeros((1, 4), dtype=np.float32)
        gi.bbox_scores = np.ones(1, dtype=np.float32)
        s.gt_instances = gi
        if with_targets is not None:
            hm, w = with_targets[i]
            s.gt_fields = PixelData(heatmaps=torch.from_numpy(hm))
            gl = InstanceData()
            gl.keypoint_weights = torch.from_numpy(w)
            s.gt_instance_labels = gl
        out.append(s)
    return out


def model_fixtures(kind, out):
    torch.manual_seed(SEED)
    model = MODELS.build(model_cfg(kind))
    gen = torch.Generator().manual_seed(SEED + 1)
    randomize_bn(model, gen)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save(sd, osp.join(out, f'{kind}.pth'))

    io = {}
    x = torch.randn(BATCH, 3, INPUT_SIZE[1], INPUT_SIZE[0], generator=gen)
    io['input'] = x
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(x)
        io['heatmaps'] = model.head.forward(feats).clone()
        feats_flip = model.extract_feat(x.flip(-1))
        from mmpose.models.utils.tta import flip_heatmaps
        for name, shift in [('shift', True), ('noshift', False)]:
            f = flip_heatmaps(model.head.forward(feats_flip), flip_mode='heatmap', flip_indices=FLIP_INDICES,
                              shift_heatmap=shift)
            io[f'flip_heatmaps.{name}'] = ((io['heatmaps'] + f) * 0.5).clone()
        for codec in CODECS:
            m = MODELS.build(model_cfg(kind, codec, SHIFT[codec]))
            m.load_state_dict(sd, strict=True)
            m.eval()
            res = m.predict(x, samples())
            io[f'pred.{codec}.keypoints'] = torch.from_numpy(np.stack([r.pred_instances.keypoints[0] for r in res])).float()
            io[f'pred.{codec}.scores'] = torch.from_numpy(np.stack([r.pred_instances.keypoint_scores[0] for r in res])).float()

    # one training step's loss and gradients, on targets encoded by MSRAHeatmap
    codec = build_codec(CODECS['msra'])
    targets = []
    for i in range(BATCH):
        kp = (torch.rand(1, K, 2, generator=gen) * torch.tensor([INPUT_SIZE[0] * 1.1, INPUT_SIZE[1] * 1.1]) - 5).numpy()
        vis = (torch.rand(1, K, generator=gen) > 0.2).float().numpy()
        enc = codec.encode(kp, vis)
        targets.append((enc['heatmaps'], enc['keypoint_weights'].astype(np.float32)))
    io['train.heatmaps'] = torch.from_numpy(np.stack([t[0] for t in targets]))
    io['train.weights'] = torch.from_numpy(np.concatenate([t[1] for t in targets]))
    # pose_pck_accuracy on a non-trivial case: the targets moved 1 px in x (even channels) or 2 px in y (odd)
    from mmpose.evaluation.functional import pose_pck_accuracy
    moved = io['train.heatmaps'].clone()
    moved[:, 0::2] = moved[:, 0::2].roll(1, dims=3)
    moved[:, 1::2] = moved[:, 1::2].roll(2, dims=2)
    io['acc.moved'] = moved
    io['acc.value'] = torch.tensor([float(pose_pck_accuracy(moved.numpy(), io['train.heatmaps'].numpy(),
                                                            io['train.weights'].numpy() > 0)[1])])
    model.train()
    model.zero_grad()
    losses = model.loss(x, samples(targets))
    losses['loss_kpt'].backward()
    io['train.loss_kpt'] = losses['loss_kpt'].detach().reshape(1)
    io['train.acc_pose'] = torch.tensor([float(losses['acc_pose'])])
    for name, p in model.named_parameters():
        if re.search(r'^(backbone\.conv1\.weight|backbone\.layer4\.1\.conv2\.weight|backbone\.stage4\.0\.branches\.0\.1\.conv2\.weight|'
                     r'head\.deconv_layers\.\d\.weight|head\.final_layer\.(weight|bias))$', name):
            io[f'grad.{name}'] = p.grad.detach().clone()
    torch.save(io, osp.join(out, f'{kind}.io.pth'))
    return dict(params=sum(v.numel() for v in sd.values()), grads=sorted(k for k in io if k.startswith('grad.')),
                loss_kpt=float(io['train.loss_kpt']), acc_pose=float(io['train.acc_pose']))


def codec_fixtures(out):
    gen = torch.Generator().manual_seed(SEED + 2)
    # hand-made keypoints in input space (96 x 128): interior, fractional, near the border, invisible, outside,
    # on the last pixel
    kp = np.array([[[40.3, 60.7], [10.0, 12.0], [1.2, 126.5], [50.0, 50.0], [-30.0, 40.0], [95.0, 127.0]]], dtype=np.float32)
    vis = np.array([[1, 1, 1, 0, 1, 1]], dtype=np.float32)
    io = {'keypoints': torch.from_numpy(kp), 'visible': torch.from_numpy(vis)}
    # smooth random heatmaps: a few blurred bumps per channel
    ys, xs = np.mgrid[0:HEATMAP_SIZE[1], 0:HEATMAP_SIZE[0]].astype(np.float32)
    rnd = np.zeros((6, HEATMAP_SIZE[1], HEATMAP_SIZE[0]), dtype=np.float32)
    for k in range(6):
        for _ in range(3):
            cx, cy, s, a = (torch.rand(4, generator=gen) * torch.tensor([24.0, 32.0, 3.0, 1.0])).tolist()
            rnd[k] += (a + 0.2) * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * (s + 1.0) ** 2))
    rnd += (torch.rand(rnd.shape, generator=gen).numpy() * 0.01).astype(np.float32)
    io['random_heatmaps'] = torch.from_numpy(rnd)
    for name, cfg in list(CODECS.items()) + list(CODECS_384.items()):
        codec = build_codec(cfg)
        enc = codec.encode(kp * 3 if name.endswith('_384') else kp.copy(), vis.copy())
        io[f'codec.{name}.heatmaps'] = torch.from_numpy(enc['heatmaps'])
        io[f'codec.{name}.weights'] = torch.from_numpy(enc['keypoint_weights'].astype(np.float32))
        k, s = codec.decode(enc['heatmaps'].copy())
        io[f'codec.{name}.keypoints'] = torch.from_numpy(k.astype(np.float32))
        io[f'codec.{name}.scores'] = torch.from_numpy(s.astype(np.float32))
        k, s = codec.decode(rnd.copy())
        io[f'codec.{name}.decode_random.keypoints'] = torch.from_numpy(k.astype(np.float32))
        io[f'codec.{name}.decode_random.scores'] = torch.from_numpy(s.astype(np.float32))
    torch.save(io, osp.join(out, 'codec.pth'))


def full_keys():
    keys = {}
    for row in ['td-hm_res50_8xb64-210e_coco-256x192', 'td-hm_res101_8xb64-210e_coco-256x192',
                'td-hm_res152_8xb32-210e_coco-256x192', 'td-hm_hrnet-w32_8xb64-210e_coco-256x192',
                'td-hm_hrnet-w48_8xb32-210e_coco-256x192']:
        cfg = Config.fromfile(osp.join(POSE_CFG, row + '.py'))
        m = copy.deepcopy(cfg.model)
        m.pop('data_preprocessor', None)
        m.backbone.pop('init_cfg', None)
        model = MODELS.build(m)
        keys[row] = dict(backbone=json.loads(json.dumps(m.backbone.to_dict())),
                         head=dict(in_channels=m.head.in_channels, out_channels=m.head.out_channels,
                                   deconv_out_channels=m.head.get('deconv_out_channels', (256, 256, 256))),
                         keys={k: list(v.shape) for k, v in model.state_dict().items()})
    return keys


def inference_fixtures(out):
    """mmpose.apis.inference_topdown on a small image and a few boxes, with sb_tiny.pth."""
    from mmpose.apis import inference_topdown, init_model
    import cv2
    h, w = 120, 160
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([xs * 255 / w, ys * 255 / h, (xs + ys) * 255 / (w + h)], axis=-1)
    img[30:90, 60:100] = [200, 40, 90]
    img[10:40, 10:50] = [30, 220, 120]
    img = img.astype(np.uint8)  # BGR, as cv2 writes it
    path = osp.join(out, 'topdown.png')
    cv2.imwrite(path, img)
    cfg = Config(dict(
        model=dict(model_cfg('sb_tiny'), data_preprocessor=dict(
            type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)),
        test_dataloader=dict(dataset=dict(pipeline=[
            dict(type='LoadImage'), dict(type='GetBBoxCenterScale'), dict(type='TopdownAffine', input_size=INPUT_SIZE),
            dict(type='PackPoseInputs')])),
    ))
    model = init_model(cfg, osp.join(out, 'sb_tiny.pth'), device='cpu')
    calls = []
    # inside, fractional, crossing the border, tall and thin, wide and low
    boxes = [[40.0, 20.0, 110.0, 100.0], [55.5, 25.25, 102.75, 95.5], [-20.0, 60.0, 50.0, 140.0], [70.0, 5.0, 85.0, 115.0],
             [5.0, 50.0, 150.0, 70.0]]
    for bboxes in [boxes, None]:
        res = inference_topdown(model, path, None if bboxes is None else np.array(bboxes, dtype=np.float32), bbox_format='xyxy')
        calls.append(dict(bboxes=bboxes, results=[dict(
            keypoints=r.pred_instances.keypoints[0].astype(float).tolist(),
            keypoint_scores=r.pred_instances.keypoint_scores[0].astype(float).tolist()) for r in res]))
    with open(osp.join(out, 'topdown.json'), 'w') as f:
        json.dump(dict(image='topdown.png', input_size=list(INPUT_SIZE), calls=calls), f, separators=(',', ':'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=osp.join(ROOT, 'test', 'fixtures', 'mmpose'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    register_all_modules()
    man = dict(
        versions=dict(torch=torch.__version__, mmpose=mmpose.__version__, mmengine=mmengine.__version__,
                      python=sys.version.split()[0]),
        seed=SEED, num_keypoints=K, batch=BATCH, input_size=list(INPUT_SIZE), heatmap_size=list(HEATMAP_SIZE),
        input_center=CENTERS, input_scale=SCALES, flip_indices=FLIP_INDICES, tiny_extra=TINY_EXTRA, codecs=CODECS,
        codecs_384=CODECS_384,
        shift_heatmap=SHIFT)
    man['sb_tiny'] = model_fixtures('sb_tiny', args.out)
    man['hrnet_tiny'] = model_fixtures('hrnet_tiny', args.out)
    codec_fixtures(args.out)
    inference_fixtures(args.out)
    with open(osp.join(args.out, 'keys.json'), 'w') as f:
        json.dump(full_keys(), f, separators=(',', ':'))
    with open(osp.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(man, f, indent=2)
    print(json.dumps({k: man[k] for k in ('sb_tiny', 'hrnet_tiny')}, indent=2))


if __name__ == '__main__':
    main()
