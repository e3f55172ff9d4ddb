/**
 * torchvision detection checkpoints in tsvision's two-stage detectors: the state-dict key
 * map (torchvision 0.14's fasterrcnn_resnet50_fpn names → ours), loading, and inference as
 * torchvision's model does it (its GeneralizedRCNNTransform runs inside: see
 * preprocessImages with `dataPreprocessor.torchvisionResize`). Configs:
 * configs/torchvision/fasterrcnn_resnet50_fpn{,_rpn}.ts.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { DetectorModelConfig } from './build';
import { TwoStageDetector } from './two_stage';
import type { DetInstances, Detector } from './types';
import { preprocessImages } from './preprocess';
import { ruleKeyMap, type KeyRules } from '../torchvision_keys';

const RULES: KeyRules = [
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
  // maskrcnn_resnet50_fpn: MaskRCNNHeads (Conv2dNormActivation: conv with bias + ReLU), MaskRCNNPredictor
  [/^roi_heads\.mask_head\.(\d+)\.0\./, 'roi_head.mask_head.convs.$1.conv.'],
  [/^roi_heads\.mask_predictor\.conv5_mask\./, 'roi_head.mask_head.upsample.'],
  [/^roi_heads\.mask_predictor\.mask_fcn_logits\./, 'roi_head.mask_head.conv_logits.'],
  // retinanet_resnet50_fpn: LastLevelP6P7 after the 3 FPN levels (C3..C5), the two towers
  [/^backbone\.fpn\.extra_blocks\.p6\./, 'neck.fpn_convs.3.conv.'],
  [/^backbone\.fpn\.extra_blocks\.p7\./, 'neck.fpn_convs.4.conv.'],
  [/^head\.classification_head\.conv\.(\d+)\.0\./, 'bbox_head.cls_convs.$1.conv.'],
  [/^head\.classification_head\.cls_logits\./, 'bbox_head.retina_cls.'],
  [/^head\.regression_head\.conv\.(\d+)\.0\./, 'bbox_head.reg_convs.$1.conv.'],
  [/^head\.regression_head\.bbox_reg\./, 'bbox_head.retina_reg.'],
];

/**
 * A torchvision Faster R-CNN (ResNet-FPN) state-dict key → ours; keys of parts the model
 * lacks (`drop`: e.g. 'roi_heads.' for the RPN alone) map to null; unknown keys pass
 * through unchanged (strict loading then names them).
 */
export function torchvisionKeyMap(drop: string[] = []): (key: string) => string | null {
  return ruleKeyMap(RULES, drop);
}

/**
 * Loads a torchvision detection state dict (as torch.save(model.state_dict()) wrote it) into a
 * detector built from a torchvision config, strictly. The caller owns (and disposes) `sd`.
 */
export function loadTorchvisionWeights(model: Detector, sd: Map<string, Tensor>): void {
  const drop = model instanceof TwoStageDetector ? [...(model.rpnHead ? [] : ['rpn.']), ...(model.roiHead ? [] : ['roi_heads.'])] : [];
  model.loadStateDict(sd, { strict: true, keyMap: torchvisionKeyMap(drop) });
}

/** torchvision-style inference on tensors, each image alone (as torchvision's model called on [img]). */
export function predictTorchvision(model: Detector, cfg: DetectorModelConfig, images: Tensor[]): DetInstances[] {
  if (model.training) throw new Error('predictTorchvision: the model is in training mode (call model.eval())');
  // two-stage: background first (torchvision's label = ours + 1); RetinaNet: label = class index
  const offset = cfg.type !== 'RetinaNet' && cfg.roiHead?.bboxHead.backgroundFirst ? 1 : 0;
  return images.map((img) => torch.tidy(() => {
    const batch = preprocessImages([img], cfg.dataPreprocessor);
    const [d] = model.predict(batch);
    return offset ? { ...d, labels: d.labels.add(offset) } : d;
  }));
}
