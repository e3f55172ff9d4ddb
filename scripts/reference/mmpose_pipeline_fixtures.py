"""MMPose 1.3 top-down data fixtures: pipeline transforms, the CocoDataset's top-down records and CocoMetric.

test/data/mmpose_pipeline.test.ts and test/tasks/pose_evaluator.test.ts read what this writes under
test/fixtures/mmpose-pipeline/; every number in them comes from mmpose's own code as installed in
.cache/openmmlab (mmpose 1.3, mmcv 2, opencv-python, xtcocotools), nothing is computed here by hand:

  images/<name>.bin       source images, uint8 HWC 3-channel, row-major (sizes in pipeline.json)
  warped/<case>.bin       TopdownAffine's output image (cv2.warpAffine INTER_LINEAR), uint8 HWC
  pipeline.json           per case: the image, the person (bbox xyxy float32, keypoints, visibility),
                          the transforms with their options, the random draws each random transform made
                          (recorded by wrapping mmpose's own draw methods, so a test can inject them),
                          and after each transform bbox_center / bbox_scale (/ bbox_rotation); after
                          TopdownAffine the warp matrix, transformed_keypoints, keypoints_visible and the
                          sha256 of the warped image
  gt.json                 a synthetic COCO person-keypoints ground truth (crowd, zero-keypoint, border
                          crossing and degenerate boxes included)
  detections.json         person detections on it (other categories, low scores)
  datasets.json           mmpose CocoDataset (top-down) records: from ground truth (training filters) and
                          from detections.json (bbox_score_thr 0.3), as img_id / id / bbox / bbox_score /
                          keypoints / keypoints_visible
  trig.json               np.sin / np.cos of float32 angles (numpy's own float32 polynomials, which get_warp_matrix
                          uses on MMPose's float32 bbox_rotation), to check our reproduction of them
  metric.json             CocoMetric (score_mode bbox_keypoint, keypoint_score_thr 0.2, oks_nms 0.9): the
                          per-sample predictions fed to process() (perturbations of the ground truth with
                          near-duplicates and a repeated sample id), the results it kept (the
                          .keypoints.json it wrote) and its AP/AR numbers

Seeded (numpy RandomState / default_rng); rerunning rewrites the same bytes:
  .cache/openmmlab/bin/python scripts/reference/mmpose_pipeline_fixtures.py
"""
import hashlib
import json
import os
import os.path as osp
import shutil
import tempfile

import numpy as np
import torch

torch.set_num_threads(1)

from mmpose.datasets.datasets.body import CocoDataset  # noqa: E402
from mmpose.datasets.transforms import (GetBBoxCenterScale, RandomBBoxTransform,  # noqa: E402
                                        RandomFlip, RandomHalfBody, TopdownAffine)
from mmpose.evaluation.metrics import CocoMetric  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
OUT = osp.join(ROOT, 'test', 'fixtures', 'mmpose-pipeline')
META_FILE = 'mmpose/configs/_base_/datasets/coco.py'

COCO_KEYPOINTS = [
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
    'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle',
    'right_ankle'
]
SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9], [8, 10],
            [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]
# A standing person's keypoints in a unit box (x right, y down), to place people plausibly.
TEMPLATE = np.array([[.5, .08], [.54, .06], [.46, .06], [.58, .08], [.42, .08], [.68, .25], [.32, .25], [.75, .42],
                     [.25, .42], [.78, .56], [.22, .56], [.6, .58], [.4, .58], [.62, .78], [.38, .78], [.63, .97],
                     [.37, .97]])


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def f32list(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def smooth(rng, w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for _ in range(3):
        a, b, p = rng.uniform(0.05, 0.4, size=3)
        v = 127.5 + 100 * np.sin(a * x + b * y + p * 6) + 27 * np.cos(0.5 * a * y - 0.3 * b * x)
        chans.append(v)
    return np.clip(np.rint(np.stack(chans, -1)), 0, 255).astype(np.uint8)


def person(rng, box, img_w, img_h, drop=()):
    """COCO keypoints [17*3] for a person in box xywh: template + noise, v 2 (1 for a few), 0 for `drop`."""
    x, y, w, h = box
    kp = TEMPLATE * [w, h] + [x, y] + rng.normal(0, 1.5, size=(17, 2))
    out = []
    for i, (px, py) in enumerate(kp):
        if i in drop or not (0 <= px < img_w and 0 <= py < img_h):
            out += [0, 0, 0]
        else:
            out += [round(float(px), 2), round(float(py), 2), 1 if i % 5 == 3 else 2]
    return out


# ---------------------------------------------------------------------------------------------- pipeline

class Recorder:
    """Wraps a transform's draw method so the values it returned are recorded (the transform still draws)."""

    def __init__(self, transform, method):
        self.values = []
        orig = getattr(transform, method)

        def wrapped(*args, **kwargs):
            v = orig(*args, **kwargs)
            self.values.append(v)
            return v

        setattr(transform, method, wrapped)


def draws_json(name, values):
    v = values[-1]
    if name == 'RandomFlip':
        return {'direction': v}
    if name == 'RandomHalfBody':
        return {'halfBodyIds': [None if ids is None else [int(i) for i in ids] for ids in v]}
    if name == 'RandomBBoxTransform':
        offset, scale, rotate = v
        return {'offset': f32list(offset[0]), 'scale': float(np.asarray(scale).ravel()[0]),
                'rotate': float(np.asarray(rotate).ravel()[0])}
    raise ValueError(name)


def run_case(name, img_name, img, person_rec, transforms, seed):
    """Runs mmpose transforms on one person; records the state after each and the draws."""
    np.random.seed(seed)
    kps = np.array(person_rec['keypoints'], dtype=np.float32).reshape(1, -1, 3)
    results = dict(
        img=img.copy(), img_shape=img.shape[:2], ori_shape=img.shape[:2],
        bbox=np.array(person_rec['bbox'], dtype=np.float32).reshape(1, 4),
        bbox_score=np.ones(1, dtype=np.float32),
        keypoints=kps[..., :2].copy(), keypoints_visible=np.minimum(1, kps[..., 2]),
        flip_indices=FLIP_INDICES, upper_body_ids=UPPER_IDS, lower_body_ids=LOWER_IDS)
    steps = []
    for spec in transforms:
        opts = {k: v for k, v in spec.items() if k != 'type'}
        t = {'GetBBoxCenterScale': GetBBoxCenterScale, 'RandomFlip': RandomFlip, 'RandomHalfBody': RandomHalfBody,
             'RandomBBoxTransform': RandomBBoxTransform, 'TopdownAffine': TopdownAffine}[spec['type']](**opts)
        method = {'RandomFlip': '_choose_direction', 'RandomHalfBody': '_random_select_half_body',
                  'RandomBBoxTransform': '_get_transform_params'}.get(spec['type'])
        rec = Recorder(t, method) if method else None
        results = t(results)
        step = {'type': spec['type'], 'options': opts,
                'bboxCenter': f32list(results['bbox_center'][0]), 'bboxScale': f32list(results['bbox_scale'][0])}
        if rec:
            step['draws'] = draws_json(spec['type'], rec.values)
        if 'bbox_rotation' in results:
            step['bboxRotation'] = float(results['bbox_rotation'][0])
        if spec['type'] == 'RandomFlip':
            step['keypoints'] = f32list(results['keypoints'])
            step['keypointsVisible'] = f32list(results['keypoints_visible'])
            step['bbox'] = f32list(results['bbox'])
        if spec['type'] == 'TopdownAffine':
            from mmpose.structures.bbox import get_udp_warp_matrix, get_warp_matrix
            c, s = results['bbox_center'][0], results['bbox_scale'][0]
            rot = results['bbox_rotation'][0] if 'bbox_rotation' in results else 0.
            w, h = opts['input_size']
            m = (get_udp_warp_matrix if opts.get('use_udp') else get_warp_matrix)(c, s, rot, output_size=(w, h))
            out = np.ascontiguousarray(results['img'])
            assert out.shape == (h, w, 3) and out.dtype == np.uint8
            with open(osp.join(OUT, 'warped', f'{name}.bin'), 'wb') as f:
                f.write(out.tobytes())
            step['warpMatrix'] = f32list(m)
            step['transformedKeypoints'] = f32list(results['transformed_keypoints'])
            step['keypointsVisible'] = f32list(results['keypoints_visible'])
            step['warped'] = f'warped/{name}.bin'
            step['warpedSha256'] = sha256(out.tobytes())
        steps.append(step)
    return {'name': name, 'image': img_name, 'seed': seed, 'bbox': person_rec['bbox'],
            'keypoints': person_rec['keypoints'], 'steps': steps}


def pipeline_fixtures(rng):
    os.makedirs(osp.join(OUT, 'images'), exist_ok=True)
    os.makedirs(osp.join(OUT, 'warped'), exist_ok=True)
    images = {'smooth_200x150': smooth(rng, 200, 150),
              'rand_120x160': rng.integers(0, 256, size=(160, 120, 3), dtype=np.uint8)}
    for k, v in images.items():
        with open(osp.join(OUT, 'images', f'{k}.bin'), 'wb') as f:
            f.write(v.tobytes())

    def pr(img_name, box_xywh, drop=()):
        h, w = images[img_name].shape[:2]
        x, y, bw, bh = box_xywh
        return {'bbox': [x, y, x + bw, y + bh], 'keypoints': person(rng, box_xywh, w, h, drop)}

    wide = pr('smooth_200x150', [20.5, 30.25, 150.0, 80.0])  # wider than 3:4: _fix_aspect_ratio grows h
    tall = pr('smooth_200x150', [60.0, 5.0, 50.5, 140.0], drop=(3, 4))  # taller than 3:4: grows w
    small = pr('rand_120x160', [10.0, 20.0, 90.0, 120.0], drop=(0, 15, 16))
    edge = pr('rand_120x160', [-15.0, 70.0, 60.0, 95.0])  # crosses the border: zeros come in
    cs = {'type': 'GetBBoxCenterScale', 'padding': 1.25}
    aff = {'type': 'TopdownAffine', 'input_size': [192, 256]}
    aff_small = {'type': 'TopdownAffine', 'input_size': [48, 64]}
    aff_udp = {'type': 'TopdownAffine', 'input_size': [192, 256], 'use_udp': True}
    flip1 = {'type': 'RandomFlip', 'prob': 1.0, 'direction': 'horizontal'}
    half1 = {'type': 'RandomHalfBody', 'prob': 1.0, 'min_total_keypoints': 9, 'min_upper_keypoints': 2,
             'min_lower_keypoints': 3, 'padding': 1.5}
    bbt1 = {'type': 'RandomBBoxTransform', 'shift_factor': 0.16, 'shift_prob': 1.0, 'scale_factor': [0.5, 1.5],
            'scale_prob': 1.0, 'rotate_factor': 80.0, 'rotate_prob': 1.0}
    train = [cs, {'type': 'RandomFlip', 'prob': 0.5, 'direction': 'horizontal'},
             {'type': 'RandomHalfBody', 'prob': 0.3}, {'type': 'RandomBBoxTransform', 'rotate_prob': 0.5,
                                                       'rotate_factor': 80.0, 'scale_factor': [0.5, 1.5]}, aff]
    cases = [
        run_case('wide_plain', 'smooth_200x150', images['smooth_200x150'], wide, [cs, aff], 1),
        run_case('tall_plain', 'smooth_200x150', images['smooth_200x150'], tall, [cs, aff], 2),
        run_case('tall_plain_48x64', 'smooth_200x150', images['smooth_200x150'], tall, [cs, aff_small], 3),
        run_case('small_flip', 'rand_120x160', images['rand_120x160'], small, [cs, flip1, aff_small], 4),
        run_case('wide_halfbody', 'smooth_200x150', images['smooth_200x150'], wide, [cs, half1, aff], 5),
        run_case('tall_halfbody', 'smooth_200x150', images['smooth_200x150'], tall, [cs, half1, aff], 15),
        run_case('wide_bboxtransform', 'smooth_200x150', images['smooth_200x150'], wide, [cs, bbt1, aff], 6),
        run_case('edge_bboxtransform', 'rand_120x160', images['rand_120x160'], edge, [cs, bbt1, aff_small], 7),
        run_case('wide_bboxtransform_udp', 'smooth_200x150', images['smooth_200x150'], wide, [cs, bbt1, aff_udp], 8),
        run_case('tall_udp', 'smooth_200x150', images['smooth_200x150'], tall, [cs, aff_udp], 9),
    ]
    for seed in range(10, 14):
        src = [('smooth_200x150', wide), ('smooth_200x150', tall), ('rand_120x160', small), ('rand_120x160', edge)]
        img_name, p = src[seed % 4]
        cases.append(run_case(f'train_seed{seed}', img_name, images[img_name], p, train, seed))
    return {
        'images': {k: {'file': f'images/{k}.bin', 'width': v.shape[1], 'height': v.shape[0]}
                   for k, v in images.items()},
        'flipIndices': FLIP_INDICES, 'upperBodyIds': UPPER_IDS, 'lowerBodyIds': LOWER_IDS,
        'cases': cases,
    }


# ---------------------------------------------------------------------------------------------- datasets

def make_gt(rng):
    images = [{'id': 3, 'file_name': 'a.jpg', 'width': 200, 'height': 150},
              {'id': 1, 'file_name': 'b.jpg', 'width': 120, 'height': 160},
              {'id': 7, 'file_name': 'c.jpg', 'width': 320, 'height': 240}]
    anns = []
    aid = 100

    def add(img, box, drop=(), crowd=0, kps=None):
        nonlocal aid
        aid += 1
        k = kps if kps is not None else person(rng, box, img['width'], img['height'], drop)
        anns.append({'id': aid, 'image_id': img['id'], 'category_id': 1, 'bbox': box, 'iscrowd': crowd,
                     'area': round(box[2] * box[3] * 0.6, 2), 'keypoints': k,
                     'num_keypoints': sum(1 for i in range(2, 51, 3) if k[i] > 0)})

    a, b, c = images
    add(a, [20.5, 30.25, 150.0, 80.0])
    add(a, [60.0, 5.0, 50.5, 140.0], drop=(3, 4))
    add(a, [150.0, 100.0, 70.0, 60.0], drop=tuple(range(5, 17)))  # crosses the right/bottom border
    add(a, [10.0, 10.0, 30.0, 30.0], crowd=1, kps=[0] * 51)  # crowd
    add(b, [10.0, 20.0, 90.0, 120.0], drop=(0, 15, 16))
    add(b, [-15.0, 70.0, 60.0, 95.0])  # crosses the left border
    add(b, [5.0, 5.0, 20.0, 20.0], kps=[0] * 51)  # no keypoints
    add(b, [130.0, 20.0, 10.0, 10.0], kps=[0] * 51)  # off the image: clipped to zero width
    for box in ([12.0, 20.0, 100.0, 190.0], [130.0, 30.0, 80.0, 180.0], [200.0, 60.0, 90.0, 170.0],
                [40.0, 100.0, 150.0, 120.0]):
        add(c, box, drop=tuple(int(i) for i in rng.choice(17, size=3, replace=False)))
    return {'images': images, 'annotations': anns,
            'categories': [{'id': 1, 'name': 'person', 'supercategory': 'person', 'keypoints': COCO_KEYPOINTS,
                            'skeleton': SKELETON}]}


def make_detections(rng, gt):
    dets = []
    for ann in gt['annotations']:
        if ann['iscrowd']:
            continue
        x, y, w, h = ann['bbox']
        jit = rng.normal(0, 2, size=4)
        dets.append({'image_id': ann['image_id'], 'category_id': 1,
                     'bbox': [round(float(v), 3) for v in (x + jit[0], y + jit[1], w + jit[2], h + jit[3])],
                     'score': round(float(rng.uniform(0.05, 1.0)), 4)})
    dets.append({'image_id': 7, 'category_id': 3, 'bbox': [1.0, 2.0, 30.0, 40.0], 'score': 0.99})
    dets.append({'image_id': 1, 'category_id': 1, 'bbox': [100.0, 140.0, 40.0, 40.0], 'score': 0.3})
    return dets


def dataset_records(ds):
    out = []
    for i in range(len(ds)):
        d = ds.get_data_info(i)
        out.append({'img_id': int(d['img_id']), 'id': int(d['id']), 'img_path': osp.basename(d['img_path']),
                    'bbox': f32list(d['bbox']), 'bbox_score': f32list(d['bbox_score']),
                    'keypoints': f32list(d['keypoints']), 'keypoints_visible': f32list(d['keypoints_visible'])})
    return out


def dataset_fixtures(gt_file, det_file):
    pipeline = []
    train = CocoDataset(ann_file=gt_file, data_root='', data_prefix=dict(img='imgs/'), data_mode='topdown',
                        pipeline=pipeline, test_mode=False)
    test = CocoDataset(ann_file=gt_file, data_root='', data_prefix=dict(img='imgs/'), data_mode='topdown',
                       bbox_file=det_file, filter_cfg=dict(bbox_score_thr=0.3), pipeline=pipeline, test_mode=True)
    return {'train': dataset_records(train), 'testFromDetections': {'bboxScoreThr': 0.3,
                                                                     'records': dataset_records(test)},
            'sigmas': f32list(train.metainfo['sigmas']), 'flipIndices': [int(i) for i in train.metainfo['flip_indices']],
            'upperBodyIds': [int(i) for i in train.metainfo['upper_body_ids']],
            'lowerBodyIds': [int(i) for i in train.metainfo['lower_body_ids']]}


# ---------------------------------------------------------------------------------------------- metric

def metric_fixtures(rng, gt, gt_file, meta):
    preds = []
    sid = 0
    for ann in gt['annotations']:
        if ann['iscrowd'] or ann['num_keypoints'] == 0:
            continue
        gk = np.array(ann['keypoints'], dtype=np.float64).reshape(17, 3)
        x, y, w, h = ann['bbox']
        base = gk[:, :2].copy()
        missing = gk[:, 2] == 0
        base[missing] = TEMPLATE[missing] * [w, h] + [x, y]
        n_dup = int(rng.integers(1, 4))
        for j in range(n_dup):
            noise = 0.5 if j > 0 else rng.uniform(1.0, 6.0)  # near-duplicates: OKS above 0.9 to the first
            kp = base + rng.normal(0, noise, size=(17, 2)) + (j * rng.normal(0, 0.3, size=2))
            scores = rng.uniform(0.0, 1.0, size=17)
            if sid % 7 == 5:
                scores = rng.uniform(0.0, 0.19, size=17)  # none above keypoint_score_thr: instance score 0
            bbox_score = round(float(rng.uniform(0.3, 1.0)), 4)
            scale = [w * 1.25 * float(rng.uniform(0.9, 1.1)), h * 1.25]
            preds.append({'id': sid, 'img_id': ann['image_id'], 'keypoints': [[float(a), float(b)] for a, b in kp],
                          'keypoint_scores': [float(s) for s in scores], 'bbox_score': bbox_score,
                          'bbox_scale': scale})
            sid += 1
    # A far-off false positive, and a repeated sample id (mmpose keeps the first after sorting by id).
    preds.append({'id': sid, 'img_id': 7, 'keypoints': [[float(a), float(b)] for a, b in (TEMPLATE * [40, 60] + [270, 170])],
                  'keypoint_scores': [0.9] * 17, 'bbox_score': 0.95, 'bbox_scale': [50.0, 75.0]})
    dup = dict(preds[2])
    dup['keypoint_scores'] = [0.99] * 17
    preds.append(dup)
    # In mmpose, samples reach process() in loader order; feed them per image in a shuffled order.
    order = rng.permutation(len(preds))
    preds = [preds[i] for i in order]

    tmp = tempfile.mkdtemp()
    try:
        metric = CocoMetric(ann_file=gt_file, score_mode='bbox_keypoint', keypoint_score_thr=0.2,
                            nms_mode='oks_nms', nms_thr=0.9, outfile_prefix=osp.join(tmp, 'results'))
        metric.dataset_meta = meta
        samples = []
        for p in preds:
            samples.append({'id': p['id'], 'img_id': p['img_id'],
                            'pred_instances': {'keypoints': np.array([p['keypoints']], dtype=np.float32),
                                               'keypoint_scores': np.array([p['keypoint_scores']], dtype=np.float32),
                                               'bbox_scores': np.array([p['bbox_score']], dtype=np.float32)},
                            'gt_instances': {'bbox_scales': np.array([p['bbox_scale']], dtype=np.float32)}})
        metric.process([], samples)
        stats = metric.compute_metrics(metric.results)
        with open(osp.join(tmp, 'results.keypoints.json')) as f:
            kept = json.load(f)
    finally:
        shutil.rmtree(tmp)
    return {'options': {'scoreMode': 'bbox_keypoint', 'keypointScoreThr': 0.2, 'nmsMode': 'oks_nms', 'nmsThr': 0.9,
                        'useArea': True},
            'predictions': preds, 'kept': kept, 'stats': {k: float(v) for k, v in stats.items()}}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261206)
    from mmengine.config import Config
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    import mmpose
    meta_cfg = Config.fromfile(osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets',
                                        'coco.py')).dataset_info
    meta = parse_pose_metainfo(dict(meta_cfg))
    global FLIP_INDICES, UPPER_IDS, LOWER_IDS
    FLIP_INDICES = [int(i) for i in meta['flip_indices']]
    UPPER_IDS = [int(i) for i in meta['upper_body_ids']]
    LOWER_IDS = [int(i) for i in meta['lower_body_ids']]

    pipe = pipeline_fixtures(rng)
    with open(osp.join(OUT, 'pipeline.json'), 'w') as f:
        json.dump(pipe, f, indent=1, sort_keys=True)

    gt = make_gt(rng)
    gt_file = osp.join(OUT, 'gt.json')
    with open(gt_file, 'w') as f:
        json.dump(gt, f, indent=1, sort_keys=True)
    det_file = osp.join(OUT, 'detections.json')
    with open(det_file, 'w') as f:
        json.dump(make_detections(rng, gt), f, indent=1, sort_keys=True)
    with open(osp.join(OUT, 'datasets.json'), 'w') as f:
        json.dump(dataset_fixtures(gt_file, det_file), f, indent=1, sort_keys=True)

    angles = np.concatenate([np.deg2rad(rng.uniform(-80, 80, 1500).astype(np.float32)),
                             rng.uniform(-200, 200, 500).astype(np.float32)])
    with open(osp.join(OUT, 'trig.json'), 'w') as f:
        json.dump({'x': f32list(angles), 'sin': f32list(np.sin(angles)), 'cos': f32list(np.cos(angles)),
                   'numpy': np.__version__}, f, sort_keys=True)

    metric_meta = dict(meta)
    metric_meta['CLASSES'] = gt['categories']
    with open(osp.join(OUT, 'metric.json'), 'w') as f:
        json.dump(metric_fixtures(rng, gt, gt_file, metric_meta), f, indent=1, sort_keys=True)


if __name__ == '__main__':
    main()
