/**
 * MMDetection's `init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)` as plain data on a
 * part's config. The model layer only carries it: src/zoo resolves the checkpoint (download,
 * cache, checksum) and loads it into the part, strictly, when the task builds the model.
 */
export interface PretrainedInitCfg {
  type: 'Pretrained';
  /** `torchvision://resnet50`, `open-mmlab://detectron2/resnet50_caffe`, an https URL or a path. */
  checkpoint: string;
  /** Take only the keys under this prefix (e.g. `backbone.`), prefix removed. */
  prefix?: string;
}
