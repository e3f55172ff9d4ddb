/**
 * The one explicit index of CLI commands (no registration by import side effect).
 * Each command lives in its own module under ./commands/.
 */
import type { Command } from './command';
import { makeDatasetCommand } from './commands/make-dataset';
import { cacheDatasetCommand } from './commands/cache-dataset';
import { browseDatasetCommand } from './commands/browse-dataset';
import { cocoEvalCommand } from './commands/coco-eval';
import { quickstartCommand } from './commands/quickstart';
import { inferCommand } from './commands/infer';
import { demoCommand } from './commands/demo';
import { topdownDemoCommand } from './commands/topdown-demo';
import { benchmarkCommand } from './commands/benchmark';
import { trainCommand } from './commands/train';
import { testCommand } from './commands/test';

export const commands: Command[] = [trainCommand, testCommand, cocoEvalCommand, makeDatasetCommand, cacheDatasetCommand, browseDatasetCommand, quickstartCommand, inferCommand, demoCommand, topdownDemoCommand, benchmarkCommand];

const seen = new Set<string>();
for (const c of commands) {
  if (seen.has(c.name)) throw new Error(`cli: command '${c.name}' is listed twice`);
  seen.add(c.name);
}
