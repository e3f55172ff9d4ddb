/** Model zoo: checkpoint names (torchvision://, open-mmlab://), download cache, pretrained init. */
export { TORCHVISION_URLS, OPENMMLAB_URLS, KNOWN_SCHEMES, resolveCheckpoint, isRemote, type TorchvisionCheckpoint, type OpenMMLabCheckpoint } from './urls';
export { fetchCheckpoint, tsvisionHome, checkpointCacheDir, mirrorsFromEnv, hashPrefixOf, cacheNameOf, type FetchOptions } from './download';
export { loadPretrained, type PretrainedInit, type LoadPretrainedOptions, type PretrainedLoadResult } from './pretrained';
