/** The contract every `tsvision <command>` implements, and shared argument parsing. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  /** The subcommand's name, e.g. `coco-eval`. */
  name: string;
  /** One line for `tsvision --help`. */
  summary: string;
  /** Full `--help` text: usage line, then options. */
  help: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** A user mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parsed options (string or boolean flags; arrays for `multiple: true`) and positionals. */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * Parses `argv` with node's parseArgs (strict), turning its errors into UsageError
 * with the command's name in front.
 */
export function parseCommandArgs(command: string, argv: string[], options: Options, allowPositionals = true): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Parses a numeric option, with an error that names the flag. */
export function numberOption(command: string, flag: string, value: string | undefined, fallback: number, opts: { integer?: boolean; min?: number } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    const what = opts.integer ? 'an integer' : 'a number';
    throw new UsageError(`${command}: --${flag} expects ${what}${opts.min !== undefined ? ` >= ${opts.min}` : ''}, got '${value}'`);
  }
  return n;
}
