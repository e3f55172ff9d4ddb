/**
 * The backbone's pretrained weights of a config (model.backbone.initCfg), loaded strictly through the zoo
 * and logged the same way by every task's model wrapper.
 */
import type { Module } from '../nn';
import type { PretrainedInitCfg } from '../models/init_cfg';
import { loadPretrained } from '../zoo';

export async function initBackboneWeights(backbone: Module, init: PretrainedInitCfg | null | undefined, log: (line: string) => void): Promise<void> {
  if (!init) return;
  const r = await loadPretrained(backbone, init, { log });
  log(`backbone: ${r.loadedKeys.length} tensors from ${init.checkpoint} (${r.file})` +
    (r.ignoredKeys.length ? `; ignored ${r.ignoredKeys.length} keys the backbone lacks: ${r.ignoredKeys.slice(0, 6).join(', ')}${r.ignoredKeys.length > 6 ? ', ...' : ''}` : ''));
}
