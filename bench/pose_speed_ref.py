"""MMPose's side of bench/pose_speed.ts: one method's model, timed one command at a time.

    .cache/openmmlab/bin/python bench/pose_speed_ref.py CONFIG WEIGHTS_OUT THREADS DENORMAL(on|off)

CONFIG is the name of mmpose's packaged top-down config
(mmpose/.mim/configs/body_2d_keypoint/topdown_heatmap/coco/CONFIG.py, e.g.
td-hm_res50_8xb64-210e_coco-256x192). The model is built from it as mmpose.apis.init_model builds it
(no checkpoint: backbone init_cfg None, SyncBN reverted to BN, COCO's dataset_meta from the config,
test_cfg as configured: flip test on), seeded (torch.manual_seed(0), init_weights()), and its state
dict saved to WEIGHTS_OUT for tsvision to load strictly.

A server on stdin/stdout: it prints {"ready": true, "denormal", "torch", "mmpose", "mmengine", "mmcv",
"cv2_threads", "input_size", "heatmap_size", "num_keypoints"}, then answers each JSON command line
with one JSON line:
  {"cmd": "image", "h", "w", "n", "path"}   writes a smooth random RGB PNG of h x w and returns
                                           {"boxes": [[x1, y1, x2, y2] x n]}, person-shaped boxes
                                           inside it (not timed)
  {"cmd": "infer", "path", "boxes"[, "keypoints": true]}
                                        -> {"t": s}: mmpose.apis.inference_topdown(model, path, boxes)
                                           (xyxy; LoadImage, GetBBoxCenterScale, TopdownAffine per box,
                                           the data preprocessor, predict with the flip test, keypoints
                                           in image pixels); with "keypoints", also the predictions
                                           {"keypoints": [n][K][2], "scores": [n][K]}
  {"cmd": "train_data", "b", "path"}       writes b random crops (uint8 RGB [b, 3, h, w] at the codec's
                                           input size), target heatmaps (float32 [b, K, h', w'] at its
                                           heatmap size) and keypoint weights (float32 [b, K], 0 or 1) to
                                           one raw file, in that order, and keeps them for "train" (not
                                           timed)
  {"cmd": "train"}                      -> {"t": s}: one Adam step (lr 5e-4, the configs' optimizer) on
                                           the train_data batch: data preprocessor, model.loss
                                           (KeypointMSELoss, acc_pose), parse_losses, zero_grad, backward,
                                           step; BN in train mode
  {"cmd": "done"}                       -> {"threads_after": [...]} and exits
A command that fails is answered {"error": "..."} (the traceback goes to stderr) and the server goes
on; a failure while building the model is answered {"error": "setup: ..."} and the server exits 1.
Threads and subnormal flushing as bench/seg_speed_ref.py (bench/engine_ref.py helpers); the protocol,
the command loop, the images and the training step are bench/mm_ref_server.py's.
"""
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from mm_ref_server import fail, reply, serve, smooth, take_stdout, train_step  # noqa: E402

# the protocol gets the real stdout; everything else printed (mmengine's logger, warnings) goes to stderr
take_stdout()
SCRIPT = 'pose_speed_ref.py'

try:
    if len(sys.argv) < 4:
        raise ValueError('usage: pose_speed_ref.py CONFIG WEIGHTS_OUT THREADS [on|off]')
    import cv2
    import mmcv
    import mmengine
    import numpy as np
    import torch
    import mmpose
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.structures import InstanceData, PixelData
    from mmpose.apis import inference_topdown, init_model
    from mmpose.structures import PoseDataSample

    from engine_ref import set_flush_denormal_all_threads, flush_denormal_threads  # noqa: E402

    name, weights, threads = sys.argv[1:4]
    denormal_on = (sys.argv[4] if len(sys.argv) > 4 else 'on') == 'on'
    torch.set_num_threads(int(threads))
    denormal = set_flush_denormal_all_threads(denormal_on)
    MMLogger.get_current_instance().setLevel('WARNING')  # init_weights logs every parameter at INFO

    cfg_file = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'coco', name + '.py')
    if not osp.exists(cfg_file):
        raise FileNotFoundError(f'{name}: no packaged mmpose config {cfg_file}')
    cfg = Config.fromfile(cfg_file)
    torch.manual_seed(0)
    # init_model sets backbone init_cfg None (no pretrained download), reverts SyncBN, sets dataset_meta
    model = init_model(cfg, None, device='cpu')
    model.init_weights()
    model.eval()
    torch.save(model.state_dict(), weights)
    input_w, input_h = cfg.codec['input_size']
    heat_w, heat_h = cfg.codec['heatmap_size']
    num_k = cfg.model.head.out_channels
    assert model.test_cfg.get('flip_test'), f'{name}: expected flip_test in test_cfg, got {model.test_cfg}'
    opt = torch.optim.Adam(model.parameters(), lr=cfg.optim_wrapper.optimizer.get('lr', 5e-4))
    train_batch = None
except Exception as e:  # noqa: BLE001 - reported to the benchmark, which stops
    fail(SCRIPT, 'setup: ', e)
    sys.exit(1)


def image(c):
    h, w, n = c['h'], c['w'], c['n']
    gen = torch.Generator().manual_seed(1)
    rgb = smooth(gen, 1, h, w)[0]
    if not cv2.imwrite(c['path'], rgb.flip(0).permute(1, 2, 0).contiguous().numpy()):  # cv2 writes BGR
        raise OSError(f'could not write {c["path"]}')
    # person-shaped boxes (height 2-3 x width), a fifth to a half of the image high, inside it
    boxes = []
    for _ in range(n):
        bh = float(h * (0.2 + 0.3 * torch.rand(1, generator=gen)))
        bw = bh / float(2 + torch.rand(1, generator=gen))
        x1 = float((w - bw) * torch.rand(1, generator=gen))
        y1 = float((h - bh) * torch.rand(1, generator=gen))
        boxes.append([round(x1, 2), round(y1, 2), round(x1 + bw, 2), round(y1 + bh, 2)])
    return {'boxes': boxes}


def infer(c):
    boxes = np.array(c['boxes'], dtype=np.float32)
    model.eval()
    t0 = time.perf_counter()
    results = inference_topdown(model, c['path'], boxes, bbox_format='xyxy')
    t = time.perf_counter() - t0
    out = {'t': t}
    if c.get('keypoints'):
        out['keypoints'] = [r.pred_instances.keypoints[0].tolist() for r in results]
        out['scores'] = [r.pred_instances.keypoint_scores[0].tolist() for r in results]
    return out


def train_data(c):
    global train_batch
    b = c['b']
    gen = torch.Generator().manual_seed(2)
    imgs = smooth(gen, b, input_h, input_w)
    heatmaps = torch.rand(b, num_k, heat_h, heat_w, generator=gen)
    weights = (torch.rand(b, num_k, generator=gen) < 0.8).float()
    with open(c['path'], 'wb') as f:
        f.write(imgs.contiguous().numpy().tobytes())
        f.write(heatmaps.contiguous().numpy().tobytes())
        f.write(weights.contiguous().numpy().tobytes())
    # mmpose's inputs are BGR as loaded (its data preprocessor flips them to RGB)
    inputs = [imgs[i].flip(0).contiguous() for i in range(b)]
    samples = []
    for i in range(b):
        s = PoseDataSample(metainfo=dict(img_shape=(input_h, input_w), input_size=(input_w, input_h),
                                         input_center=np.array([input_w / 2, input_h / 2], dtype=np.float32),
                                         input_scale=np.array([input_w, input_h], dtype=np.float32)))
        s.gt_fields = PixelData(heatmaps=heatmaps[i])
        s.gt_instance_labels = InstanceData(keypoint_weights=weights[i][None])
        samples.append(s)
    train_batch = dict(inputs=inputs, data_samples=samples)
    return {}


def train(_):
    if train_batch is None:
        raise RuntimeError('train before train_data')
    t = train_step(model, opt, train_batch)
    model.eval()
    return {'t': t}


COMMANDS = dict(image=image, infer=infer, train_data=train_data, train=train)
reply({'ready': True, 'denormal': denormal, 'torch': torch.__version__, 'mmpose': mmpose.__version__,
       'mmengine': mmengine.__version__, 'mmcv': mmcv.__version__, 'cv2_threads': cv2.getNumThreads(),
       'threads': torch.get_num_threads(), 'input_size': [input_w, input_h], 'heatmap_size': [heat_w, heat_h],
       'num_keypoints': num_k})
serve(SCRIPT, COMMANDS, lambda: {'threads_after': flush_denormal_threads()})
