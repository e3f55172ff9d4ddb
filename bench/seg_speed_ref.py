"""MMSegmentation's side of bench/seg_speed.ts: one method's model, timed one command at a time.

    .cache/openmmlab/bin/python bench/seg_speed_ref.py CONFIG WEIGHTS_OUT THREADS DENORMAL(on|off)

CONFIG is the name of mmseg's packaged config (mmseg/.mim/configs/CONFIG.py, e.g.
fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024). The model is built from it as init_model builds it
(model.pretrained None, backbone init_cfg None), with SyncBN as BN and test_cfg mode 'whole', seeded
(torch.manual_seed(0), init_weights()), and its state dict saved to WEIGHTS_OUT for tsvision to load.

A server on stdin/stdout: it prints {"ready": true, "denormal": ...}, then answers each JSON command
line with one JSON line:
  {"cmd": "image", "h", "w", "path"}            writes a smooth random RGB PNG of h x w (not timed)
  {"cmd": "train_data", "h", "w", "path"}       writes 2 random images (uint8 RGB [2, 3, h, w]) and label
                                                maps (uint8 [2, h, w], 19 classes) to one raw file, and
                                                keeps them for "train" (not timed)
  {"cmd": "infer", "path", "h", "w"}            -> {"t": s}: mmseg.apis.inference_model(model, path), the
                                                test pipeline's Resize scale set to (w, h), keep_ratio
  {"cmd": "train"}                              -> {"t": s}: one SGD step on the train_data batch (data
                                                preprocessor, model.loss, parse_losses, zero_grad, backward,
                                                step), BN in train mode
  {"cmd": "done"}                               -> {"threads_after": [...]} and exits
Threads and subnormal flushing as bench/torchvision_detection_ref.py (bench/engine_ref.py helpers); the
protocol, the command loop, the images and the training step are bench/mm_ref_server.py's.
"""
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from mm_ref_server import reply, serve, smooth, take_stdout, train_step  # noqa: E402

# the protocol gets the real stdout; everything else printed (mmengine's logger, warnings) goes to stderr
take_stdout()

import cv2
import numpy as np
import torch
import mmseg
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.structures import PixelData
from mmseg.apis import inference_model, init_model
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

from engine_ref import set_flush_denormal_all_threads, flush_denormal_threads  # noqa: E402

name, weights, threads = sys.argv[1:4]
denormal_on = (sys.argv[4] if len(sys.argv) > 4 else 'on') == 'on'
torch.set_num_threads(int(threads))
denormal = set_flush_denormal_all_threads(denormal_on)
register_all_modules()
MMLogger.get_current_instance().setLevel('WARNING')  # init_weights logs every parameter at INFO


def sync_bn_to_bn(node):
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
        for v in node.values():
            sync_bn_to_bn(v)
    elif isinstance(node, list):
        for v in node:
            sync_bn_to_bn(v)


cfg = Config.fromfile(osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', name + '.py'))
model_cfg = cfg.model.to_dict()
sync_bn_to_bn(model_cfg)
model_cfg['pretrained'] = None
model_cfg['backbone']['init_cfg'] = None
model_cfg['test_cfg'] = dict(mode='whole')
cfg.model = model_cfg
torch.manual_seed(0)
model = init_model(cfg, None, device='cpu')
model.init_weights()
torch.save(model.state_dict(), weights)
resize = [t for t in model.cfg.test_pipeline if t['type'] == 'Resize']
assert len(resize) == 1, model.cfg.test_pipeline
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=0.0005)
train_batch = None


def image(c):
    rgb = smooth(torch.Generator().manual_seed(1), 1, c['h'], c['w'])[0]
    cv2.imwrite(c['path'], rgb.flip(0).permute(1, 2, 0).contiguous().numpy())  # cv2 writes BGR
    return {}


def train_data(c):
    global train_batch
    h, w = c['h'], c['w']
    gen = torch.Generator().manual_seed(2)
    imgs = smooth(gen, 2, h, w)
    # blocky label maps: 19 classes on a coarse grid, nearest-upsampled
    labels = torch.nn.functional.interpolate(torch.randint(0, 19, (2, 1, 4, 4), generator=gen).float(),
                                             size=(h, w), mode='nearest')[:, 0].to(torch.uint8)
    with open(c['path'], 'wb') as f:
        f.write(imgs.contiguous().numpy().tobytes())
        f.write(labels.contiguous().numpy().tobytes())
    # mmseg's inputs are BGR as loaded (its data preprocessor flips them to RGB)
    inputs = [imgs[i].flip(0).contiguous() for i in range(2)]
    samples = []
    for i in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        s.gt_sem_seg = PixelData(data=labels[i][None].long())
        samples.append(s)
    train_batch = dict(inputs=inputs, data_samples=samples)
    return {}


def infer(c):
    resize[0]['scale'] = (c['w'], c['h'])
    resize[0]['keep_ratio'] = True
    model.eval()
    t0 = time.perf_counter()
    inference_model(model, c['path'])
    return {'t': time.perf_counter() - t0}


def train(_):
    return {'t': train_step(model, opt, train_batch)}


COMMANDS = dict(image=image, train_data=train_data, infer=infer, train=train)
reply({'ready': True, 'denormal': denormal, 'torch': torch.__version__, 'mmseg': mmseg.__version__})
serve('seg_speed_ref.py', COMMANDS, lambda: {'threads_after': flush_denormal_threads()})
