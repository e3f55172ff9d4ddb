"""MMSegmentation 1.2's PhotoMetricDistortion and OpenCV's 8-bit HSV conversions, for our 'mmseg' flavour.

What it writes (under OUT, default test/fixtures/mmseg-photometric/):
  hsv.bin         OpenCV 4.8 on 8 bits: N_COLORS random BGR colours (plus the greys, the pure primaries and a
                  few edge cases) and cv2.cvtColor(., COLOR_BGR2HSV); then N_COLORS random HSV triples
                  (H < 180) and cv2.cvtColor(., COLOR_HSV2BGR). Layout: uint8 [bgr | hsv | hsv_in | bgr_out],
                  each n x 3, n in manifest.json.
  cases.bin       for each case: the input image (uint8 BGR, H x W x 3) and mmseg's output image.
  manifest.json   versions, counts, and per case its size and the random draws mmseg made, in order
                  ({"fn": "randint"|"uniform", "args": [...], "value": v}), recorded by replacing the numpy
                  `random` module that mmseg's transforms.py imported with a recorder around a seeded
                  numpy RandomState.

Cases cover every branch: CASES seeds, each drawing its own coins; the script checks that among them contrast
comes first and last, and that saturation and hue are each applied and skipped.

Rerun:  .cache/openmmlab/bin/python scripts/reference/mmseg_photometric_fixtures.py [--out DIR]
Seeded; a rerun writes the same bytes.
"""
import argparse
import json
import os
import os.path as osp

import cv2
import numpy as np

import mmseg
import mmseg.datasets.transforms.transforms as T
from mmseg.datasets.transforms import PhotoMetricDistortion

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
N_COLORS = 20000
SEEDS = list(range(12))
SIZE = (24, 32)  # h, w


class Recorder:
    """numpy.random's randint / uniform as mmseg calls them, drawing from a RandomState and logging each draw."""

    def __init__(self, seed):
        self.rs = np.random.RandomState(seed)
        self.log = []

    def randint(self, *args):
        v = int(self.rs.randint(*args))
        self.log.append(dict(fn='randint', args=list(args), value=v))
        return v

    def uniform(self, *args):
        v = float(self.rs.uniform(*args))
        self.log.append(dict(fn='uniform', args=list(args), value=v))
        return v


def image(rs, h, w):
    """Smooth colours with noise, some grey pixels, and saturated ones (every HSV branch)."""
    grid = rs.randint(0, 256, size=(3, 4, 3)).astype(np.float32)
    img = cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR) + rs.normal(0, 12, size=(h, w, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    img[0, :8] = rs.randint(0, 256, size=(8, 1))  # greys
    img[1, :6] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 0, 0], [255, 255, 255]]
    return img


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=osp.join(ROOT, 'test', 'fixtures', 'mmseg-photometric'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rs = np.random.RandomState(20261206)

    edge = [[g, g, g] for g in range(256)] + [[255, 0, 0], [0, 255, 0], [0, 0, 255], [1, 0, 0], [0, 1, 1], [255, 254, 255], [254, 255, 255]]
    bgr = np.concatenate([np.array(edge, np.uint8), rs.randint(0, 256, size=(N_COLORS, 3)).astype(np.uint8)])
    hsv = cv2.cvtColor(bgr[None], cv2.COLOR_BGR2HSV)[0]
    hsv_in = np.stack([rs.randint(0, 180, N_COLORS), rs.randint(0, 256, N_COLORS), rs.randint(0, 256, N_COLORS)], 1).astype(np.uint8)
    bgr_out = cv2.cvtColor(hsv_in[None], cv2.COLOR_HSV2BGR)[0]
    with open(osp.join(args.out, 'hsv.bin'), 'wb') as f:
        for a in (bgr, hsv, hsv_in, bgr_out):
            f.write(np.ascontiguousarray(a).tobytes())

    t = PhotoMetricDistortion()
    original = T.random
    cases = []
    seen = set()
    with open(osp.join(args.out, 'cases.bin'), 'wb') as f:
        for seed in SEEDS:
            img = image(rs, *SIZE)
            rec = Recorder(seed)
            T.random = rec
            try:
                out = t.transform(dict(img=img.copy()))['img']
            finally:
                T.random = original
            assert out.dtype == np.uint8 and out.shape == img.shape
            f.write(img.tobytes())
            f.write(out.tobytes())
            cases.append(dict(seed=seed, height=SIZE[0], width=SIZE[1], draws=rec.log))
            coins = [d['value'] for d in rec.log if d['fn'] == 'randint' and d['args'] == [2]]
            seen.add(('mode', coins[1]))
    assert {('mode', 0), ('mode', 1)} <= seen, seen
    man = dict(versions=dict(mmseg=mmseg.__version__, opencv=cv2.__version__, numpy=np.__version__),
               n_edge=len(edge), n_colors=N_COLORS, n_hsv=len(bgr), cases=cases)
    with open(osp.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(man, f, indent=1)


if __name__ == '__main__':
    main()
