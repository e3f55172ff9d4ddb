/**
 * inferTopdown against MMPose 1.3's inference_topdown (scripts/reference/mmpose_fixtures.py →
 * test/fixtures/mmpose/topdown.{png,json}): the slim SimpleBaseline of sb_tiny.pth (strict load of
 * mmpose's state dict) on a 160x120 PNG, five xyxy boxes (fractional, crossing the border, thin,
 * wide) and no box (the whole image), through GetBBoxCenterScale, TopdownAffine at 96x128,
 * ImageNet normalization in RGB and the shifted flip test. Keypoints ≤ 1e-3 px, scores ≤ 1e-4
 * relative (the figures are printed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { disposePoseEstimator, inferTopdown, loadPoseEstimator } from '../../src/apis/pose';
import type { PoseConfig } from '../../src/tasks/pose/task';
import { topdownTestPipeline } from '../../src/tasks/pose/data';
import { msraCodec, poseDataPreprocessor } from '../../configs/_base_/pose';
import { config as peopleConfig } from '../../configs/td-hm/td-hm_res18_people-192x160';
import { repoRoot } from '../helpers/paths';

const DIR = process.env.TSVISION_MMPOSE_FIXTURES ?? path.join(repoRoot, 'test/fixtures/mmpose');

interface Fixture {
  image: string;
  input_size: [number, number];
  calls: Array<{ bboxes: number[][] | null; results: Array<{ keypoints: number[][]; keypoint_scores: number[] }> }>;
}

/** The fixture's model (mmpose_fixtures.py model_cfg('sb_tiny')) as a pose config. */
function tinyConfig(inputSize: [number, number]): PoseConfig {
  const codec = msraCodec(inputSize);
  return {
    ...peopleConfig,
    model: {
      type: 'TopdownPoseEstimator',
      dataPreprocessor: poseDataPreprocessor,
      backbone: { type: 'ResNet', depth: 18, baseChannels: 8, stemChannels: 8, outIndices: [3], initCfg: null },
      head: {
        type: 'HeatmapHead', inChannels: 64, outChannels: 17, deconvOutChannels: [16, 16, 16], deconvKernelSizes: [4, 4, 4],
        loss: { type: 'KeypointMSELoss', useTargetWeight: true }, decoder: codec,
      },
      testCfg: { flipTest: true, flipMode: 'heatmap', shiftHeatmap: true },
    },
    // batches of 2: five boxes in three batches (mmpose predicts them in one)
    data: { ...peopleConfig.data, testPipeline: topdownTestPipeline({ inputSize }), valBatchSize: 2, generate: null },
  };
}

test('inferTopdown equals MMPose inference_topdown (sb_tiny.pth, xyxy boxes and the whole image)', async () => {
  const fx = JSON.parse(fs.readFileSync(path.join(DIR, 'topdown.json'), 'utf8')) as Fixture;
  const p = loadPoseEstimator(tinyConfig(fx.input_size), path.join(DIR, 'sb_tiny.pth'));
  try {
    for (const call of fx.calls) {
      const what = call.bboxes ? `${call.bboxes.length} boxes` : 'no boxes';
      const got = await inferTopdown(p, path.join(DIR, fx.image), call.bboxes ?? undefined);
      assert.equal(got.length, call.results.length, what);
      let maxPx = 0, maxScore = 0;
      got.forEach((r, i) => {
        const want = call.results[i];
        want.keypoints.forEach(([x, y], k) => {
          maxPx = Math.max(maxPx, Math.abs(r.keypoints[3 * k] - x), Math.abs(r.keypoints[3 * k + 1] - y));
          maxScore = Math.max(maxScore, Math.abs(r.keypoints[3 * k + 2] - want.keypoint_scores[k]) / Math.max(1, Math.abs(want.keypoint_scores[k])));
        });
      });
      console.log(`inference_topdown, ${what}: max |Δ keypoint| ${maxPx.toExponential(2)} px, max relative |Δ score| ${maxScore.toExponential(2)}`);
      assert.ok(maxPx <= 1e-3, `${what}: keypoints differ by ${maxPx} px`);
      assert.ok(maxScore <= 1e-4, `${what}: scores differ by ${maxScore}`);
    }
  } finally {
    disposePoseEstimator(p);
  }
});
