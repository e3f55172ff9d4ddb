"""cv2.resize(INTER_LINEAR) fixtures for the fused image kernel (native/image, issue 13).

MMDetection resizes the decoded uint8 BGR image with mmcv.imresize, i.e.
cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR); test/data/image-kernels.test.ts demands the
kernel's resize reproduce those bytes exactly. This writes test/fixtures/cv2_resize/:

  <image>.bin       source images, uint8 HWC 3-channel, row-major (no header; sizes in index.json)
  <image>_<w>x<h>.bin   cv2's output, uint8 HWC, for outputs of at most FULL_LIMIT bytes (1:1 outputs are
                    not stored: cv2 copies, the test compares with the source)
  index.json        versions, images and cases; every case has the output's sha256; the larger ones
                    (the keep-ratio (1333, 800) sizes) are not stored but have band_sums, the sums of
                    the bytes of each band of BAND rows, to say where a mismatch is

Images: random noise and smooth gradients of odd sizes (seeded), and test/fixtures/mmdet/images/img_480x640.png
(read with cv2.imread as mmdet's LoadImageFromFile does), the real detection-parity case.

Rerun (deterministic):  .cache/openmmlab/bin/python scripts/reference/cv2_resize_fixtures.py
"""
import hashlib
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
OUT = osp.join(ROOT, 'test', 'fixtures', 'cv2_resize')
FULL_LIMIT = 16 * 1024
BAND = 16


def rescale_size(w, h, scale=(1333, 800)):
    """mmcv.rescale_size (keep ratio): the long side under max(scale), the short under min(scale)."""
    factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return int(w * factor + 0.5), int(h * factor + 0.5)


def smooth(rng, w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for c in range(3):
        a, b, p = rng.uniform(0.05, 0.4, size=3)
        v = 127.5 + 100 * np.sin(a * x + b * y + p * 6) + 27 * np.cos(0.5 * a * y - 0.3 * b * x)
        chans.append(v)
    return np.clip(np.rint(np.stack(chans, -1)), 0, 255).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240613)
    images = {
        'rand_53x37': rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8),
        'smooth_45x61': smooth(rng, 45, 61),
        'rand_120x90': rng.integers(0, 256, size=(90, 120, 3), dtype=np.uint8),
        'smooth_97x71': smooth(rng, 97, 71),
        # extremes 0/255 and a single column/row
        'rand_1x7': rng.choice(np.array([0, 255], dtype=np.uint8), size=(7, 1, 3)),
        'rand_9x1': rng.integers(0, 256, size=(1, 9, 3), dtype=np.uint8),
    }
    mmdet_png = osp.join(ROOT, 'test', 'fixtures', 'mmdet', 'images', 'img_480x640.png')
    real = cv2.imread(mmdet_png, cv2.IMREAD_COLOR)
    if real is None:
        sys.exit(f'cannot read {mmdet_png}')

    def targets(w, h):
        t = [
            (w, h),                                          # 1:1 (cv2 copies)
            (round(w * 1.7) + 1, round(h * 2.3)),            # non-integer upscales
            (max(1, round(w * 0.6)), max(1, round(h * 0.77))),  # mild non-integer downscales
            (max(1, round(w * 0.31)), max(1, round(h * 0.23))),  # strong downscales (no antialiasing)
            (3 * w, 3 * h),                                  # integer upscale
            (w, 2 * h + 1),                                  # one axis kept
            (max(1, round(w * 0.7)), round(h * 1.5)),        # down x, up y
            (1, 1),
            rescale_size(w, h),                              # Resize (1333, 800) keep_ratio
        ]
        if w % 2 == 0 and h % 2 == 0:
            t.append((w // 2, h // 2))                       # cv2 switches to INTER_AREA here
        if w % 3 == 0 and h % 3 == 0:
            t.append((w // 3, h // 3))                       # integer downscale
        seen, out = set(), []
        for s in t:
            if s not in seen:
                seen.add(s)
                out.append(s)
        return out

    index = {
        'generator': 'scripts/reference/cv2_resize_fixtures.py',
        'cv2': cv2.__version__,
        'numpy': np.__version__,
        'call': 'cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)',
        'layout': 'uint8 HWC, 3 channels, row-major; band_sums[i]: sum of the bytes of output rows [i*band, (i+1)*band)',
        'images': {},
        'cases': [],
    }
    sources = list(images.items()) + [('img_480x640', real)]
    for name, img in sources:
        h, w = img.shape[:2]
        entry = {'width': w, 'height': h}
        if name == 'img_480x640':
            entry['file'] = 'test/fixtures/mmdet/images/img_480x640.png'
            entry['read'] = 'cv2.imread(file, cv2.IMREAD_COLOR) (BGR)'
            sizes = [rescale_size(w, h), (w, h), (800, 600), (1333, 800)]
        else:
            entry['file'] = f'{name}.bin'
            with open(osp.join(OUT, entry['file']), 'wb') as f:
                f.write(np.ascontiguousarray(img).tobytes())
            sizes = targets(w, h)
        index['images'][name] = entry
        for nw, nh in sizes:
            out = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
            assert out.shape == (nh, nw, 3) and out.dtype == np.uint8
            raw = np.ascontiguousarray(out).tobytes()
            case = {
                'image': name, 'width': nw, 'height': nh,
                'sha256': hashlib.sha256(raw).hexdigest(),
            }
            if (nw, nh) == (w, h):
                assert raw == np.ascontiguousarray(img).tobytes()
                case['same_as_source'] = True
            elif len(raw) > FULL_LIMIT:
                rows = out.reshape(nh, -1).astype(np.int64).sum(1)
                case['band'] = BAND
                case['band_sums'] = [int(rows[i:i + BAND].sum()) for i in range(0, nh, BAND)]
            else:
                case['file'] = f'{name}_{nw}x{nh}.bin'
                with open(osp.join(OUT, case['file']), 'wb') as f:
                    f.write(raw)
            index['cases'].append(case)
    with open(osp.join(OUT, 'index.json'), 'w') as f:
        json.dump(index, f, separators=(',', ':'))
        f.write('\n')
    total = sum(os.path.getsize(osp.join(OUT, n)) for n in os.listdir(OUT))
    print(f'{len(index["cases"])} cases, {len(index["images"])} images, {total} bytes in {OUT}')


if __name__ == '__main__':
    main()
