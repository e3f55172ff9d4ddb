/**
 * Merging test-time-augmentation views of one image (MMSegmentation 1.2's SegTTAModel.merge_preds): each
 * view's prediction is already at the original size and flipped back (EncoderDecoder.predict), so the views
 * align pixel for pixel; the merge averages their class probabilities — softmax over classes, or the
 * sigmoid probability of one-channel heads — and takes the argmax (one channel: probability > 0.3).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { SIGMOID_THRESHOLD } from './encoder_decoder';
import type { SegPrediction } from './types';

/**
 * The merged prediction of one image's views. `logits` of the result holds the mean probabilities [K, h, w]
 * (mmseg keeps only the labels and leaves the last view's logits in place; the mean is what the labels come from).
 * A one-channel view's `logits` are already probabilities (EncoderDecoder applies the sigmoid, as mmseg's
 * postprocess_result); they are averaged as they are — mmseg's merge applies a second sigmoid to them, which we
 * do not copy.
 */
export function mergeSegTTA(views: readonly SegPrediction[]): SegPrediction {
  if (views.length === 0) throw new Error('mergeSegTTA: no views to merge');
  const shape = views[0].logits.shape;
  for (const [i, v] of views.entries()) {
    if (v.logits.shape.join() !== shape.join()) {
      throw new Error(`mergeSegTTA: view ${i} has logits [${v.logits.shape.join(', ')}], view 0 [${shape.join(', ')}]`);
    }
  }
  return torch.tidy(() => {
    let sum = viewProbabilities(views[0].logits);
    for (const v of views.slice(1)) sum = sum.add(viewProbabilities(v.logits));
    return mergedPrediction(sum, views.length);
  });
}

/** What a view adds to the merge: softmax over classes, or a one-channel head's probabilities as they are. */
export function viewProbabilities(logits: Tensor): Tensor {
  return logits.shape[0] === 1 ? logits : logits.softmax(0);
}

/** The merged prediction from the sum of `count` views' probabilities [K, h, w]. */
export function mergedPrediction(sum: Tensor, count: number): SegPrediction {
  return torch.tidy(() => {
    const mean = sum.div(count);
    const labels = mean.shape[0] === 1 ? mean.gt(SIGMOID_THRESHOLD).squeeze(0).to('int64') : mean.argmax({ dim: 0 });
    return { logits: mean, labels };
  });
}
