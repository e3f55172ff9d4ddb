/**
 * torchvision detection checkpoints in tsvision's two-stage detectors: the state-dict key
 * map (torchvision 0.14's fasterrcnn_resnet50_fpn names → ours), loading, and inference as
 * torchvision's model does it (its GeneralizedRCNNTransform runs inside: see
 * preprocessImages with `dataPreprocessor.torchvisionResize`). Configs:
 * configs/torchvision/fasterrcnn_resnet50_fpn{,_rpn}.ts.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { TwoStageModelConfig } from './build';
import type { TwoStageDetector } from './two_stage';
import type { DetInstances } from './types';
import { preprocessImages } from './preprocess';

const RULES: [RegExp, string][] = [
  [/^backbone\.body\./, 'backbone.'],
  [/^backbone\.fpn\.inner_blocks\.(\d+)\.0\./, 'neck.lateral_convs.$1.conv.'],
  [/^backbone\.fpn\.layer_blocks\.(\d+)\.0\./, 'neck.fpn_convs.$1.conv.'],
  [/^rpn\.head\.conv\.0\.0\./, 'rpn_head.rpn_conv.'],
  [/^rpn\.head\.cls_logits\./, 'rpn_head.rpn_cls.'],
  [/^rpn\.head\.bbox_pred\./, 'rpn_head.rpn_reg.'],
  [/^roi_heads\.box_head\.fc6\./, 'roi_head.bbox_head.shared_fcs.0.'],
  [/^roi_heads\.box_head\.fc7\./, 'roi_head.bbox_head.shared_fcs.1.'],
  [/^roi_heads\.box_predictor\.cls_score\./, 'roi_head.bbox_head.fc_cls.'],
  [/^roi_heads\.box_predictor\.bbox_pred\./, 'roi_head.bbox_head.fc_reg.'],
];

/**
 * A torchvision Faster R-CNN (ResNet-FPN) state-dict key → ours; keys of parts the model
 * lacks (`drop`: e.g. 'roi_heads.' for the RPN alone) map to null; unknown keys pass
 * through unchanged (strict loading then names them).
 */
export function torchvisionKeyMap(drop: string[] = []): (key: string) => string | null {
  return (key) => {
    if (drop.some((p) => key.startsWith(p))) return null;
    for (const [re, to] of RULES) if (re.test(key)) return key.replace(re, to);
    return key;
  };
}

/**
 * Loads a torchvision detection state dict (a .pth file saved with torch.save(model.state_dict())
 * or an already read Map) into a detector built from a torchvision config, strictly.
 */
export function loadTorchvisionWeights(model: TwoStageDetector, source: string | Map<string, Tensor>): void {
  const sd = typeof source === 'string' ? torch.loadStateDict(source) : source;
  try {
    const drop = [...(model.rpnHead ? [] : ['rpn.']), ...(model.roiHead ? [] : ['roi_heads.'])];
    model.loadStateDict(sd, { strict: true, keyMap: torchvisionKeyMap(drop) });
  } finally {
    if (typeof source === 'string') torch.dispose([...sd.values()]);
  }
}

/** Decodes an image file to [3, H, W] float32 RGB in [0, 1] (as torchvision's to_tensor). */
export async function readImageTensor(path: string): Promise<Tensor> {
  const { readFile } = await import('node:fs/promises');
  const { decodeImage } = await import('../../data/image');
  const img = await decodeImage({ bytes: await readFile(path), path, flop: false, interpolation: 'bilinear' }, 'rgb');
  return torch.tidy(() => torch.fromTypedArray(img.data, [img.height, img.width, 3])
    .permute(2, 0, 1).float().div(255).contiguous());
}

/**
 * torchvision-style inference for one image (a file, or [3, H, W] float32 RGB in [0, 1]):
 * detections in original-image pixels with torchvision's labels (ours + 1 when the
 * background is class 0, as in the torchvision configs); for the RPN alone, its proposals
 * with label 0 and objectness as score.
 */
export async function runTorchvisionInference(model: TwoStageDetector, cfg: TwoStageModelConfig, image: string | Tensor): Promise<DetInstances> {
  const img = typeof image === 'string' ? await readImageTensor(image) : image;
  try {
    return predictTorchvision(model, cfg, [img])[0];
  } finally {
    if (img !== image) img.dispose();
  }
}

/** runTorchvisionInference on tensors, each image alone (as torchvision's model called on [img]). */
export function predictTorchvision(model: TwoStageDetector, cfg: TwoStageModelConfig, images: Tensor[]): DetInstances[] {
  if (model.training) throw new Error('predictTorchvision: the model is in training mode (call model.eval())');
  const offset = cfg.roiHead?.bboxHead.backgroundFirst ? 1 : 0;
  return images.map((img) => torch.tidy(() => {
    const batch = preprocessImages([img], cfg.dataPreprocessor);
    const [d] = model.predict(batch);
    return offset ? { ...d, labels: d.labels.add(offset) } : d;
  }));
}
