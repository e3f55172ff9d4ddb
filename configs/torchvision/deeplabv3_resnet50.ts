/**
 * torchvision's `deeplabv3_resnet50` (torchvision 0.14, models/segmentation/deeplabv3.py): load its state
 * dict with loadTorchvisionSegWeights (src/models/segmentors/torchvision.ts); whole-image inference then
 * gives torchvision's model(x)['out'] (test/models/torchvision_seg_parity.test.ts).
 *
 * torchvision's structure, and how it maps here:
 * - backbone, aux_classifier (aux_loss=True: `modelAux`), forward and input: as fcn_resnet50
 *   (./fcn_resnet50.ts): dilated ResNet-50 of output stride 8, FCNHead(1024, 21) on layer3, logits
 *   resized bilinearly (align_corners false) to the input.
 * - classifier: DeepLabHead(2048, 21) = ASPP(2048, [12, 24, 36]) — branches 1×1, three 3×3 dilated 12 /
 *   24 / 36, image pooling (AdaptiveAvgPool 1, 1×1 conv, BN, ReLU, bilinear upsampling with
 *   align_corners false), each conv without bias + BN + ReLU, 256 channels, concatenated in that order;
 *   project: 1×1 conv 1280→256 + BN + ReLU + Dropout(0.5) — then conv 3×3 256→256 (no bias), BN, ReLU,
 *   conv 1×1 → 21 (bias). mmseg's ASPPHead is a different structure (pooling first, one 3×3 bottleneck
 *   over the concatenation, no projection), so the head is TorchvisionDeepLabHead
 *   (src/models/decode_heads/torchvision_deeplab_head.ts), ASPPHead's parts in torchvision's order with
 *   the 1×1 projection added; a permuted ASPPHead would not compute torchvision's function.
 *
 * Departures: the auxiliary head's dropout is Dropout2d (torchvision: elementwise; training only). The
 * runnable `config` trains on Pascal VOC 2012 aug with mmseg's 40k schedule (not torchvision's recipe;
 * see ./fcn_resnet50.ts).
 */
import type { EncoderDecoderConfig } from '../../src/models/segmentors/config';
import { defineConfig } from '../../src/config';
import { segmentationTask } from '../../src/tasks/segmentation/task';
import { forDataset, segDataPreprocessor, segmentationConfig } from '../_base_/segmentation';
import { pascalVoc12Aug, vocCropSize } from '../_base_/datasets/pascal_voc12_aug';
import { schedule40k } from '../_base_/schedules/seg_schedules';
import { torchvisionFCNHead, torchvisionResNet50D8 } from './fcn_resnet50';

/** deeplabv3_resnet50(num_classes=21, aux_loss=False). */
export const model: EncoderDecoderConfig = {
  type: 'EncoderDecoder',
  dataPreprocessor: segDataPreprocessor,
  backbone: torchvisionResNet50D8,
  decodeHead: {
    type: 'TorchvisionDeepLabHead', inChannels: 2048, inIndex: 3, channels: 256, dilations: [1, 12, 24, 36], projectDropout: 0.5,
    // no dropout before the classifier in torchvision's DeepLabHead
    dropoutRatio: 0, numClasses: 21, normCfg: { type: 'BN' }, alignCorners: false,
    lossDecode: { type: 'CrossEntropyLoss', useSigmoid: false, lossWeight: 1.0, avgNonIgnore: true },
  },
  auxiliaryHead: null,
  testCfg: { mode: 'whole' },
};

/** deeplabv3_resnet50(num_classes=21, aux_loss=True): the auxiliary FCNHead(1024, 21) on layer3. */
export const modelAux: EncoderDecoderConfig = { ...model, auxiliaryHead: torchvisionFCNHead(1024, 2, 0.5) };

/** As a runnable config: Pascal VOC 2012 aug (21 classes), 512×512 crops, the 40k schedule, with the auxiliary head. */
export const config = segmentationConfig({ model: forDataset(modelAux, 21, vocCropSize), data: pascalVoc12Aug, schedule: schedule40k() });

export default defineConfig(segmentationTask, config);
