/**
 * Config parity: every FCN / PSPNet / DeepLabV3 / DeepLabV3+ / UPerNet / FCN-HRNet row we ship equals
 * MMSegmentation 1.2's resolved config of the same name (Config.fromfile(...).to_dict(), dumped by
 * scripts/reference/mmseg_config_fixtures.py into test/fixtures/mmseg-configs/) through the one
 * mapping in src/tasks/segmentation/mmseg_config.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { mmsegConfigDiff, pickMMSegSubset, toMMSegConfig } from '../../src/tasks/segmentation/mmseg_config';
import type { SegmentationConfig } from '../../src/tasks/segmentation/task';
import { repoRoot } from '../helpers/paths';

const dir = path.join(repoRoot, 'test', 'fixtures', 'mmseg-configs');
const dumps = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const FOLDERS = ['fcn', 'pspnet', 'deeplabv3', 'deeplabv3plus', 'upernet', 'hrnet'];
const rows = FOLDERS.flatMap((folder) => fs.readdirSync(path.join(repoRoot, 'configs', folder))
  .filter((f) => /_(cityscapes-512x1024|ade20k-512x512)\.ts$/.test(f)).map((f) => `${folder}/${f.replace(/\.ts$/, '')}`));

const load = (name: string) => JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));

test('the fixtures cover every Cityscapes / ADE20K segmentation row we ship', () => {
  assert.deepEqual(dumps.map((f) => f.replace(/\.json$/, '')), rows.map((r) => r.split('/')[1]).sort());
  assert.equal(rows.length, 50);
});

for (const row of rows) {
  test(`${row} equals MMSegmentation's resolved config`, () => {
    const ours = toMMSegConfig(loadConfig(row).config as SegmentationConfig);
    const theirs = pickMMSegSubset(load(row.split('/')[1]));
    assert.deepEqual(mmsegConfigDiff(ours, theirs), []);
  });
}

test('a departure is caught: lr, crop size, cat_max_ratio and the pretrained weights show up in the diff', () => {
  const cfg = loadConfig('pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024').config as SegmentationConfig;
  const theirs = pickMMSegSubset(load('pspnet_r50-d8_4xb2-40k_cityscapes-512x1024'));
  const bad: SegmentationConfig = {
    ...cfg,
    optimWrapper: { ...cfg.optimWrapper, optimizer: { type: 'SGD', lr: 0.02, momentum: 0.9, weightDecay: 0.0005 } },
    model: { ...cfg.model, backbone: { ...cfg.model.backbone, initCfg: null } },
    data: { ...cfg.data, trainPipeline: cfg.data.trainPipeline.map((s) => (s.type === 'RandomCrop' ? { ...s, cropSize: [512, 512] as [number, number], catMaxRatio: 1 } : s)) },
  };
  const diff = mmsegConfigDiff(toMMSegConfig(bad), theirs);
  assert.deepEqual(diff, [
    'model.pretrained: null vs mmseg "open-mmlab://resnet50_v1c"',
    'optim_wrapper.optimizer.lr: 0.02 vs mmseg 0.01',
    'train_dataloader.dataset.pipeline[1].cat_max_ratio: 1 vs mmseg 0.75',
    'train_dataloader.dataset.pipeline[1].crop_size[1]: 512 vs mmseg 1024',
  ]);
});
