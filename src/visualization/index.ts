/** Drawing predictions on images. */
export { drawDetections } from './detection';
export { drawSegmentation } from './segmentation';
