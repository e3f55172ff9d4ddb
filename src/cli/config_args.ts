/** Command-line pieces shared by the commands that take a CONFIG: `--cfg-options`, and loading with usage errors. */
import { ConfigError, resolveConfig, type LoadedConfig } from '../config';
import { UsageError } from './command';

/**
 * Rewrites the list form `--cfg-options a=1 b.c=x` into `--cfg-options=a=1 --cfg-options=b.c=x`
 * for parseArgs: the words after the flag that contain '=' and do not start with '-' belong to it.
 */
export function expandCfgOptions(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--cfg-options') {
      out.push(argv[i]);
      continue;
    }
    let n = 0;
    while (i + 1 < argv.length && argv[i + 1].includes('=') && !argv[i + 1].startsWith('-')) {
      out.push(`--cfg-options=${argv[++i]}`);
      n++;
    }
    if (n === 0) out.push('--cfg-options'); // parseArgs reports the missing value
  }
  return out;
}

/** The config with overrides applied; config and override mistakes become one-line usage errors. */
export function loadConfigArg(command: string, config: string, overrides: readonly string[]): LoadedConfig {
  try {
    return resolveConfig(config, overrides);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`${command}: ${e.message}`);
    throw e;
  }
}
