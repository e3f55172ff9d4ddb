"""Dumps the resolved MMPose 1.3 configs of the seed's top-down rows (Config.fromfile(...).to_dict())
into test/fixtures/mmpose-configs/NAME.json, for test/tasks/mmpose_config.test.ts.
Run with the reference environment: .cache/openmmlab/bin/python scripts/reference/mmpose_config_fixtures.py
"""
import json
import os
import sys

import mmpose
from mmengine.config import Config

ROWS = [
    'td-hm_res50_8xb64-210e_coco-256x192', 'td-hm_res50_8xb64-210e_coco-384x288',
    'td-hm_res101_8xb64-210e_coco-256x192', 'td-hm_res101_8xb32-210e_coco-384x288',
    'td-hm_res152_8xb32-210e_coco-256x192', 'td-hm_res152_8xb32-210e_coco-384x288',
    'td-hm_hrnet-w32_8xb64-210e_coco-256x192', 'td-hm_hrnet-w32_8xb64-210e_coco-384x288',
    'td-hm_hrnet-w48_8xb32-210e_coco-256x192', 'td-hm_hrnet-w48_8xb32-210e_coco-384x288',
]
src = os.path.join(os.path.dirname(mmpose.__file__), '.mim', 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'coco')
out = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'mmpose-configs')
os.makedirs(out, exist_ok=True)
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules

register_all_modules()
for name in ROWS:
    cfg = Config.fromfile(os.path.join(src, name + '.py'))
    model = MODELS.build(cfg.model)  # no init_weights: nothing is downloaded
    cfg = cfg.to_dict()
    keep = {k: cfg[k] for k in ('model', 'train_cfg', 'optim_wrapper', 'param_scheduler', 'auto_scale_lr', 'train_dataloader', 'val_dataloader', 'val_evaluator', 'default_hooks', 'codec') if k in cfg}
    # the built model's size: parameters and state-dict keys (names sorted), as the checkpoints hold them
    sd = model.state_dict()
    keep['built'] = {'num_parameters': sum(p.numel() for p in model.parameters()), 'state_dict_keys': sorted(sd.keys())}
    with open(os.path.join(out, name + '.json'), 'w') as f:
        json.dump(keep, f, indent=1, sort_keys=True, default=str)
        f.write('\n')
    print(name, file=sys.stderr)
