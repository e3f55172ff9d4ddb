/** Drawing predictions on images. */
export { drawDetections } from './detection';
