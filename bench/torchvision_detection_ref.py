"""torchvision's detection models, timed step by step as bench/torchvision_detection.ts times ours.

argv: model name (fasterrcnn_resnet50_fpn | maskrcnn_resnet50_fpn | retinanet_resnet50_fpn), weights.pth,
image.raw (float32 [3, H, W] RGB in [0, 1]), H, W, threads, denormal (on|off)

A server on stdin/stdout, so that the benchmark alternates its steps with ours one by one (other
load on the machine then falls on both alike): it loads the model, prints one JSON line
{"ready": true, "denormal": ...}, then answers each command line with one JSON line:
  infer  -> {"t": s}                       one inference (eval mode, no grad)
  train  -> {"forward", "backward", "optimizer", "total"}   one 2-image SGD step, BN frozen
  done   -> {"threads_after": [...]}       and exits
With denormal 'on', subnormals are flushed on the calling thread and on every OpenMP intra-op
thread (engine_ref.set_flush_denormal_all_threads), as tsvision does by default.
"""
import json, os, sys, time
import numpy as np
import torch, torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_ref import set_flush_denormal_all_threads, flush_denormal_threads  # noqa: E402

name, weights, raw, h, w, threads = sys.argv[1:7]
denormal_on = (sys.argv[7] if len(sys.argv) > 7 else 'on') == 'on'
h, w, threads = int(h), int(w), int(threads)
torch.set_num_threads(threads)
denormal = set_flush_denormal_all_threads(denormal_on)
img = torch.from_numpy(np.fromfile(raw, dtype=np.float32).reshape(3, h, w))
model = getattr(torchvision.models.detection, name)(weights=None, weights_backbone=None)
model.load_state_dict(torch.load(weights))
# training: BN frozen, as torchvision trains detectors; SGD
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.SGD(params, lr=0.001, momentum=0.9)
boxes = [[100, 120, 400, 500], [600, 200, 900, 700]]
target = {'boxes': torch.tensor(boxes, dtype=torch.float32), 'labels': torch.tensor([1, 3])}
if name.startswith('maskrcnn'):
    masks = torch.zeros(len(boxes), h, w, dtype=torch.uint8)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        masks[k, y1:y2, x1:x2] = 1
    target['masks'] = masks
targets = [target] * 2


def reply(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def infer():
    model.eval()
    with torch.no_grad():
        t0 = time.perf_counter()
        model([img])
        return {'t': time.perf_counter() - t0}


def train():
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    t0 = time.perf_counter()
    losses = model([img, img], targets)
    loss = sum(losses.values())
    t1 = time.perf_counter()
    opt.zero_grad()
    tz = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    opt.step()
    t3 = time.perf_counter()
    return {'forward': t1 - t0, 'backward': t2 - tz, 'optimizer': (tz - t1) + (t3 - t2), 'total': t3 - t0}


reply({'ready': True, 'denormal': denormal})
for line in sys.stdin:
    cmd = line.strip()
    if cmd == 'infer':
        reply(infer())
    elif cmd == 'train':
        reply(train())
    elif cmd == 'done':
        reply({'threads_after': flush_denormal_threads()})
        break
    else:
        reply({'error': f'unknown command {cmd!r}'})
