/**
 * Detection ops against torchvision.ops on random inputs: nms and batchedNms
 * (identical indices, with tied scores and IoUs exactly at the threshold), roiAlign
 * (within 1e-5; aligned, sampling ratio 0 and 2, several spatial scales, rois partly
 * outside) and its gradient, roiPool and its gradient, boxIou/boxArea.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';
import { assertCloseArrays, prng } from './_util';

const ops = torch.ops;

/** Random boxes [n, 4] (x1, y1, x2, y2) inside a size×size image. */
function randomBoxes(seed: number, n: number, size = 100, maxWh = 40): number[] {
  const r = prng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = r() * size, y = r() * size;
    out.push(x, y, x + 1 + r() * maxWh, y + 1 + r() * maxWh);
  }
  return out;
}

function randomScores(seed: number, n: number, levels = 0): number[] {
  const r = prng(seed);
  // levels > 0 quantizes, giving many ties
  return Array.from({ length: n }, () => (levels ? Math.floor(r() * levels) / levels : r()));
}

interface NmsCase { name: string; boxes: number[]; scores: number[]; thr: number; idxs?: number[]; dtype: 'float32' | 'float64' }

// boxes whose IoU with the first is exactly 0.5 (and exactly representable)
const exact = [0, 0, 10, 10, 0, 0, 10, 5, 0, 5, 10, 10, 5, 0, 15, 10, 0, 0, 10, 10, 20, 20, 30, 30, 20, 20, 30, 25];
const nmsCases: NmsCase[] = [
  ...[0.3, 0.5, 0.7].map((thr, k): NmsCase => ({ name: `random thr=${thr}`, boxes: randomBoxes(200 + k, 300), scores: randomScores(300 + k, 300), thr, dtype: 'float32' })),
  { name: 'tied scores', boxes: randomBoxes(210, 300), scores: randomScores(310, 300, 8), thr: 0.5, dtype: 'float32' },
  { name: 'all scores equal', boxes: randomBoxes(211, 100), scores: Array(100).fill(0.5), thr: 0.4, dtype: 'float32' },
  { name: 'IoU exactly at threshold', boxes: exact, scores: [0.9, 0.8, 0.8, 0.7, 0.9, 0.5, 0.5], thr: 0.5, dtype: 'float32' },
  { name: 'IoU exactly at threshold float64', boxes: exact, scores: [0.9, 0.8, 0.8, 0.7, 0.9, 0.5, 0.5], thr: 0.5, dtype: 'float64' },
  { name: 'threshold 0 and 1', boxes: randomBoxes(212, 50), scores: randomScores(312, 50), thr: 0, dtype: 'float32' },
  { name: 'threshold 1', boxes: randomBoxes(213, 50), scores: randomScores(313, 50), thr: 1, dtype: 'float32' },
  { name: 'float64 random', boxes: randomBoxes(214, 200), scores: randomScores(314, 200), thr: 0.6, dtype: 'float64' },
  { name: 'single box', boxes: [1, 2, 3, 4], scores: [0.3], thr: 0.5, dtype: 'float32' },
  { name: 'empty', boxes: [], scores: [], thr: 0.5, dtype: 'float32' },
  ...[0.3, 0.5].map((thr, k): NmsCase => {
    const r = prng(400 + k);
    return { name: `batched thr=${thr}`, boxes: randomBoxes(220 + k, 400), scores: randomScores(320 + k, 400, k ? 10 : 0), thr, idxs: Array.from({ length: 400 }, () => Math.floor(r() * 5)), dtype: 'float32' };
  }),
  { name: 'batched empty', boxes: [], scores: [], thr: 0.5, idxs: [], dtype: 'float32' },
];

interface RoiCase { name: string; scale: number; ratio: number; aligned: boolean; out: [number, number] }
const roiCases: RoiCase[] = [];
for (const scale of [1, 0.5, 0.25]) {
  for (const aligned of [false, true]) {
    for (const ratio of [0, 2]) roiCases.push({ name: `scale=${scale} aligned=${aligned} sampling=${ratio}`, scale, ratio, aligned, out: scale === 0.5 ? [2, 3] : [7, 7] });
  }
}

const IMG = { n: 2, c: 3, h: 10, w: 12 };
function roiInput(seed: number): number[] {
  const r = prng(seed);
  return Array.from({ length: IMG.n * IMG.c * IMG.h * IMG.w }, () => r() * 2 - 1);
}
/** RoIs [k, 5] in image coordinates for a feature map at `scale`, some partly outside, some tiny. */
function randomRois(seed: number, k: number, scale: number): number[] {
  const r = prng(seed);
  const W = IMG.w / scale, H = IMG.h / scale;
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const x1 = -0.2 * W + r() * 1.2 * W, y1 = -0.2 * H + r() * 1.2 * H;
    const tiny = i % 7 === 3;
    out.push(i % 2, x1, y1, x1 + (tiny ? r() * 0.5 : r() * 0.7 * W), y1 + (tiny ? r() * 0.5 : r() * 0.7 * H));
  }
  return out;
}

const SCRIPT = String.raw`
import torchvision.ops as O
res = {}
for c in inp['nms']:
    dt = getattr(torch, c['dtype'])
    b = torch.tensor(c['boxes'], dtype=torch.float64).to(dt).reshape(-1, 4)
    s = torch.tensor(c['scores'], dtype=torch.float64).to(dt)
    if 'idxs' in c:
        keep = O.batched_nms(b, s, torch.tensor(c['idxs'], dtype=torch.int64), c['thr'])
    else:
        keep = O.nms(b, s, c['thr'])
    res['nms ' + c['name']] = keep.tolist()
x = torch.tensor(inp['input']).reshape(inp['shape'])
for c in inp['roi']:
    rois = torch.tensor(c['rois']).reshape(-1, 5)
    xi = x.clone().requires_grad_()
    out = O.roi_align(xi, rois, c['out'], c['scale'], c['ratio'], c['aligned'])
    g = torch.tensor(c['gout']).reshape(out.shape)
    (out * g).sum().backward()
    res['align ' + c['name']] = {'out': out.detach().reshape(-1).tolist(), 'grad': xi.grad.reshape(-1).tolist()}
    xi = x.clone().requires_grad_()
    out = O.roi_pool(xi, rois, c['out'], c['scale'])
    (out * g).sum().backward()
    res['pool ' + c['name']] = {'out': out.detach().reshape(-1).tolist(), 'grad': xi.grad.reshape(-1).tolist()}
# list-of-boxes form
boxes = [torch.tensor(b).reshape(-1, 4) for b in inp['boxlist']]
res['align list'] = O.roi_align(x, boxes, 3, 0.5, 2, True).reshape(-1).tolist()
res['pool list'] = O.roi_pool(x, boxes, 3, 0.5).reshape(-1).tolist()
a = torch.tensor(inp['iouA']).reshape(-1, 4)
b = torch.tensor(inp['iouB']).reshape(-1, 4)
res['box_iou'] = O.box_iou(a, b).reshape(-1).tolist()
res['box_area'] = O.box_area(a).tolist()
out = res
`;

interface RoiRef { out: number[]; grad: number[] }

describe('detection ops vs torchvision.ops', { skip: hasReference() ? false : NO_REFERENCE }, () => {
  const input = roiInput(500);
  const rois = roiCases.map((c, i) => randomRois(600 + i, 24, c.scale));
  const gouts = roiCases.map((c, i) => {
    const r = prng(700 + i);
    return Array.from({ length: 24 * IMG.c * c.out[0] * c.out[1] }, () => r() * 2 - 1);
  });
  const boxlist = [randomBoxes(800, 5, 20, 10), randomBoxes(801, 3, 20, 10)];
  const iouA = randomBoxes(802, 6, 50, 30);
  const iouB = randomBoxes(803, 4, 50, 30);
  let ref: Record<string, unknown> = {};
  before(() => {
    ref = python<Record<string, unknown>>(SCRIPT, {
      nms: nmsCases,
      input,
      shape: [IMG.n, IMG.c, IMG.h, IMG.w],
      roi: roiCases.map((c, i) => ({ ...c, rois: rois[i], gout: gouts[i] })),
      boxlist,
      iouA,
      iouB,
    });
  });

  for (const c of nmsCases) {
    it(`nms ${c.name}: identical indices`, () => {
      torch.tidy(() => {
        const boxes = torch.tensor(c.boxes, { dtype: c.dtype }).reshape(-1, 4);
        const scores = torch.tensor(c.scores, { dtype: c.dtype });
        const keep = c.idxs ? ops.batchedNms(boxes, scores, torch.tensor(c.idxs, { dtype: 'int64' }), c.thr) : ops.nms(boxes, scores, c.thr);
        assert.equal(keep.dtype, 'int64');
        assert.deepEqual(keep.toArray(), ref[`nms ${c.name}`]);
      });
    });
  }

  roiCases.forEach((c, i) => {
    for (const kind of ['align', 'pool'] as const) {
      it(`roi${kind === 'align' ? 'Align' : 'Pool'} ${c.name}: output and input gradient`, () => {
        torch.tidy(() => {
          const x = torch.tensor(input).reshape(IMG.n, IMG.c, IMG.h, IMG.w).requiresGrad_();
          const r = torch.tensor(rois[i]).reshape(-1, 5);
          const out = kind === 'align'
            ? ops.roiAlign(x, r, { outputSize: c.out, spatialScale: c.scale, samplingRatio: c.ratio, aligned: c.aligned })
            : ops.roiPool(x, r, { outputSize: c.out, spatialScale: c.scale });
          const expected = ref[`${kind} ${c.name}`] as RoiRef;
          assert.deepEqual(out.shape, [24, IMG.c, c.out[0], c.out[1]]);
          assertCloseArrays(out.toArray(), expected.out, { rtol: 0, atol: 1e-5 }, 'output');
          out.mul(torch.tensor(gouts[i]).reshape(out.shape)).sum().backward();
          assertCloseArrays(x.grad!.toArray(), expected.grad, { rtol: 0, atol: 1e-5 }, 'input gradient');
        });
      });
    }
  });

  it('roiAlign/roiPool take a list of per-image boxes', () => {
    torch.tidy(() => {
      const x = torch.tensor(input).reshape(IMG.n, IMG.c, IMG.h, IMG.w);
      const boxes = boxlist.map((b) => torch.tensor(b).reshape(-1, 4));
      assertCloseArrays(ops.roiAlign(x, boxes, { outputSize: 3, spatialScale: 0.5, samplingRatio: 2, aligned: true }).toArray(), ref['align list'] as number[], { rtol: 0, atol: 1e-5 }, 'align');
      assertCloseArrays(ops.roiPool(x, boxes, { outputSize: 3, spatialScale: 0.5 }).toArray(), ref['pool list'] as number[], { rtol: 0, atol: 1e-5 }, 'pool');
    });
  });

  it('boxIou and boxArea', () => {
    torch.tidy(() => {
      const a = torch.tensor(iouA).reshape(-1, 4);
      const b = torch.tensor(iouB).reshape(-1, 4);
      assertCloseArrays(ops.boxIou(a, b).toArray(), ref.box_iou as number[], {}, 'boxIou');
      assertCloseArrays(ops.boxArea(a).toArray(), ref.box_area as number[], {}, 'boxArea');
    });
  });
});

describe('detection ops: properties', () => {
  it('nms keeps by decreasing score and never keeps two boxes over the threshold', () => {
    torch.tidy(() => {
      const boxes = torch.tensor(randomBoxes(900, 200)).reshape(-1, 4);
      const scores = torch.tensor(randomScores(901, 200));
      const keep = ops.nms(boxes, scores, 0.5);
      const s = scores.indexSelect(0, keep).toArray();
      for (let i = 1; i < s.length; i++) assert.ok(s[i - 1] >= s[i]);
      const kb = boxes.indexSelect(0, keep);
      const iou = ops.boxIou(kb, kb).sub(torch.eye(keep.size(0)).mul(2));
      assert.ok(iou.max().item() <= 0.5);
    });
  });

  it('batchedNms never lets different categories suppress each other', () => {
    torch.tidy(() => {
      const boxes = torch.tensor([0, 0, 10, 10, 0, 0, 10, 10, 1, 1, 10, 10]).reshape(-1, 4);
      const scores = torch.tensor([0.9, 0.8, 0.7]);
      assert.deepEqual(ops.batchedNms(boxes, scores, torch.tensor([0, 1, 0], { dtype: 'int64' }), 0.5).toArray(), [0, 1]);
      assert.deepEqual(ops.batchedNms(boxes, scores, torch.tensor([0, 1, 2], { dtype: 'int64' }), 0.5).toArray(), [0, 1, 2]);
    });
  });
});
