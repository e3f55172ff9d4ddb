/**
 * Benchmark: the tensor engine against python3-torch on the same machine and thread count.
 *
 *   node dist/bench/engine.js [--threads 2] [--rounds 3] [--calls 20000] [--batches 15] [--iters 5] [--warmup 2] [--batch 8] [--skip-resnet] [--no-reference]
 *
 * Measures (medians):
 *  - per-call overhead of a small op: `a.add(b)` on 2×2 float32 tensors, ours including
 *    the result's dispose() (Python frees it by reference counting), in µs per call;
 *  - a ResNet-50 training step (forward + cross-entropy + backward, BN in train mode, random
 *    weights) at batch 8×3×224×224, in s/iter. Ours is ResNet-50 (torchvision's layout,
 *    v1.5: stride on the 3×3 conv) built from raw tensors and torch.F; Python's is
 *    torchvision.models.resnet50().
 * The reference is bench/engine_ref.py run with /usr/bin/python3 (TSVISION_REF_PYTHON overrides),
 * in rounds alternating with ours so that other load on the machine falls on both alike.
 * Both sides flush subnormals on every intra-op thread (tsvision's default; the reference is
 * told to match, TSVISION_FLUSH_DENORMAL=0 turns it off on both).
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../src/torch';
import type { Tensor } from '../src/torch';

const F = torch.F;
const repoRoot = path.resolve(__dirname, '..', '..');
const referencePython = process.env.TSVISION_REF_PYTHON ?? '/usr/bin/python3';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------- small op

function smallOpUs(calls: number, batches: number): number {
  const a = torch.ones([2, 2]);
  const b = torch.ones([2, 2]);
  for (let i = 0; i < calls; i++) a.add(b).dispose(); // warm-up
  const perCall: number[] = [];
  for (let k = 0; k < batches; k++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) a.add(b).dispose();
    perCall.push(Number(process.hrtime.bigint() - t0) / 1e3 / calls);
  }
  a.dispose();
  b.dispose();
  return median(perCall);
}

// ---------------------------------------------------------------- ResNet-50 from raw tensors

interface BN { weight: Tensor; bias: Tensor; mean: Tensor; var: Tensor }
interface Block { conv1: Tensor; bn1: BN; conv2: Tensor; bn2: BN; conv3: Tensor; bn3: BN; stride: number; down?: { conv: Tensor; bn: BN } }

class ResNet50 {
  readonly params: Tensor[] = [];
  private readonly buffers: Tensor[] = [];
  private readonly conv1: Tensor;
  private readonly bn1: BN;
  private readonly layers: Block[][] = [];
  private readonly fcW: Tensor;
  private readonly fcB: Tensor;

  constructor() {
    this.conv1 = this.conv(64, 3, 7);
    this.bn1 = this.bn(64);
    let inplanes = 64;
    [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]].forEach(([planes, blocks, stride]) => {
      const layer: Block[] = [];
      for (let i = 0; i < blocks; i++) {
        const s = i === 0 ? stride : 1;
        const block: Block = {
          conv1: this.conv(planes, inplanes, 1), bn1: this.bn(planes),
          conv2: this.conv(planes, planes, 3), bn2: this.bn(planes),
          conv3: this.conv(planes * 4, planes, 1), bn3: this.bn(planes * 4),
          stride: s,
        };
        if (i === 0 && (s !== 1 || inplanes !== planes * 4)) block.down = { conv: this.conv(planes * 4, inplanes, 1), bn: this.bn(planes * 4) };
        layer.push(block);
        inplanes = planes * 4;
      }
      this.layers.push(layer);
    });
    const bound = 1 / Math.sqrt(2048);
    this.fcW = this.param(torch.tidy(() => torch.rand([1000, 2048]).mul(2 * bound).sub(bound)));
    this.fcB = this.param(torch.tidy(() => torch.rand([1000]).mul(2 * bound).sub(bound)));
  }

  private param(t: Tensor): Tensor {
    torch.keep(t).requiresGrad_(true);
    this.params.push(t);
    return t;
  }
  private conv(out: number, inp: number, k: number): Tensor {
    // kaiming normal, fan_out, as torchvision
    return this.param(torch.tidy(() => torch.randn([out, inp, k, k]).mul(Math.sqrt(2 / (out * k * k)))));
  }
  private bn(c: number): BN {
    const mean = torch.keep(torch.zeros([c]));
    const var_ = torch.keep(torch.ones([c]));
    this.buffers.push(mean, var_);
    return { weight: this.param(torch.ones([c])), bias: this.param(torch.zeros([c])), mean, var: var_ };
  }
  private norm(x: Tensor, bn: BN): Tensor {
    return F.batchNorm(x, bn.mean, bn.var, { weight: bn.weight, bias: bn.bias, training: true, momentum: 0.1, eps: 1e-5 });
  }

  forward(x: Tensor): Tensor {
    let h = this.norm(F.conv2d(x, this.conv1, null, { stride: 2, padding: 3 }), this.bn1).relu_();
    h = F.maxPool2d(h, 3, { stride: 2, padding: 1 });
    for (const layer of this.layers) {
      for (const b of layer) {
        let out = this.norm(F.conv2d(h, b.conv1), b.bn1).relu_();
        out = this.norm(F.conv2d(out, b.conv2, null, { stride: b.stride, padding: 1 }), b.bn2).relu_();
        out = this.norm(F.conv2d(out, b.conv3), b.bn3);
        const identity = b.down ? this.norm(F.conv2d(h, b.down.conv, null, { stride: b.stride }), b.down.bn) : h;
        h = out.add_(identity).relu_();
      }
    }
    return F.linear(F.adaptiveAvgPool2d(h, 1).flatten(1), this.fcW, this.fcB);
  }

  dispose(): void {
    torch.dispose([this.params, this.buffers]);
  }
}

/** A ResNet-50 training step (built once): warm-up, then `times(iters)` gives seconds per step. */
function resnet50Bench(batch: number, warmup: number): { times: (iters: number) => number[]; params: number; dispose: () => void } {
  torch.manualSeed(0);
  const model = new ResNet50();
  const x = torch.keep(torch.randn([batch, 3, 224, 224]));
  const target = torch.keep(torch.randint(0, 1000, [batch]));
  const step = () => {
    torch.tidy(() => {
      F.crossEntropy(model.forward(x), target).backward();
    });
    for (const p of model.params) p.grad = null;
  };
  for (let i = 0; i < warmup; i++) step();
  return {
    times: (iters: number) => {
      const out: number[] = [];
      for (let i = 0; i < iters; i++) {
        const t0 = process.hrtime.bigint();
        step();
        out.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      return out;
    },
    params: model.params.reduce((n, p) => n + p.numel(), 0),
    dispose: () => {
      model.dispose();
      torch.dispose([x, target]);
    },
  };
}

// ---------------------------------------------------------------- main

interface RefOut { torch: string; threads: number; denormal?: { supported: boolean; threads: boolean[] }; small_op_us: number; resnet50_s_per_iter?: number; resnet50_times?: number[]; resnet50_params?: number }

function main(): void {
  const threads = arg('threads', 2);
  const calls = arg('calls', 20000);
  const batches = arg('batches', 15);
  const iters = arg('iters', 5);
  const warmup = arg('warmup', 2);
  const batch = arg('batch', 8);
  const rounds = arg('rounds', 3);
  const skipResnet = flag('skip-resnet');
  const withReference = !flag('no-reference');
  torch.setNumThreads(threads);
  const denormal = torch.getFlushDenormal() ? 'on' : 'off';

  // Rounds alternate ours and the reference, so that load from other processes on the
  // machine falls on both sides alike; medians are over all rounds.
  const ourSmall: number[] = [];
  const ourTimes: number[] = [];
  const refSmall: number[] = [];
  const refTimes: number[] = [];
  let refInfo: RefOut | undefined;
  const resnet = skipResnet ? undefined : resnet50Bench(batch, warmup);
  for (let r = 0; r < rounds; r++) {
    ourSmall.push(smallOpUs(calls, batches));
    if (resnet) ourTimes.push(...resnet.times(iters));
    if (withReference) {
      const script = path.join(repoRoot, 'bench', 'engine_ref.py');
      const p = spawnSync(referencePython, [script, '--threads', String(threads), '--calls', String(calls), '--batches', String(batches),
        '--iters', String(iters), '--warmup', String(warmup), '--batch', String(batch), '--denormal', denormal, ...(skipResnet ? ['--skip-resnet'] : [])], { encoding: 'utf8' });
      if (p.status !== 0) {
        console.error(`reference failed (${p.status}): ${p.stderr}`);
      } else {
        refInfo = JSON.parse(p.stdout.trim().split('\n').pop()!) as RefOut;
        refSmall.push(refInfo.small_op_us);
        refTimes.push(...(refInfo.resnet50_times ?? []));
      }
    }
  }
  const params = resnet?.params;
  resnet?.dispose();

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`engine benchmark: ${cpu}, ${os.availableParallelism?.() ?? os.cpus().length} cores; intra-op threads: tsvision ${torch.getNumThreads()}, ` +
    `python3-torch ${refInfo?.threads ?? '-'} (torch ${refInfo?.torch ?? '-'}); ${rounds} alternating rounds; ` +
    `flush-denormal ${denormal} (python3-torch: ${refInfo?.denormal ? `${refInfo.denormal.threads.filter((x) => x).length}/${refInfo.denormal.threads.length} threads flushing` : '-'})`);
  const med = (xs: number[]) => (xs.length ? median(xs) : undefined);
  const fmt = (v: number | undefined, digits: number) => (v === undefined ? '-' : v.toFixed(digits));
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : (a / b).toFixed(3));
  const rows: [string, string, string, string][] = [
    ['small op a.add(b), 2×2 (µs/call)', fmt(med(ourSmall), 2), fmt(med(refSmall), 2), ratio(med(ourSmall), med(refSmall))],
  ];
  if (resnet) {
    rows.push([`ResNet-50 fwd+bwd, ${batch}×3×224×224 (s/iter)`, fmt(med(ourTimes), 3), fmt(med(refTimes), 3), ratio(med(ourTimes), med(refTimes))]);
  }
  console.log('| measure | tsvision | python3-torch | ratio (tsvision / python) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  const list = (xs: number[], d: number) => `[${xs.map((t) => t.toFixed(d)).join(', ')}]` + (xs.length ? ` (fastest ${Math.min(...xs).toFixed(d)})` : '');
  console.log(`small op per round (µs): tsvision ${list(ourSmall, 2)}, python3-torch ${list(refSmall, 2)}`);
  if (resnet) {
    console.log(`ResNet-50 steps (s): tsvision ${list(ourTimes, 3)}, python3-torch ${list(refTimes, 3)}`);
    console.log(`parameters: tsvision ${params}${refInfo?.resnet50_params ? `, torchvision ${refInfo.resnet50_params}` : ''}`);
  }
}

main();
