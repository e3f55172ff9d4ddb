/** Checkpoint I/O: safetensors (read/write) and PyTorch .pth files (read). */
export { saveSafetensors, loadSafetensors, serializeSafetensors, deserializeSafetensors, SAFETENSORS_DTYPE, type Safetensors } from './safetensors';
export { loadPth, loadStateDict, collectTensors, type LoadPthOptions, type LoadStateDictOptions, type PickledObject } from './pth';
