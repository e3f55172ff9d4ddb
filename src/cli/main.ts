/** `tsvision <command>`: the command index. */
import { UsageError, type Command } from './command';
import { commands } from './commands';

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'tsvision: detection, segmentation and pose estimation on libtorch',
    '',
    'Usage: tsvision <command> [options]     (tsvision <command> --help for its options)',
    '',
    'Commands:',
    ...lines,
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(topHelp());
    return name === undefined ? 2 : 0;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`tsvision: unknown command '${name}' (commands: ${commands.map((c) => c.name).join(', ')})`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tsvision ${err.message}`);
      return 2;
    }
    throw err;
  }
}
