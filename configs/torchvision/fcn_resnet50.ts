/**
 * torchvision's `fcn_resnet50` (torchvision 0.14, models/segmentation/fcn.py): load its state dict with
 * loadTorchvisionSegWeights (src/models/segmentors/torchvision.ts); whole-image inference then gives
 * torchvision's model(x)['out'] (test/models/torchvision_seg_parity.test.ts).
 *
 * torchvision's structure, and how it maps here:
 * - backbone: ResNet-50 (7×7 stem, stride in the 3×3 conv: style 'pytorch', BN eps 1e-5) with
 *   replace_stride_with_dilation [False, True, True]: layers 3 and 4 at stride 1 with dilation 2 and 4,
 *   the first block of each using the previous dilation (1, 2) — mmseg's contractDilation — output
 *   stride 8; IntermediateLayerGetter: layer4 → 'out', layer3 → 'aux'.
 * - classifier: FCNHead(2048, 21) = conv 3×3 2048→512 (no bias), BN, ReLU, Dropout(0.1), conv 1×1 →
 *   21 (bias): our FCNHead with numConvs 1, kernel 3, concatInput false, channels 512.
 * - aux_classifier (aux_loss=True: `modelAux`): FCNHead(1024, 21) on layer3: 1024→256.
 * - forward: each head's logits resized bilinearly (align_corners false) to the input size.
 * - input: normalized by ImageNet mean / std on [0, 1] RGB (= the dataPreprocessor here on 0..255);
 *   the weights' preset resizes the shorter side to 520 first (a data-pipeline step, not the model's).
 *
 * Departures: the head's dropout is mmseg's Dropout2d (whole channels), torchvision's nn.Dropout is
 * elementwise (training only; inference is identical). The runnable `config` trains on Pascal VOC 2012
 * aug with mmseg's 40k schedule and 512×512 crops; torchvision's recipe (references/segmentation: COCO
 * with the VOC categories, 30 epochs, SGD lr 0.02, crops of 480) is not reproduced. Losses as its
 * recipe: cross-entropy averaged over labelled pixels, the auxiliary one weighted 0.5.
 */
import type { EncoderDecoderConfig, FCNHeadConfig, SegResNetConfig } from '../../src/models/segmentors/config';
import { defineConfig } from '../../src/config';
import { segmentationTask } from '../../src/tasks/segmentation/task';
import { forDataset, resnet50V1cD8, segDataPreprocessor, segmentationConfig } from '../_base_/segmentation';
import { pascalVoc12Aug, vocCropSize } from '../_base_/datasets/pascal_voc12_aug';
import { schedule40k } from '../_base_/schedules/seg_schedules';

/** torchvision's resnet50(replace_stride_with_dilation=[False, True, True]) as the segmentation backbone. */
export const torchvisionResNet50D8: SegResNetConfig = {
  // mmseg's -D8 layout (strides [1, 2, 1, 1], dilations [1, 1, 2, 4], contractDilation) on the plain 7×7 stem
  ...resnet50V1cD8,
  type: 'ResNet',
  bnEps: 1e-5,
  zeroInitResidual: false,
  initCfg: { type: 'Pretrained', checkpoint: 'torchvision://resnet50' },
};

/** torchvision's FCNHead(inChannels, 21) as our FCNHead (loss weight as torchvision's recipe). */
export function torchvisionFCNHead(inChannels: number, inIndex: number, lossWeight: number): FCNHeadConfig {
  return {
    type: 'FCNHead', inChannels, inIndex, channels: inChannels / 4, numConvs: 1, kernelSize: 3, concatInput: false,
    dropoutRatio: 0.1, numClasses: 21, normCfg: { type: 'BN' }, alignCorners: false,
    lossDecode: { type: 'CrossEntropyLoss', useSigmoid: false, lossWeight, avgNonIgnore: true },
  };
}

/** fcn_resnet50(num_classes=21, aux_loss=False). */
export const model: EncoderDecoderConfig = {
  type: 'EncoderDecoder',
  dataPreprocessor: segDataPreprocessor,
  backbone: torchvisionResNet50D8,
  decodeHead: torchvisionFCNHead(2048, 3, 1.0),
  auxiliaryHead: null,
  testCfg: { mode: 'whole' },
};

/** fcn_resnet50(num_classes=21, aux_loss=True): the auxiliary FCNHead(1024, 21) on layer3. */
export const modelAux: EncoderDecoderConfig = { ...model, auxiliaryHead: torchvisionFCNHead(1024, 2, 0.5) };

/** As a runnable config: Pascal VOC 2012 aug (21 classes), 512×512 crops, the 40k schedule, with the auxiliary head. */
export const config = segmentationConfig({ model: forDataset(modelAux, 21, vocCropSize), data: pascalVoc12Aug, schedule: schedule40k() });

export default defineConfig(segmentationTask, config);
