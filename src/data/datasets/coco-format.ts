/** The COCO annotation file format (the fields tsvision reads and writes). */
import type { Rle } from '../../structures/masks';

/** keypoints/skeleton only for keypoint categories; skeleton pairs are 1-based. */
export interface CocoCategory { id: number; name: string; supercategory: string; keypoints?: string[]; skeleton?: number[][] }
export interface CocoImage { id: number; file_name: string; width: number; height: number }
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: number[];
  area: number;
  iscrowd: 0 | 1;
  segmentation: number[][] | Rle;
  keypoints?: number[];
  num_keypoints?: number;
}
export interface CocoFile { info?: unknown; images: CocoImage[]; annotations: CocoAnnotation[]; categories: CocoCategory[] }

