/**
 * Finding, loading and dumping configs.
 *
 * CONFIG on the command line is a config file path or a config name:
 *   configs/toy/linear-regression.ts   its compiled dist/configs/toy/linear-regression.js is loaded
 *   some/where/my-config.js            a compiled config module (default export: defineConfig(...))
 *   work_dirs/run/config.json          JSON: `{"_base_": NAME, ...keys to override}`; every dumped config has this form
 *   toy/linear-regression              a name: the path under configs/ without extension
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isPlainObject, mergeConfig, type DeepPartial } from './merge';
import { applyOverrides, ConfigError } from './overrides';
import { closestKey, editDistance } from './schema';
import { validateConfig } from './validate';
import type { ConfigModule, RunConfig } from './types';

/** The repository (or installed package) root: dist/src/config/ is three levels below it. */
export const packageRoot = path.resolve(__dirname, '..', '..', '..');
/** Where config sources live, and where tsc puts their compiled modules. */
const CONFIG_SRC = path.join(packageRoot, 'configs');
const CONFIG_DIST = path.join(packageRoot, 'dist', 'configs');

/** A loaded config: its task and JSON part, and the name it goes by (for work dirs and logs). */
export interface LoadedConfig<C extends RunConfig = RunConfig> extends ConfigModule<C> {
  /** The config name (`toy/linear-regression`) or, for a file outside configs/, its path. */
  readonly name: string;
  /** The module or JSON file it came from. */
  readonly file: string;
}

/** Writes a file atomically: a temporary file beside it, fsync, then rename over the target. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  try {
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch { /* may not exist */ }
    throw e;
  }
}

/**
 * Writes a resolved config as JSON (atomically). With `base` (the config's name) the file
 * is `{"_base_": base, ...cfg}`: a JSON config that loads back to exactly `cfg`.
 */
export function dumpConfig(cfg: RunConfig, file: string, opts: { base?: string } = {}): void {
  const body = opts.base === undefined ? cfg : { _base_: opts.base, ...cfg };
  writeFileAtomic(file, `${JSON.stringify(body, null, 2)}\n`);
}

/** Every config name under configs/ (compiled modules; `_`-prefixed folders hold shared bases, not configs). */
export function listConfigNames(): string[] {
  const names: string[] = [];
  const walk = (dir: string, rel: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('_') && e.isDirectory()) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else if (e.name.endsWith('.js')) names.push(r.slice(0, -3));
    }
  };
  walk(CONFIG_DIST, '');
  return names.sort();
}

/** Up to `n` config names close to `name` (by edit distance of the whole name and of the file name). */
export function closeConfigNames(name: string, n = 5): string[] {
  const base = path.basename(name);
  const score = (c: string) => Math.min(editDistance(name, c), editDistance(base, path.basename(c)) + 1);
  return listConfigNames()
    .map((c) => ({ c, d: score(c) }))
    .filter(({ c, d }) => d <= Math.max(3, Math.floor(base.length / 3)) || c.includes(base))
    .sort((a, b) => a.d - b.d || (a.c < b.c ? -1 : 1))
    .slice(0, n)
    .map(({ c }) => c);
}

function requireConfigModule(file: string): ConfigModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as { default?: unknown } & Record<string, unknown>;
  const m = (mod.default ?? mod) as Partial<ConfigModule>;
  if (!m || typeof m !== 'object' || !m.task || !isPlainObject(m.config)) {
    throw new ConfigError(`${file}: not a config module (expected \`export default defineConfig(task, config)\`)`);
  }
  return m as ConfigModule;
}

/** Rejects keys of a JSON config that its base does not have (so a typo is not silently ignored). */
function checkKnownKeys(base: unknown, over: unknown, at: string, file: string): void {
  if (!isPlainObject(base) || !isPlainObject(over)) return;
  for (const [k, v] of Object.entries(over)) {
    const key = at ? `${at}.${k}` : k;
    if (!(k in base)) {
      const close = closestKey(k, Object.keys(base));
      const hint = close === undefined ? '' : ` (did you mean '${at ? `${at}.${close}` : close}'?)`;
      throw new ConfigError(`${file}: unknown key '${key}'${hint} (valid keys at ${at || 'the top level'}: ${Object.keys(base).join(', ')})`);
    }
    checkKnownKeys(base[k], v, key, file);
  }
}

/** The config module for a config name or file path (see the file comment for the forms CONFIG takes). */
export function loadConfig(nameOrPath: string): LoadedConfig {
  // A relative path is taken from the current directory, else from the package root (`configs/...` from anywhere).
  const fromRoot = path.resolve(packageRoot, nameOrPath);
  const abs = !fs.existsSync(path.resolve(nameOrPath)) && fs.existsSync(fromRoot) ? fromRoot : path.resolve(nameOrPath);
  const ext = path.extname(nameOrPath);
  if (ext === '.json') {
    if (!fs.existsSync(abs)) throw new ConfigError(`config file not found: ${nameOrPath}`);
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(abs, 'utf8'));
    } catch (e) {
      throw new ConfigError(`${nameOrPath}: not valid JSON (${(e as Error).message})`);
    }
    if (!isPlainObject(json) || typeof json._base_ !== 'string') {
      throw new ConfigError(`${nameOrPath}: a JSON config needs "_base_": the name of the config it overrides`);
    }
    const { _base_: baseName, ...over } = json;
    const base = loadConfig(baseName as string);
    checkKnownKeys(base.config, over, '', nameOrPath);
    return { task: base.task, config: mergeConfig<RunConfig>(base.config, over as DeepPartial<RunConfig>), name: base.name, file: abs };
  }
  if (ext === '.ts') {
    const rel = path.relative(packageRoot, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new ConfigError(`${nameOrPath}: TypeScript configs outside ${packageRoot} are not compiled; compile it with tsc and pass the .js`);
    }
    const compiled = path.join(packageRoot, 'dist', rel.slice(0, -3) + '.js');
    if (!fs.existsSync(abs)) throw new ConfigError(`config file not found: ${nameOrPath}`);
    if (!fs.existsSync(compiled)) throw new ConfigError(`${nameOrPath}: not compiled yet (no ${path.relative(process.cwd(), compiled)}); run \`npx tsc -p .\``);
    return { ...requireConfigModule(compiled), name: configNameOf(abs), file: compiled };
  }
  if (ext === '.js') {
    if (!fs.existsSync(abs)) throw new ConfigError(`config file not found: ${nameOrPath}`);
    return { ...requireConfigModule(abs), name: configNameOf(abs), file: abs };
  }
  const file = path.join(CONFIG_DIST, `${nameOrPath}.js`);
  if (!fs.existsSync(file)) {
    const close = closeConfigNames(nameOrPath);
    const hint = close.length ? `; did you mean ${close.join(', ')}?` : `; see configs/ (${listConfigNames().length} configs)`;
    throw new ConfigError(`unknown config '${nameOrPath}' (neither a file nor a name under configs/)${hint}`);
  }
  return { ...requireConfigModule(file), name: nameOrPath, file };
}

/** `configs/a/b.ts` or `dist/configs/a/b.js` → `a/b`; other files keep their path. */
function configNameOf(file: string): string {
  for (const root of [CONFIG_SRC, CONFIG_DIST]) {
    const rel = path.relative(root, file);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) return rel.replace(/\.(ts|js)$/, '').split(path.sep).join('/');
  }
  return file;
}

/**
 * loadConfig, then `--cfg-options` style overrides on its JSON part (see applyOverrides); the
 * result is validated against the task's config schema (a ConfigError names each bad key).
 */
export function resolveConfig(nameOrPath: string, overrides: readonly string[] = []): LoadedConfig {
  const loaded = loadConfig(nameOrPath);
  const config = applyOverrides(loaded.config, overrides);
  validateConfig(config, loaded.task.configSchema, { source: nameOrPath, overrides });
  return { ...loaded, config };
}
