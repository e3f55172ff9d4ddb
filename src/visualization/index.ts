/** Drawing predictions on images. */
export { drawDetections } from './detection';
export { drawSegmentation } from './segmentation';
export { drawPoses, type DrawnPose, type DrawPosesOptions } from './pose';
