/**
 * Checkpoint names as MMDetection configs write them (`init_cfg.checkpoint`), resolved to URLs.
 *
 *   torchvision://resnet50                 → torchvision's ImageNet weights (IMAGENET1K_V1)
 *   open-mmlab://detectron2/resnet50_caffe → OpenMMLab's mirror of third-party weights
 *   https://… / http://… / file://… / a path → unchanged
 *
 * Source of both tables: MMEngine 0.10.7, `mmengine/hub/torchvision_0.12.json` (the list MMEngine
 * uses with torchvision < 0.13; the same files as torchvision ≥ 0.13's `*_Weights.IMAGENET1K_V1`)
 * and `mmengine/hub/openmmlab.json`. Only the entries tsvision's configs use are listed; add a
 * row here (copied from those files) when a config needs another.
 *
 * torchvision's file names end in `-<first 8 hex of the sha256>.pth`, and so do OpenMMLab's
 * (its publish_model.py names files the same way); download.ts checks downloads against them.
 */

/** `torchvision://NAME` → URL (MMEngine's torchvision_0.12.json). */
export const TORCHVISION_URLS = {
  resnet18: 'https://download.pytorch.org/models/resnet18-f37072fd.pth',
  resnet34: 'https://download.pytorch.org/models/resnet34-b627a593.pth',
  resnet50: 'https://download.pytorch.org/models/resnet50-0676ba61.pth',
  resnet101: 'https://download.pytorch.org/models/resnet101-63fe2227.pth',
  resnet152: 'https://download.pytorch.org/models/resnet152-394f9c45.pth',
} as const satisfies Record<string, string>;

/** `open-mmlab://NAME` → URL (MMEngine's openmmlab.json). */
export const OPENMMLAB_URLS = {
  // Detectron2's (MSRA's) caffe-style ResNets: BGR input, stride in the first 1×1 conv.
  'detectron2/resnet50_caffe': 'https://download.openmmlab.com/pretrain/third_party/resnet50_msra-5891d200.pth',
  'detectron2/resnet101_caffe': 'https://download.openmmlab.com/pretrain/third_party/resnet101_msra-6cc46731.pth',
  // ResNet-V1c: the 7×7 stem replaced by three 3×3 convs (MMSegmentation's backbones).
  resnet50_v1c: 'https://download.openmmlab.com/pretrain/third_party/resnet50_v1c-2cccc1ad.pth',
  resnet101_v1c: 'https://download.openmmlab.com/pretrain/third_party/resnet101_v1c-e67eebb6.pth',
  // HRNetV2 ImageNet weights (MMPose / MMSegmentation).
  'msra/hrnetv2_w18': 'https://download.openmmlab.com/pretrain/third_party/hrnetv2_w18-00eb2006.pth',
  'msra/hrnetv2_w32': 'https://download.openmmlab.com/pretrain/third_party/hrnetv2_w32-dc9eeb4f.pth',
  'msra/hrnetv2_w48': 'https://download.openmmlab.com/pretrain/third_party/hrnetv2_w48-d2186c55.pth',
} as const satisfies Record<string, string>;

export type TorchvisionCheckpoint = `torchvision://${keyof typeof TORCHVISION_URLS}`;
export type OpenMMLabCheckpoint = `open-mmlab://${keyof typeof OPENMMLAB_URLS}`;

/** The name tables by scheme. `openmmlab://` is MMEngine's alias of `open-mmlab://`. */
const NAMED_SCHEMES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'torchvision://': TORCHVISION_URLS,
  'open-mmlab://': OPENMMLAB_URLS,
  'openmmlab://': OPENMMLAB_URLS,
};

/** Schemes whose value is already a location. */
const LOCATION_SCHEMES = ['https://', 'http://', 'file://'];

/** Every scheme resolveCheckpoint understands (for messages). */
export const KNOWN_SCHEMES: readonly string[] = [...Object.keys(NAMED_SCHEMES), ...LOCATION_SCHEMES];

/**
 * The URL (or path) a checkpoint name stands for: zoo names (`torchvision://resnet50`,
 * `open-mmlab://…`) are looked up, http(s)/file URLs and plain paths come back unchanged.
 * An unknown scheme or an unknown name under a known one throws, listing what is known.
 */
export function resolveCheckpoint(name: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(name);
  if (m === null) return name; // a path (relative, absolute, or Windows `C:\…`)
  const scheme = `${m[1].toLowerCase()}://`;
  if (LOCATION_SCHEMES.includes(scheme)) return name;
  const table = NAMED_SCHEMES[scheme];
  if (table === undefined) {
    throw new Error(`checkpoint '${name}': unknown scheme '${scheme}' (known: ${KNOWN_SCHEMES.join(', ')}, or a file path)`);
  }
  const key = name.slice(m[0].length);
  const url = Object.hasOwn(table, key) ? table[key] : undefined;
  if (url === undefined) {
    throw new Error(`checkpoint '${name}': unknown ${scheme} name '${key}' (known: ${Object.keys(table).join(', ')})`);
  }
  return url;
}

/** Whether a resolved location is fetched over the network (http or https). */
export function isRemote(location: string): boolean {
  return /^https?:\/\//i.test(location);
}
