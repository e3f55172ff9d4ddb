#!/usr/bin/env python3
"""Reference: the same pipeline as bench/data_pipeline.ts in Python with PIL + numpy.

decode (PIL) -> keep-ratio resize to (1333, 800), bilinear -> horizontal flip (p=0.5)
-> normalize (pytorch-style mean/std, RGB) -> CHW float32 -> pad to a multiple of 32.
Prints one JSON object per process count: {"processes", "images", "seconds", "images_per_s"}.
Usage: data_pipeline_ref.py IMAGE_LIST_FILE [PROCESSES ...]
"""
import json
import multiprocessing as mp
import random
import sys
import time

import numpy as np
from PIL import Image

MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def rescale_size(w, h, scale=(1333, 800)):
    long, short = max(scale), min(scale)
    f = min(long / max(h, w), short / min(h, w))
    return int(w * f + 0.5), int(h * f + 0.5)


def process(args):
    path, seed = args
    rng = random.Random(seed)
    img = Image.open(path).convert('RGB')
    nw, nh = rescale_size(*img.size)
    img = img.resize((nw, nh), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.float32)
    if rng.random() < 0.5:
        arr = arr[:, ::-1]
    arr = (arr - MEAN) / STD
    ph, pw = -(-nh // 32) * 32, -(-nw // 32) * 32
    out = np.zeros((3, ph, pw), dtype=np.float32)
    out[:, :nh, :nw] = arr.transpose(2, 0, 1)
    return out.shape


def main():
    files = [l.strip() for l in open(sys.argv[1]) if l.strip()]
    for procs in [int(p) for p in sys.argv[2:]] or [1]:
        work = [(f, i) for i, f in enumerate(files)]
        if procs == 1:
            process(work[0])  # warm-up
            t = time.perf_counter()
            for w in work:
                process(w)
        else:
            with mp.Pool(procs) as pool:
                pool.map(process, work[:procs])  # warm-up
                t = time.perf_counter()
                pool.map(process, work, chunksize=1)
        dt = time.perf_counter() - t
        print(json.dumps({'processes': procs, 'images': len(files), 'seconds': dt, 'images_per_s': len(files) / dt}), flush=True)


if __name__ == '__main__':
    main()
