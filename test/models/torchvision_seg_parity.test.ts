/**
 * torchvision/fcn_resnet50 and torchvision/deeplabv3_resnet50 against torchvision 0.14's models: the same
 * weights (a seeded random model saved by torchvision, loaded strictly through the key maps), the same
 * normalized input, the same `out` and `aux` logits (torchvision's model(x), align_corners false resize
 * to the input) and the same labels.
 *
 * One Python call builds both models (weights=None, aux_loss=True) and randomizes every BatchNorm: the
 * running statistics are first those of the input (one train-mode pass, momentum 1, keeping the random
 * network's activations in range), then perturbed (mean + N(0, 0.1²)·std, var · U(0.5, 2)), and the
 * affine parameters are random, so that no eval BN is the identity or a plain standardization.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import type { Tensor } from '../../src/torch';
import { buildSegmentor } from '../../src/models/segmentors/build';
import type { EncoderDecoderConfig } from '../../src/models/segmentors/config';
import { EncoderDecoder } from '../../src/models/segmentors/encoder_decoder';
import { loadTorchvisionSegWeights, torchvisionSegForward, torchvisionSegKeyMap } from '../../src/models/segmentors/torchvision';
import * as fcn from '../../configs/torchvision/fcn_resnet50';
import * as deeplab from '../../configs/torchvision/deeplabv3_resnet50';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';
import { assertMaxRelErr } from '../helpers/close';
import { loadSegmentor } from '../../src/apis/segmentation';

const skip = hasReference() ? false : NO_REFERENCE;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-tvseg-parity-'));
const TOL = 1e-4;
const MODELS = { fcn_resnet50: fcn, deeplabv3_resnet50: deeplab } as const;
type Name = keyof typeof MODELS;
let keys: Record<Name, string[]>;
let input: Tensor;

const BODY = `
from torchvision.models.segmentation import fcn_resnet50, deeplabv3_resnet50
torch.set_num_threads(2)
d = inp['dir'] + '/'
gen = torch.Generator().manual_seed(1)
x = torch.randn(1, 3, inp['h'], inp['w'], generator=gen)
torch.save({'x': x}, d + 'input.pth')
out = {}
for name, f in [('fcn_resnet50', fcn_resnet50), ('deeplabv3_resnet50', deeplabv3_resnet50)]:
    torch.manual_seed(0)
    model = f(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.momentum = 1.0
        model.train()
        # the pooling branch sees one pixel per channel: its BN is skipped in a train pass of batch 1
        pool = [m for m in model.modules() if type(m).__name__ == 'ASPPPooling']
        for p in pool:
            p.eval()
        model(x)
        for m in bns:
            c = m.num_features
            std = m.running_var.sqrt()
            m.running_mean.add_(torch.randn(c, generator=gen) * 0.1 * std)
            m.running_var.mul_(0.5 + 1.5 * torch.rand(c, generator=gen))
            m.weight.copy_(0.5 + torch.rand(c, generator=gen))
            m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
        for p in pool:
            bn = p[2]
            bn.running_mean.copy_(torch.randn(bn.num_features, generator=gen) * 0.1)
            bn.running_var.copy_(0.5 + torch.rand(bn.num_features, generator=gen))
        model.eval()
        r = model(x)
    torch.save(model.state_dict(), d + name + '.pth')
    torch.save({'out': r['out'], 'aux': r['aux']}, d + name + '_out.pth')
    out[name] = list(model.state_dict().keys())
`;

before(() => {
  if (skip) return;
  keys = python<Record<Name, string[]>>(BODY, { dir, h: 96, w: 128 }, 300_000);
  const sd = torch.loadStateDict(path.join(dir, 'input.pth'));
  input = torch.keep(sd.get('x')!);
});

after(() => {
  if (input) torch.dispose(input);
  fs.rmSync(dir, { recursive: true, force: true });
});

const build = (cfg: EncoderDecoderConfig) => buildSegmentor(cfg) as EncoderDecoder;

function loadWeights(name: Name): Map<string, Tensor> {
  return torch.loadStateDict(path.join(dir, `${name}.pth`));
}

for (const name of Object.keys(MODELS) as Name[]) {
  const cfg = MODELS[name];

  test(`torchvision/${name}: the key map pairs every torchvision key with one of ours`, { skip }, () => {
    const model = build(cfg.modelAux);
    const own = [...model.stateDict().keys()];
    const map = torchvisionSegKeyMap(model);
    const mapped = keys[name].map((k) => map(k));
    assert.deepEqual(keys[name].filter((k, i) => !own.includes(mapped[i]!)), [], 'torchvision keys without a parameter or buffer of ours');
    assert.deepEqual(own.filter((k) => !mapped.includes(k)), [], 'our keys that no torchvision key fills');
    assert.equal(new Set(mapped).size, mapped.length, 'two torchvision keys map to the same key');
    model.dispose();
  });

  test(`torchvision/${name}: out and aux logits as torchvision's model(x)`, { skip }, (t) => {
    const ref = torch.loadStateDict(path.join(dir, `${name}_out.pth`));
    const weights = loadWeights(name);
    for (const withAux of [true, false]) {
      const model = build(withAux ? cfg.modelAux : cfg.model).eval();
      // the aux_loss=True state dict: its aux_classifier.* is ignored by the model without the head
      loadTorchvisionSegWeights(model, weights);
      torch.tidy(() => {
        // aux_loss=True: torchvision's forward (out and aux); aux_loss=False: whole-image EncoderDecoder inference
        const { out, aux } = withAux ? torchvisionSegForward(model, input) : { out: model.encodeDecode(input), aux: null };
        const e = assertMaxRelErr(out, ref.get('out')!, TOL, `${name} out`);
        const refLabels = ref.get('out')!.argmax({ dim: 1 });
        const distinct = new Set(refLabels.toTypedArray() as unknown as Iterable<number | bigint>).size;
        // a reference that labels every pixel alike would make the label check empty
        assert.ok(distinct >= 3, `${name}: torchvision's labels take only ${distinct} values`);
        const same = out.argmax({ dim: 1 }).eq(refLabels).float().mean().item();
        assert.ok(same >= 0.999, `${name}: ${(100 * same).toFixed(3)}% of labels equal`);
        let msg = `${withAux ? 'aux_loss=True, torchvisionSegForward' : 'aux_loss=False, encodeDecode'}: out max|Δ|/max|ref| ${e.toExponential(2)}, labels ${(100 * same).toFixed(2)}% equal (${distinct} classes)`;
        if (withAux) {
          assert.ok(aux, 'the aux logits');
          msg += `; aux ${assertMaxRelErr(aux, ref.get('aux')!, TOL, `${name} aux`).toExponential(2)}`;
        }
        t.diagnostic(msg);
      });
      model.dispose();
    }
    torch.dispose([...weights.values(), ...ref.values()]);
  });

  test(`torchvision/${name}: strict loading names a missing key and an unused one`, { skip }, () => {
    const weights = loadWeights(name);
    const model = build(cfg.modelAux);
    const missing = keys[name].find((k) => k.startsWith('classifier.') && k.endsWith('.weight'))!;
    const w = weights.get(missing)!;
    weights.delete(missing);
    weights.set('classifier.99.weight', w);
    assert.throws(() => loadTorchvisionSegWeights(model, weights), (err: Error) => {
      const ours = torchvisionSegKeyMap(model)(missing)!;
      return err.message.includes(ours) && err.message.includes('classifier.99.weight');
    });
    model.dispose();
    torch.dispose([...weights.values()]);
  });
}

test('loadSegmentor takes torchvision/deeplabv3_resnet50 with a torchvision .pth (through the key map)', { skip }, () => {
  const { model } = loadSegmentor(deeplab.config, path.join(dir, 'deeplabv3_resnet50.pth'));
  const ref = torch.loadStateDict(path.join(dir, 'deeplabv3_resnet50_out.pth'));
  torch.tidy(() => {
    const { out, aux } = torchvisionSegForward(model, input);
    assertMaxRelErr(out, ref.get('out')!, TOL, 'out');
    assertMaxRelErr(aux!, ref.get('aux')!, TOL, 'aux');
  });
  model.dispose();
  torch.dispose([...ref.values()]);
});

test('torchvision seg weights: fcn_resnet50 into deeplabv3_resnet50 fails strictly', { skip }, () => {
  const weights = loadWeights('fcn_resnet50');
  const model = build(deeplab.model);
  // the classifier's shapes differ (FCNHead's 512 channels, DeepLabHead's 256)
  assert.throws(() => loadTorchvisionSegWeights(model, weights), /loadStateDict \(EncoderDecoder\)/);
  model.dispose();
  torch.dispose([...weights.values()]);
});
