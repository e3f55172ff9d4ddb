/**
 * RPN, Faster R-CNN (pytorch and caffe style) and Fast R-CNN against MMDetection 3.3 itself, on
 * checkpoints MMDetection wrote (random weights from its own init_weights, see
 * scripts/reference/mmdet_fixtures.py): strict loading with no key map (both RPN layouts), then
 *  - inference on both fixture images through our own test path (config test pipeline, the
 *    model's data preprocessor, predict): ≥ 99% of MMDetection's detections / proposals
 *    reproduced (same COCO category id, box IoU ≥ 0.99, |Δscore| ≤ 1e-3);
 *  - the loss terms of one training step on MMDetection's training batch, with the fixture's
 *    deterministic sampler on both sides, equal to 1e-4 relative.
 * Tiny models are committed (test/fixtures/mmdet); the full-width ones run when
 * .cache/mmdet-fixtures exists (`scripts/reference/make-mmdet-fixtures.sh --full`), else skip.
 * TSVISION_MMDET_FIXTURES / TSVISION_MMDET_FIXTURES_FULL point at other fixture folders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { categoriesOf, loadDetector, prepareImage } from '../../src/apis/detection';
import { toDetBatch } from '../../src/tasks/detection/data';
import type { DetectionConfig } from '../../src/tasks/detection/task';
import type { TwoStageDetector } from '../../src/models/detectors/two_stage';
import { config as rpnCfg } from '../../configs/rpn/rpn_r50_fpn_1x_coco';
import { config as fasterCfg } from '../../configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco';
import { config as fasterCaffeCfg } from '../../configs/faster_rcnn/faster-rcnn_r50-caffe_fpn_1x_coco';
import { config as fastCfg } from '../../configs/fast_rcnn/fast-rcnn_r50_fpn_1x_coco';
import { config as fastCaffeCfg } from '../../configs/fast_rcnn/fast-rcnn_r50-caffe_fpn_1x_coco';
import { repoRoot } from '../helpers/paths';
import { assertLossesEqual, atFixtureWidths, countMatches, fixtureBatchLosses, pipelineLosses, readJson, tensorOf, withStridedSampler, type Manifest, type RefImage, type RefLoss } from '../helpers/mmdet';

const CONFIGS: Record<string, DetectionConfig> = {
  'rpn_r50_fpn_1x_coco': rpnCfg,
  'faster-rcnn_r50_fpn_1x_coco': fasterCfg,
  'faster-rcnn_r50-caffe_fpn_1x_coco': fasterCaffeCfg,
  'fast-rcnn_r50_fpn_1x_coco': fastCfg,
  'fast-rcnn_r50-caffe_fpn_1x_coco': fastCaffeCfg,
};
const SETS = [
  { kind: 'tiny', dir: process.env.TSVISION_MMDET_FIXTURES ?? path.join(repoRoot, 'test/fixtures/mmdet') },
  { kind: 'full', dir: process.env.TSVISION_MMDET_FIXTURES_FULL ?? path.join(repoRoot, '.cache/mmdet-fixtures') },
];
const MIN_MATCH = 0.99;

/** Our config of a fixture model, at the fixture's widths. */
function configOf(name: string, man: Manifest): DetectionConfig {
  const base = CONFIGS[name];
  assert.ok(base, `no tsvision config for fixture model ${name}`);
  return { ...base, model: atFixtureWidths(base.model, man) };
}

/** Strict load of one checkpoint layout, then the detections of one image. */
async function inferenceCase(dir: string, man: Manifest, name: string, ckpt: string, imgName: string): Promise<void> {
  const cfg = configOf(name, man);
  const r = readJson<{ images: Record<string, RefImage> }>(path.join(dir, 'inference', `${name}.json`)).images[imgName];
  const d = loadDetector(cfg, path.join(dir, ckpt)); // strict: every key used, none missing
  const isRpn = cfg.model.type === 'RPN';
  const catIds = categoriesOf(cfg).ids;
  try {
    const batch = await prepareImage(cfg, path.join(dir, r.image));
    const det = torch.tidy(() => {
      const input = toDetBatch(batch);
      // Fast R-CNN: the proposals MMDetection's RoI head received (scaled and clipped by its pipeline)
      if (r.roi_head_proposals) input.proposals = [tensorOf(r.roi_head_proposals.bboxes)];
      return (d.model as TwoStageDetector).predict(input)[0];
    });
    const ours = {
      boxes: det.boxes.toTypedArray() as Float32Array,
      scores: det.scores.toTypedArray() as Float32Array,
      cats: det.labels.toArray().map((l) => (isRpn ? 1 : catIds[l])),
    };
    torch.dispose(det);
    // MMDetection labels proposals 0 (category 1)
    const n = countMatches(ours, isRpn ? { ...r, category_ids: r.scores.map(() => 1) } : r);
    const what = `${name} (${path.basename(ckpt)}) on ${imgName}`;
    console.log(`# ${what}: ${n} of ${r.scores.length} reproduced (ours ${ours.scores.length})`);
    assert.ok(n >= Math.ceil(MIN_MATCH * r.scores.length), `${what}: ${n} of ${r.scores.length} detections reproduced`);
  } finally {
    d.model.dispose?.();
  }
}

/** One training step's losses on MMDetection's batch, deterministic sampler on both sides. */
async function lossCase(dir: string, man: Manifest, name: string): Promise<void> {
  const base = configOf(name, man);
  const ref = readJson<RefLoss>(path.join(dir, 'losses', `${name}.json`));
  assertLossesEqual(name, ref, await fixtureBatchLosses(dir, man, name, { ...base, model: withStridedSampler(base.model) }, ref));
}

/** The same step through tsvision's training data path (see pipelineLosses). */
async function pipelineLossCase(dir: string, man: Manifest, name: string): Promise<void> {
  const ref = readJson<RefLoss>(path.join(dir, 'losses', `${name}.json`));
  assertLossesEqual(`${name} (training pipeline)`, ref, await pipelineLosses(dir, man, name, configOf(name, man), ref));
}

for (const set of SETS) {
  const manifestFile = path.join(set.dir, 'manifest.json');
  const skip = fs.existsSync(manifestFile) ? false
    : `no ${set.kind} MMDetection fixtures at ${path.relative(repoRoot, set.dir)} (make them: scripts/reference/make-mmdet-fixtures.sh${set.kind === 'full' ? ' --full' : ''})`;
  const man = skip ? null : readJson<Manifest>(manifestFile);
  for (const name of Object.keys(CONFIGS)) {
    const entry = man?.models[name];
    const layouts = entry ? [entry.checkpoint, ...(entry.mmdet2 ? [entry.mmdet2] : [])] : ['(checkpoint)'];
    const images = man ? Object.entries(readJson<{ images: Record<string, RefImage> }>(path.join(set.dir, 'inference', `${name}.json`)).images) : [];
    for (const ckpt of layouts) {
      for (const [imgName, r] of images.length ? images : [['(images)', null] as const]) {
        // img_480x640 goes through the test Resize (to 1067 x 800): the fused kernel reproduces cv2's INTER_LINEAR
        // bytes (test/data/image-kernels.test.ts), so it is held to the same standard as the unscaled image.
        test(`mmdet parity (${set.kind}): ${name} (${path.basename(ckpt)}) loads strictly, detections on ${imgName}`, { skip }, async () => {
          await inferenceCase(set.dir, man!, name, ckpt, imgName);
        });
      }
    }
    test(`mmdet parity (${set.kind}): ${name} one training step's losses equal MMDetection's`, { skip }, async () => {
      await lossCase(set.dir, man!, name);
    });
    if (set.kind === 'tiny') {
      test(`mmdet parity (${set.kind}): ${name} one training step through the training data pipeline`, { skip }, async () => {
        await pipelineLossCase(set.dir, man!, name);
      });
    }
  }
}
