/**
 * Config parity of the seed's ten top-down COCO rows: each configs/td-hm/NAME equals MMPose 1.3's
 * resolved config of the same name (Config.fromfile(...).to_dict(), dumped by
 * scripts/reference/mmpose_config_fixtures.py into test/fixtures/mmpose-configs/) on the
 * hyper-parameters a row is defined by: model (backbone, ImageNet weights, head, codec, data
 * preprocessor, flip test), schedule, batch sizes, pipelines, the val person-detection file, hooks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, resolveConfig } from '../../src/config';
import type { TransformSpec } from '../../src/data/transforms';
import type { PoseConfig } from '../../src/tasks/pose/task';
import * as torch from '../../src/torch';
import { poseTask } from '../../src/tasks/pose/task';
import { snakeKeys } from '../../src/tasks/segmentation/mmseg_config';
import { repoRoot } from '../helpers/paths';

type Dict = Record<string, unknown>;
const dir = path.join(repoRoot, 'test', 'fixtures', 'mmpose-configs');
const dumps = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
const rows = fs.readdirSync(path.join(repoRoot, 'configs', 'td-hm')).filter((f) => /_coco-\d+x\d+\.ts$/.test(f)).map((f) => f.replace(/\.ts$/, '')).sort();

/** A pipeline as mmpose writes it (LoadImage and PackPoseInputs around it). */
function mmposePipeline(p: readonly TransformSpec[]): Dict[] {
  const body = p.map((s): Dict => {
    switch (s.type) {
      case 'TopdownRandomFlip': return { type: 'RandomFlip', direction: 'horizontal' };
      case 'TopdownAffine': return { type: 'TopdownAffine', input_size: s.inputSize };
      case 'GenerateTarget': return { type: 'GenerateTarget', encoder: snakeKeys(s.encoder) };
      default: return snakeKeys(s) as Dict;
    }
  });
  return [{ type: 'LoadImage' }, ...body, { type: 'PackPoseInputs' }];
}

/** Our config in mmpose's form, on the keys compared. */
function toMMPose(c: PoseConfig): Dict {
  const m = c.model;
  const b = m.backbone;
  const backbone = b.type === 'ResNet'
    ? { type: 'ResNet', depth: b.depth, init_cfg: b.initCfg }
    : { type: 'HRNet', in_channels: b.inChannels, extra: snakeKeys(b.extra), init_cfg: b.initCfg };
  const head: Dict = { type: m.head.type, in_channels: m.head.inChannels, out_channels: m.head.outChannels, loss: snakeKeys(m.head.loss), decoder: snakeKeys(m.head.decoder) };
  if (m.head.deconvOutChannels !== undefined) head.deconv_out_channels = m.head.deconvOutChannels;
  const train = c.train.byEpoch ? { max_epochs: c.train.maxEpochs, val_interval: c.train.valInterval } : {};
  const v = c.data.val;
  return {
    model: {
      type: m.type,
      data_preprocessor: { type: 'PoseDataPreprocessor', mean: m.dataPreprocessor.mean, std: m.dataPreprocessor.std, bgr_to_rgb: m.dataPreprocessor.order === 'rgb' },
      backbone: snakeKeys(backbone),
      head,
      test_cfg: snakeKeys(m.testCfg),
    },
    train_cfg: train,
    optim_wrapper: { optimizer: snakeKeys(c.optimWrapper.optimizer) },
    param_scheduler: snakeKeys(c.paramScheduler),
    auto_scale_lr: { base_batch_size: c.autoScaleLr?.baseBatchSize },
    train_dataloader: {
      batch_size: c.data.batchSize,
      dataset: { data_root: 'data/coco/', ann_file: path.relative('data/coco', c.data.train.annFile), data_prefix: { img: `${path.relative('data/coco', c.data.train.imgDir)}/` }, pipeline: mmposePipeline(c.data.trainPipeline) },
    },
    val_dataloader: {
      batch_size: c.data.valBatchSize,
      dataset: { data_root: 'data/coco/', ann_file: path.relative('data/coco', v.annFile), data_prefix: { img: `${path.relative('data/coco', v.imgDir)}/` }, bbox_file: v.bboxFile, pipeline: mmposePipeline(c.data.testPipeline) },
    },
    default_hooks: { checkpoint: { interval: c.hooks.checkpoint.interval }, logger: { interval: c.hooks.logger.interval } },
  };
}

/** `theirs` on the keys `ours` has (recursively; arrays compared whole, element by element on objects). */
function pick(ours: unknown, theirs: unknown): unknown {
  if (Array.isArray(ours) && Array.isArray(theirs)) return theirs.map((t, i) => (i < ours.length ? pick(ours[i], t) : t));
  if (ours && typeof ours === 'object' && !Array.isArray(ours) && theirs && typeof theirs === 'object' && !Array.isArray(theirs)) {
    return Object.fromEntries(Object.keys(ours).map((k) => [k, pick((ours as Dict)[k], (theirs as Dict)[k])]));
  }
  return theirs;
}

const load = (name: string) => JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as Dict;

test('the fixtures cover the ten COCO top-down rows we ship', () => {
  assert.equal(rows.length, 10, rows.join(', '));
  assert.deepEqual(dumps, rows);
});

for (const row of rows) {
  test(`td-hm/${row} equals MMPose's resolved config`, () => {
    const { config } = resolveConfig(`td-hm/${row}`);
    const ours = JSON.parse(JSON.stringify(toMMPose(config as PoseConfig)));
    assert.deepEqual(ours, pick(ours, load(row)));
  });
  test(`td-hm/${row} builds MMPose's model: parameter count and state-dict keys`, () => {
    const built = load(row).built as { num_parameters: number; state_dict_keys: string[] };
    const model = poseTask.buildModel(resolveConfig(`td-hm/${row}`).config as PoseConfig);
    try {
      let n = 0;
      for (const [, p] of model.namedParameters()) n += p.numel();
      assert.equal(n, built.num_parameters);
      assert.deepEqual([...model.stateDict().keys()].sort(), built.state_dict_keys);
    } finally {
      torch.dispose([...model.stateDict().values()]);
    }
  });
}

test('a departure is caught: lr, sigma and the pretrained weights', () => {
  const cfg = structuredClone(loadConfig('td-hm/td-hm_hrnet-w32_8xb64-210e_coco-384x288').config as PoseConfig);
  cfg.optimWrapper.optimizer.lr = 1e-3;
  cfg.model.head.decoder = { ...cfg.model.head.decoder, sigma: 2 } as typeof cfg.model.head.decoder;
  cfg.model.backbone.initCfg = null;
  const ours = JSON.parse(JSON.stringify(toMMPose(cfg)));
  assert.notDeepEqual(ours, pick(ours, load('td-hm_hrnet-w32_8xb64-210e_coco-384x288')));
  const o = ours as { optim_wrapper: { optimizer: { lr: number } }; model: { head: { decoder: { sigma: number } } } };
  const t = load('td-hm_hrnet-w32_8xb64-210e_coco-384x288') as typeof o;
  assert.deepEqual([o.optim_wrapper.optimizer.lr, t.optim_wrapper.optimizer.lr, o.model.head.decoder.sigma, t.model.head.decoder.sigma], [1e-3, 5e-4, 2, 3]);
});
