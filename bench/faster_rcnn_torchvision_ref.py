"""torchvision's fasterrcnn_resnet50_fpn, timed as bench/faster_rcnn_torchvision.ts times ours.

argv: weights.pth, image.raw (float32 [3, H, W] RGB in [0, 1]), H, W, threads, warmup, iters, out.json
"""
import json, sys, time
import numpy as np
import torch, torchvision

weights, raw, h, w, threads, warmup, iters, out = sys.argv[1:]
h, w, threads, warmup, iters = int(h), int(w), int(threads), int(warmup), int(iters)
torch.set_num_threads(threads)
img = torch.from_numpy(np.fromfile(raw, dtype=np.float32).reshape(3, h, w))
model = torchvision.models.detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)
model.load_state_dict(torch.load(weights))
model.eval()
infer = []
with torch.no_grad():
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        model([img])
        if i >= warmup:
            infer.append(time.perf_counter() - t0)
# a 2-image training step (SGD), BN frozen as torchvision trains detectors
model.train()
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.eval()
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.SGD(params, lr=0.001, momentum=0.9)
targets = [{'boxes': torch.tensor([[100., 120., 400., 500.], [600., 200., 900., 700.]]), 'labels': torch.tensor([1, 3])}] * 2
train = []
for i in range(warmup + iters):
    t0 = time.perf_counter()
    losses = model([img, img], targets)
    loss = sum(losses.values())
    opt.zero_grad()
    loss.backward()
    opt.step()
    if i >= warmup:
        train.append(time.perf_counter() - t0)
json.dump({'infer': infer, 'train': train}, open(out, 'w'))
