/**
 * torchvision 0.14's semantic-segmentation models as tsvision EncoderDecoders: the state-dict key maps
 * (fcn_resnet50's and deeplabv3_resnet50's names → ours), strict loading, and torchvision's forward
 * (model(x) → { out, aux }). Configs: configs/torchvision/{fcn,deeplabv3}_resnet50.ts.
 *
 * torchvision's model takes an already normalized tensor (ImageNet mean / std on [0, 1] RGB, which is
 * the configs' dataPreprocessor on 0..255) and has no transform inside; its weights' preset
 * (SemanticSegmentation, resize_size=520) resizes the shorter side to 520 before that, in the data
 * pipeline. Its forward is the backbone, the classifier and a bilinear resize (align_corners false)
 * of the logits to the input size — EncoderDecoder's whole-image inference (encodeDecode).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { ModuleList } from '../../nn';
import { FCNHead } from '../decode_heads/fcn_head';
import { TorchvisionDeepLabHead } from '../decode_heads/torchvision_deeplab_head';
import type { BaseDecodeHead } from '../decode_heads/base';
import { ruleKeyMap, type KeyRules } from '../torchvision_keys';
import { EncoderDecoder } from './encoder_decoder';
import type { Segmentor } from './types';

/**
 * torchvision's FCNHead (a Sequential: 0 conv 3×3, 1 BN, 2 ReLU, 3 Dropout, 4 conv 1×1) under `from` →
 * our FCNHead (numConvs 1, concatInput false) under `to`.
 */
const fcnHeadRules = (from: string, to: string): KeyRules => [
  [new RegExp(`^${from}\\.0\\.`), `${to}.convs.0.conv.`],
  [new RegExp(`^${from}\\.1\\.`), `${to}.convs.0.bn.`],
  [new RegExp(`^${from}\\.4\\.`), `${to}.conv_seg.`],
];

/** The backbone (IntermediateLayerGetter over ResNet: conv1, bn1, layer1..4) keeps its names. */
const AUX_RULES = fcnHeadRules('aux_classifier', 'auxiliary_head');

/** fcn_resnet50: classifier = FCNHead(2048, num_classes), aux_classifier = FCNHead(1024, num_classes). */
const FCN_RULES: KeyRules = [...fcnHeadRules('classifier', 'decode_head'), ...AUX_RULES];

/**
 * deeplabv3_resnet50: classifier = DeepLabHead = Sequential(0 ASPP, 1 conv 3×3, 2 BN, 3 ReLU, 4 conv 1×1);
 * ASPP.convs = [1×1, ASPPConv × 3, ASPPPooling (0 pool, 1 conv, 2 BN)] (each conv block: 0 conv, 1 BN),
 * ASPP.project = (0 conv 1×1, 1 BN, 2 ReLU, 3 Dropout). `branches`: the ASPP branches before the pooling.
 */
const deeplabRules = (branches: number): KeyRules => [
  [new RegExp(`^classifier\\.0\\.convs\\.${branches}\\.1\\.`), 'decode_head.image_pool.1.conv.'],
  [new RegExp(`^classifier\\.0\\.convs\\.${branches}\\.2\\.`), 'decode_head.image_pool.1.bn.'],
  [/^classifier\.0\.convs\.(\d+)\.0\./, 'decode_head.aspp_modules.$1.conv.'],
  [/^classifier\.0\.convs\.(\d+)\.1\./, 'decode_head.aspp_modules.$1.bn.'],
  [/^classifier\.0\.project\.0\./, 'decode_head.project.conv.'],
  [/^classifier\.0\.project\.1\./, 'decode_head.project.bn.'],
  [/^classifier\.1\./, 'decode_head.bottleneck.conv.'],
  [/^classifier\.2\./, 'decode_head.bottleneck.bn.'],
  [/^classifier\.4\./, 'decode_head.conv_seg.'],
  ...AUX_RULES,
];

function asTorchvisionModel(model: Segmentor, what: string): EncoderDecoder {
  if (!(model instanceof EncoderDecoder)) throw new Error(`${what}: expected an EncoderDecoder built from a torchvision config`);
  if (model.auxiliaryHead instanceof ModuleList) throw new Error(`${what}: torchvision's models have one auxiliary head, not a list`);
  return model;
}

/**
 * The key map of a torchvision segmentation state dict into `model` (its decode head says which model:
 * FCNHead → fcn_*, TorchvisionDeepLabHead → deeplabv3_*). A model without an auxiliary head ignores
 * torchvision's aux_classifier.* (aux_loss=True checkpoints load into it).
 */
export function torchvisionSegKeyMap(model: Segmentor): (key: string) => string | null {
  const m = asTorchvisionModel(model, 'torchvisionSegKeyMap');
  const head = m.decodeHead;
  const rules = head instanceof TorchvisionDeepLabHead ? deeplabRules(head.dilations.length)
    : head instanceof FCNHead ? FCN_RULES
    : null;
  if (!rules) throw new Error(`torchvisionSegKeyMap: no torchvision model has a ${head.constructor.name} (FCNHead: fcn_*, TorchvisionDeepLabHead: deeplabv3_*)`);
  return ruleKeyMap(rules, m.auxiliaryHead ? [] : ['aux_classifier.']);
}

/** Whether a state dict is a torchvision segmentation model's (classifier.*, no decode_head.*). */
export function isTorchvisionSegStateDict(sd: Map<string, Tensor>): boolean {
  const keys = [...sd.keys()];
  return keys.some((k) => k.startsWith('classifier.')) && !keys.some((k) => k.startsWith('decode_head.'));
}

/**
 * Loads a torchvision segmentation state dict (torch.save(model.state_dict())) into a segmentor built
 * from configs/torchvision/{fcn,deeplabv3}_resnet50*.ts, strictly: a key of the file that maps to no
 * parameter or buffer, or a parameter or buffer the file does not fill, throws (listing them). The caller
 * owns (and disposes) `sd`.
 */
export function loadTorchvisionSegWeights(model: Segmentor, sd: Map<string, Tensor>): void {
  asTorchvisionModel(model, 'loadTorchvisionSegWeights').loadStateDict(sd, { strict: true, keyMap: torchvisionSegKeyMap(model) });
}

/** torchvision's model(x): `out` (and `aux` with an auxiliary head) logits [N, K, H, W] at the input size. */
export interface TorchvisionSegOutput {
  out: Tensor;
  aux: Tensor | null;
}

/** torchvision's forward on normalized images [N, 3, H, W] (no padding, no resize): the logits of both heads resized to H×W. */
export function torchvisionSegForward(model: Segmentor, images: Tensor): TorchvisionSegOutput {
  const m = asTorchvisionModel(model, 'torchvisionSegForward');
  const [, , h, w] = images.shape;
  const resized = (head: BaseDecodeHead, feats: Tensor[]) =>
    torch.F.interpolate(head.forward(feats), { size: [h, w], mode: 'bilinear', alignCorners: false });
  return torch.tidy(() => {
    const feats = m.backbone.forward(images);
    const aux = m.auxiliaryHead as BaseDecodeHead | null;
    return { out: resized(m.decodeHead, feats), aux: aux ? resized(aux, feats) : null };
  });
}
