"""Reference side of bench/engine.ts: the same measurements with python3-torch.

    /usr/bin/python3 bench/engine_ref.py --threads 2 [--calls 20000] [--batches 15] [--iters 5] [--warmup 2] [--batch 8] [--skip-resnet]

Prints one JSON object: {"torch", "threads", "small_op_us", "resnet50_s_per_iter", "resnet50_params"}.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision


def small_op_us(calls, batches):
    a = torch.ones(2, 2)
    b = torch.ones(2, 2)
    for _ in range(calls):  # warm-up
        a.add(b)
    per_call = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(calls):
            a.add(b)
        per_call.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(per_call)


def resnet50_step(batch, iters, warmup):
    torch.manual_seed(0)
    model = torchvision.models.resnet50()
    model.train()
    x = torch.randn(batch, 3, 224, 224)
    target = torch.randint(0, 1000, (batch,))

    def step():
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        model.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    params = sum(p.numel() for p in model.parameters())
    return statistics.median(times), times, params


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, required=True)
    ap.add_argument('--calls', type=int, default=20000)
    ap.add_argument('--batches', type=int, default=15)
    ap.add_argument('--iters', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--skip-resnet', action='store_true')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'small_op_us': small_op_us(args.calls, args.batches)}
    if not args.skip_resnet:
        med, times, params = resnet50_step(args.batch, args.iters, args.warmup)
        out.update(resnet50_s_per_iter=med, resnet50_times=times, resnet50_params=params)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
