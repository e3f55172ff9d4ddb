/**
 * HeatmapHead, KeypointMSELoss and the pose builder on hand values: shapes per deconv kernel, mmpose's
 * initialisation, the loss's masking and averaging, flipHeatmaps, and errors that name the config key.
 * (Parity with mmpose itself is test/models/mmpose_parity.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { KeypointMSELoss } from '../../src/models/losses/keypoint_mse';
import { HeatmapHead, buildPoseEstimator, flipHeatmaps, type TopdownPoseEstimatorConfig } from '../../src/models/pose_estimators';
import { close } from '../helpers/close';

test('HeatmapHead: deconv kernels 4 / 3 / 2 each double the size; mmpose init (N(0, 0.001²), BN 1/0, bias 0)', () => {
  torch.manualSeed(0);
  for (const k of [4, 3, 2]) {
    const head = new HeatmapHead({ inChannels: 8, outChannels: 5, deconvOutChannels: [64, 64], deconvKernelSizes: [k, k], convOutChannels: [16], convKernelSizes: [3] });
    const out = torch.tidy(() => head.forward([torch.randn([2, 8, 6, 5])]));
    assert.deepEqual(out.shape, [2, 5, 24, 20], `kernel ${k}`);
    out.dispose();
    const sd = head.stateDict();
    assert.deepEqual([...sd.keys()].filter((n) => n.endsWith('weight')), [
      'deconv_layers.0.weight', 'deconv_layers.1.weight', 'deconv_layers.3.weight', 'deconv_layers.4.weight',
      'conv_layers.0.weight', 'conv_layers.1.weight', 'final_layer.weight',
    ]);
    const std = sd.get('deconv_layers.3.weight')!.std().item();
    assert.ok(std > 0.0009 && std < 0.0011, `deconv std ${std}`);
    assert.equal(sd.get('deconv_layers.1.weight')!.sum().item(), 64);
    assert.equal(sd.get('final_layer.bias')!.abs().sum().item(), 0);
    head.dispose();
  }
  assert.throws(() => new HeatmapHead({ inChannels: 8, outChannels: 5, deconvOutChannels: [8], deconvKernelSizes: [5], key: 'model.head' }), /model\.head\.deconvKernelSizes\[0\]: unsupported kernel 5/);
  assert.throws(() => new HeatmapHead({ inChannels: 8, outChannels: 5, deconvOutChannels: [8, 8], deconvKernelSizes: [4], key: 'model.head' }), /model\.head\.deconvKernelSizes/);
});

test('KeypointMSELoss: mean over N·K·h·w of weighted squared errors (hand values)', () => {
  const pred = torch.tensor([1, 2, 3, 4, 0, 0, 0, 0], { dtype: 'float32' }).reshape([1, 2, 2, 2]);
  const target = torch.zeros([1, 2, 2, 2]);
  const w = torch.tensor([[0.5, 3]], { dtype: 'float32' });
  // squared errors 1, 4, 9, 16 (channel 0) and 0 (channel 1): unweighted mean 30/8
  close([new KeypointMSELoss().forward(pred, target, w).item()], [30 / 8], 1e-6, 'unweighted');
  close([new KeypointMSELoss({ useTargetWeight: true }).forward(pred, target, w).item()], [(30 * 0.5) / 8], 1e-6, 'weighted');
  close([new KeypointMSELoss({ useTargetWeight: true, lossWeight: 2 }).forward(pred, target, w).item()], [(30 * 0.5 * 2) / 8], 1e-6, 'lossWeight');
  // channel 0's target is all zeros: skipEmptyChannel masks it
  const t2 = torch.tensor([0, 0, 0, 0, 1, 0, 0, 0], { dtype: 'float32' }).reshape([1, 2, 2, 2]);
  close([new KeypointMSELoss({ skipEmptyChannel: true }).forward(pred, t2).item()], [1 / 8], 1e-6, 'skipEmptyChannel');
  assert.throws(() => new KeypointMSELoss({ useTargetWeight: true }).forward(pred, target, torch.ones([2])), /\[N, K\] = \[1, 2\]/);
  torch.dispose([pred, target, w, t2]);
});

test('flipHeatmaps: flip, swap channels by flipIndices, shift one column right (column 0 kept)', () => {
  const hm = torch.arange(12, { dtype: 'float32' }).reshape([1, 2, 1, 6]);
  const f = flipHeatmaps(hm, [1, 0], true);
  assert.deepEqual(Array.from(f.toTypedArray() as Float32Array), [11, 11, 10, 9, 8, 7, 5, 5, 4, 3, 2, 1]);
  const g = flipHeatmaps(hm, [1, 0], false);
  assert.deepEqual(Array.from(g.toTypedArray() as Float32Array), [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  assert.throws(() => flipHeatmaps(hm, [0], true), /flipIndices has 1 entries for 2 heatmaps/);
  torch.dispose([hm, f, g]);
});

test('buildPoseEstimator: errors name the config key', () => {
  const base: TopdownPoseEstimatorConfig = {
    type: 'TopdownPoseEstimator',
    backbone: { type: 'ResNet', depth: 18 },
    head: { type: 'HeatmapHead', inChannels: 512, outChannels: 17, decoder: { type: 'MSRAHeatmap', inputSize: [192, 256], heatmapSize: [48, 64], sigma: 2 } },
  };
  assert.throws(() => buildPoseEstimator({ ...base, type: 'Bottomup' as never }), /model\.type/);
  assert.throws(() => buildPoseEstimator({ ...base, backbone: { type: 'VGG' } as never }), /model\.backbone\.type: unknown backbone 'VGG'/);
  assert.throws(() => buildPoseEstimator({ ...base, head: { ...base.head, outChannels: 0 } }), /model\.head\.outChannels/);
  assert.throws(() => buildPoseEstimator({ ...base, head: { ...base.head, decoder: { ...base.head.decoder, sigma: -1 } } }), /model\.head\.decoder\.sigma/);
  assert.throws(() => buildPoseEstimator({ ...base, backbone: { type: 'HRNet', flavor: 'mmseg' } as never }), /model\.backbone\.flavor/);
  const m = buildPoseEstimator({ ...base, testCfg: { flipTest: true } });
  const x = torch.zeros([1, 3, 64, 32]);
  assert.throws(() => m.predict({ images: x, metas: [{ inputCenter: [0, 0], inputScale: [1, 1] }] }), /flipTest needs metas\[0\]\.flipIndices/);
  assert.throws(() => m.loss({ images: x, metas: [] }), /no targets/);
  x.dispose();
  m.dispose();
});

test('TopdownPoseEstimator.predict: outputHeatmaps returns each crop\'s heatmaps; keypoints map through centre / scale; nothing else stays alive', () => {
  torch.manualSeed(1);
  const m = buildPoseEstimator({
    type: 'TopdownPoseEstimator',
    backbone: { type: 'ResNet', depth: 18, baseChannels: 8, stemChannels: 8 },
    head: { type: 'HeatmapHead', inChannels: 64, outChannels: 3, deconvOutChannels: [8, 8, 8], deconvKernelSizes: [4, 4, 4], decoder: { type: 'MSRAHeatmap', inputSize: [32, 64], heatmapSize: [8, 16], sigma: 2 } },
    testCfg: { outputHeatmaps: true },
  }).eval();
  const x = torch.randn([2, 3, 64, 32]);
  const live = torch.liveTensors();
  const metas = [{ inputCenter: [0, 0] as [number, number], inputScale: [32, 64] as [number, number] }, { inputCenter: [100, 50] as [number, number], inputScale: [64, 128] as [number, number] }];
  const preds = m.predict({ images: x, metas });
  assert.equal(torch.liveTensors(), live + 2, 'only the two returned heatmaps');
  assert.deepEqual(preds[0].heatmaps!.shape, [3, 16, 8]);
  // image keypoints = input-space keypoints / inputSize · inputScale + inputCenter − inputScale / 2:
  // crop 0 (scale = input size, centre 0): kp − [16, 32]; crop 1: kp · 2 + [100 − 32, 50 − 64]
  const decode = (i: number) => m.codec.decode({ data: Float32Array.from(preds[i].heatmaps!.toTypedArray() as Float32Array), K: 3, H: 16, W: 8 }).keypoints;
  const d0 = decode(0), d1 = decode(1);
  for (let k = 0; k < 3; k++) {
    close([preds[0].keypoints[2 * k], preds[0].keypoints[2 * k + 1]], [d0[2 * k] - 16, d0[2 * k + 1] - 32], 1e-5, `crop 0 kp ${k}`);
    close([preds[1].keypoints[2 * k], preds[1].keypoints[2 * k + 1]], [d1[2 * k] * 2 + 68, d1[2 * k + 1] * 2 - 14], 1e-5, `crop 1 kp ${k}`);
  }
  torch.dispose([x, ...preds.map((p) => p.heatmaps!)]);
  m.dispose();
});
