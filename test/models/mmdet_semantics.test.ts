/**
 * The MMDetection/MMCV behaviours the detectors reproduce, on hand-checkable cases:
 * batched NMS (offset trick and per-class split, score order), the deterministic samplers,
 * the coder's center arithmetic, the two RPN checkpoint layouts, ResNet/FPN initialisation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { batchedNms } from '../../src/models/layers/batched_nms';
import { RandomSampler } from '../../src/models/task_modules/sampler';
import { DeltaXYWHBBoxCoder } from '../../src/models/task_modules/bbox_coder';
import { buildTwoStageDetector, type TwoStageModelConfig } from '../../src/models/detectors/build';
import { ResNet } from '../../src/models/backbones/resnet';
import { FPN } from '../../src/models/necks/fpn';
import { rpnR50Fpn } from '../../configs/_base_/models/faster-rcnn_r50_fpn';

test('batchedNms: classes never suppress each other, result by decreasing score, same with the per-class split', () => {
  const boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]]);
  const scores = torch.tensor([0.9, 0.8, 0.7, 0.95]);
  const idxs = torch.tensor([0, 0, 1, 1], { dtype: 'int64' });
  // B overlaps A by IoU 0.81 in class 0: dropped; C is class 1: kept; D first by score
  assert.deepEqual(batchedNms(boxes, scores, idxs, { iouThreshold: 0.5 }).toArray(), [3, 0, 2]);
  assert.deepEqual(batchedNms(boxes, scores, idxs, { iouThreshold: 0.5, splitThr: 2 }).toArray(), [3, 0, 2]);
  assert.deepEqual(batchedNms(boxes, scores, idxs, { iouThreshold: 0.5, classAgnostic: true }).toArray(), [3, 0]);
  assert.deepEqual(batchedNms(boxes, scores, idxs, { iouThreshold: 0.85 }).toArray(), [3, 0, 1, 2]);
  assert.equal(batchedNms(torch.zeros([0, 4]), torch.zeros([0]), torch.zeros([0], { dtype: 'int64' }), { iouThreshold: 0.5 }).size(0), 0);
  torch.dispose([boxes, scores, idxs]);
});

test('RandomSampler deterministic draws: first num, or strided gallery[floor(i·K/num)]; indices sorted', () => {
  const assign = {
    numGts: 1,
    gtInds: torch.tensor([0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], { dtype: 'int64' }),
    maxOverlaps: torch.zeros([12]),
    labels: torch.tensor([-1, 0, -1, -1, 0, -1, -1, -1, -1, -1, -1, -1], { dtype: 'int64' }),
  };
  const priors = torch.zeros([12, 4]);
  const gt = torch.tensor([[0, 0, 1, 1]]);
  const gl = torch.tensor([0], { dtype: 'int64' });
  const first = new RandomSampler({ num: 5, posFraction: 0.2, addGtAsProposals: false, deterministic: 'first' }).sample(assign, priors, gt, gl);
  assert.deepEqual(first.posInds.toArray(), [1]);
  assert.deepEqual(first.negInds.toArray(), [0, 2, 3, 5]);
  // 10 negatives [0,2,3,5,6,7,8,9,10,11], 4 wanted: positions 0, 2, 5, 7
  const strided = new RandomSampler({ num: 5, posFraction: 0.2, addGtAsProposals: false, deterministic: 'strided' }).sample(assign, priors, gt, gl);
  assert.deepEqual(strided.negInds.toArray(), [0, 3, 7, 9]);
  const random = new RandomSampler({ num: 5, posFraction: 0.2, addGtAsProposals: false }).sample(assign, priors, gt, gl);
  const neg = random.negInds.toArray();
  assert.deepEqual(neg, [...neg].sort((a, b) => a - b), 'sampled indices come sorted (as pos_inds.unique())');
  torch.dispose([assign.gtInds, assign.maxOverlaps, assign.labels, priors, gt, gl]);
});

test('DeltaXYWHBBoxCoder: MMDetection centers ((x1 + x2) · 0.5) unless torchvision arithmetic', () => {
  const f = Math.fround;
  const [x1, y1, x2, y2] = [0.1, 0.3, 0.7, 1.9].map(f);
  const box = torch.tensor([[x1, y1, x2, y2]]);
  const zero = torch.zeros([1, 4]);
  const mm = new DeltaXYWHBBoxCoder().decode(box, zero).toArray();
  const cx = f(f(x1 + x2) * 0.5), w = f(x2 - x1);
  assert.equal(mm[0], f(cx - f(w * 0.5)));
  assert.equal(mm[2], f(cx + f(w * 0.5)));
  const tv = new DeltaXYWHBBoxCoder({ clampUpperOnly: true }).decode(box, zero).toArray();
  const cxt = f(x1 + f(w * 0.5));
  assert.equal(tv[0], f(cxt - f(w * 0.5)));
  assert.deepEqual(new DeltaXYWHBBoxCoder().encode(box, box).toArray(), [0, 0, 0, 0]);
  torch.dispose([box, zero]);
});

const tinyRpn = (): TwoStageModelConfig => ({
  ...rpnR50Fpn,
  backbone: { ...rpnR50Fpn.backbone, depth: 18, baseChannels: 4 },
  neck: { inChannels: [4, 8, 16, 32], outChannels: 8, numOuts: 5 },
  rpnHead: { ...rpnR50Fpn.rpnHead!, inChannels: 8, featChannels: 8 },
});

test('RPN detector loads both checkpoint layouts strictly: rpn_head.* (MMDetection 2.x) and bbox_head.* (3.x)', () => {
  const src = buildTwoStageDetector(tinyRpn());
  const sd = src.stateDict();
  const v3 = new Map([...sd].map(([k, t]) => [k.replace(/^rpn_head\./, 'bbox_head.'), t]));
  assert.ok([...v3.keys()].some((k) => k.startsWith('bbox_head.rpn_cls.')));
  for (const layout of [sd, v3]) {
    const dst = buildTwoStageDetector(tinyRpn());
    const res = dst.loadStateDict(layout, { strict: true });
    assert.deepEqual([res.missingKeys, res.unexpectedKeys], [[], []]);
    const a = src.rpnHead!.rpnCls.getParameter('weight')!, b = dst.rpnHead!.rpnCls.getParameter('weight')!;
    assert.equal(a.sub(b).abs().max().item(), 0, 'rpn_cls weights loaded');
    dst.dispose();
  }
  // a key that belongs nowhere is still refused
  const extra = new Map([...v3, ['bbox_head.nothing', torch.zeros([1])]]);
  assert.throws(() => buildTwoStageDetector(tinyRpn()).loadStateDict(extra, { strict: true }), /bbox_head\.nothing|rpn_head\.nothing/);
  src.dispose();
});

test('ResNet and FPN initialisation as MMDetection: Kaiming fan_out convs, zero-init residual BN, Xavier FPN', () => {
  const r = new ResNet({ depth: 50, baseChannels: 16 });
  const layer1 = r.layers[0] as unknown as { modules(): Iterable<unknown> };
  const block = [...layer1.modules()].find((m) => (m as { bn3?: unknown }).bn3) as { bn3: { getParameter(n: string): torch.Tensor }; bn1: { getParameter(n: string): torch.Tensor } };
  assert.equal(block.bn3.getParameter('weight').abs().sum().item(), 0);
  assert.equal(block.bn1.getParameter('weight').min().item(), 1);
  const w = r.conv1!.getParameter('weight')!; // [16, 3, 7, 7]: std √(2 / (16·49))
  const std = w.std().item() as number;
  assert.ok(Math.abs(std / Math.sqrt(2 / (16 * 49)) - 1) < 0.1, `conv1 std ${std}`);
  const fpn = new FPN({ inChannels: [64, 128, 256, 512], outChannels: 32, numOuts: 5 });
  const lw = fpn.lateralConvs.at(3).conv.getParameter('weight')!; // [32, 512, 1, 1]: U(±√(6 / 544))
  const bound = Math.sqrt(6 / (512 + 32));
  assert.ok((lw.abs().max().item() as number) <= bound && (lw.abs().max().item() as number) > 0.9 * bound);
  assert.equal(fpn.lateralConvs.at(3).conv.getParameter('bias')!.abs().sum().item(), 0);
  r.dispose();
  fpn.dispose();
});
