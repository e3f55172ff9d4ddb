/**
 * Python shared by the torchvision parity tests (prepended to their bodies; needs `gen`, a
 * seeded torch.Generator): generated scenes, BatchNorm calibration of a random model on them,
 * and a few SGD steps on its heads so that scores spread.
 */
export const PY_SCENES = `
def rnd(*shape):
    return torch.rand(*shape, generator=gen)

def rint(lo, hi):
    return int(torch.randint(lo, hi, (1,), generator=gen))

def scene(h, w, n):
    # a noisy background with n random colored rectangles (labels 1..3)
    img = rnd(3, 1, 1) * 0.6 + rnd(3, h, w) * 0.2
    boxes, labels = [], []
    for k in range(n):
        bw, bh = rint(w // 8, w // 2), rint(h // 8, h // 2)
        x, y = rint(0, w - bw), rint(0, h - bh)
        img[:, y:y + bh, x:x + bw] = rnd(3, 1, 1) * 0.8 + rnd(3, bh, bw) * 0.2
        boxes.append([x, y, x + bw, y + bh])
        labels.append(1 + k % 3)
    return img.clamp(0, 1), torch.tensor(boxes, dtype=torch.float32), torch.tensor(labels)

def calibrate(model, imgs):
    # BatchNorm statistics of the scenes themselves (one train-mode pass) keep the random
    # network's activations in range; then random affine parameters
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.momentum = 1.0
        model.backbone.body.train()
        model.backbone.body(model.transform(imgs)[0].tensors)
        for m in bns:
            c = m.num_features
            m.weight.copy_(0.5 + torch.rand(c, generator=gen))
            m.bias.copy_(torch.randn(c, generator=gen) * 0.2)

def train_heads(model, imgs, targets, min_size, lr, steps):
    # a few SGD steps (heads and FPN only, smaller inputs: cheap; BN stays in eval mode)
    model.train()
    model.backbone.body.eval()
    model.backbone.body.requires_grad_(False)
    model.transform.min_size = (min_size,)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, momentum=0.9)
    losses = []
    for step in range(steps):
        ld = model(imgs, targets)
        loss = sum(ld.values())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss))
    model.transform.min_size = (800,)
    return losses
`;
