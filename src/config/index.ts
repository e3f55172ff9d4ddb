/**
 * Typed configs: a config is a TypeScript module (`export default defineConfig(task, config)`),
 * variants import their base and `mergeConfig` what differs; the resolved config is JSON,
 * overridable from the command line and dumped beside every run.
 */
export { mergeConfig, replace, Replace, isPlainObject, type DeepPartial } from './merge';
export { applyOverrides, parseOverride, ConfigError, type Override } from './overrides';
export { loadConfig, resolveConfig, dumpConfig, writeFileAtomic, listConfigNames, closeConfigNames, packageRoot, type LoadedConfig } from './io';
export { validateConfig, configIssues, crossKeyIssues, formatIssues, type ValidateOptions } from './validate';
export { SchemaValidator, checkSchema, closestKey, type JsonSchema, type SchemaIssue } from './schema';
export {
  defineConfig,
  type ConfigModule, type Task, type RunConfig, type TrainLoopConfig, type OptimizerConfig, type OptimWrapperConfig, type HooksConfig,
} from './types';
