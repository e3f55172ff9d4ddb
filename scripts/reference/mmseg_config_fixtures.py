"""Dumps MMSegmentation 1.2's resolved configs for the rows tsvision ships, as test fixtures.

For every configs/{fcn,pspnet,deeplabv3,deeplabv3plus,upernet,hrnet}/NAME.ts of ours, writes
mmseg's Config.fromfile('<mmseg>/.mim/configs/FOLDER/NAME.py').to_dict() to
test/fixtures/mmseg-configs/NAME.json (tuples as lists, keys sorted). test/tasks/mmseg_config.test.ts
compares our resolved configs with them through src/tasks/segmentation/mmseg_config.ts.

Run from the repository root with the reference environment:
    .cache/openmmlab/bin/python scripts/reference/mmseg_config_fixtures.py
"""
import glob
import json
import os
import os.path as osp
import sys

import mmseg
from mmengine.config import Config

FOLDERS = ['fcn', 'pspnet', 'deeplabv3', 'deeplabv3plus', 'upernet', 'hrnet']


def main():
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
    mmcfg = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')
    out = osp.join(root, 'test', 'fixtures', 'mmseg-configs')
    os.makedirs(out, exist_ok=True)
    names = []
    for folder in FOLDERS:
        for ts in sorted(glob.glob(osp.join(root, 'configs', folder, '*.ts'))):
            name = osp.basename(ts)[:-3]
            src = osp.join(mmcfg, folder, name + '.py')
            if not osp.exists(src):
                # our own configs (e.g. the synthetic shapes-seg one) have no mmseg counterpart
                continue
            d = Config.fromfile(src).to_dict()
            tmp = osp.join(out, name + '.json.tmp')
            with open(tmp, 'w') as f:
                json.dump(d, f, indent=1, sort_keys=True)
                f.write('\n')
            os.replace(tmp, osp.join(out, name + '.json'))
            names.append(f'{folder}/{name}')
    print(f'wrote {len(names)} configs to {out}', file=sys.stderr)


if __name__ == '__main__':
    main()
