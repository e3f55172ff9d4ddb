"""Reference side of bench/engine.ts: the same measurements with python3-torch.

    /usr/bin/python3 bench/engine_ref.py --threads 2 [--calls 20000] [--batches 15] [--iters 5] [--warmup 2] [--batch 8] [--skip-resnet] [--denormal on|off]

Prints one JSON object: {"torch", "threads", "small_op_us", "resnet50_s_per_iter", "resnet50_params", "denormal"}.
"""
import argparse
import ctypes
import glob
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision


def set_flush_denormal_all_threads(on):
    """torch.set_flush_denormal(on) on the calling thread AND on every OpenMP intra-op thread.

    torch.set_flush_denormal sets only the calling thread's MXCSR; libtorch's OpenMP workers
    keep theirs (those started afterwards inherit it from the thread that starts them, but
    workers already running, or parked by a smaller set_num_threads and reused later, do not).
    So this opens one OpenMP parallel region through libgomp's GOMP_parallel (what
    `#pragma omp parallel` compiles to; the team is the one libtorch's regions get, sized by
    torch.set_num_threads) with a ctypes callback that calls torch.set_flush_denormal on each
    team member (the callbacks take the GIL in turn). tsvision's torch.setFlushDenormal does
    the same natively. Call it again after torch.set_num_threads.

    Returns {'supported', 'threads': [whether each intra-op thread flushes, by its share of
    a parallel op over float32 subnormals]}.
    """
    supported = torch.set_flush_denormal(on)
    lib = None
    libdir = os.path.join(os.path.dirname(torch.__file__), 'lib')
    # the pip wheels ship a renamed libgomp next to libtorch; Debian's torch uses the system one
    for name in sorted(glob.glob(os.path.join(libdir, 'libgomp*.so*'))) + ['libgomp.so.1']:
        try:
            lib = ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
            break
        except OSError:
            pass
    if lib is not None and 'OpenMP' in torch.__config__.parallel_info():
        callback_t = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
        callback = callback_t(lambda _: torch.set_flush_denormal(on))
        lib.GOMP_parallel.argtypes = [callback_t, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        lib.GOMP_parallel.restype = None
        lib.GOMP_parallel(callback, None, 0, 0)
    return {'supported': supported, 'threads': flush_denormal_threads()}


def flush_denormal_threads():
    """Whether each intra-op thread flushes subnormals: x * 1 over float32 subnormals
    (71362 * 2^-149 ~ 1e-40, made from their bits: converting 1e-40 on a flushing thread
    would give 0 already), long enough for every thread to get a share (elementwise grain
    32768)."""
    n = torch.get_num_threads()
    per = 1 << 18
    y = torch.full([n * per], 71362, dtype=torch.int32).view(torch.float32).mul(1)
    return [bool((y[t * per:(t + 1) * per] == 0).all()) for t in range(n)]


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
    ap.add_argument('--denormal', choices=['on', 'off'], default='on')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    # tsvision flushes subnormals by default: the same here (--denormal off: IEEE subnormals)
    denormal = set_flush_denormal_all_threads(args.denormal == 'on')
    out = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'denormal': denormal, 'small_op_us': small_op_us(args.calls, args.batches)}
    if not args.skip_resnet:
        med, times, params = resnet50_step(args.batch, args.iters, args.warmup)
        out.update(resnet50_s_per_iter=med, resnet50_times=times, resnet50_params=params)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
