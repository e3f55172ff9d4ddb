/**
 * Runs a batch of fuzz cases in this process and writes one line per event to a progress log
 * (synchronously, so that a native crash leaves the case it happened in behind):
 *   S <family> <k>            case k of family starts
 *   D <description>           what it is about to call (may repeat)
 *   E <family> <k> <outcome> <json>   it ended: ok | error | unclear, with the error's message
 *   L <family> <live tensors after the family's cases>
 * Started by main.ts:  node dist/bench/fuzz/child.js '<json spec>'
 */
import * as fs from 'node:fs';
import * as torch from '../../src/torch';
import { CALL_FAMILIES } from './binding';
import { caseRng, classifyError } from './common';
import { FILE_FAMILIES, ReaderMismatch } from './files';
import { family } from './targets';

export interface ChildSpec {
  seed: number;
  device: string;
  log: string;
  tmpDir: string;
  /** Families and case ranges [from, to) to run, in order. */
  tasks: { family: string; from: number; to: number }[];
  /** Harness self-test: raise SIGSEGV at this case (checks that a crash is caught and attributed). */
  selfTestCrash?: { family: string; case: number };
}

const oneLine = (s: string): string => s.replace(/[\r\n\t]+/g, ' ').slice(0, 400);

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as ChildSpec;
  const fd = fs.openSync(spec.log, 'a');
  const write = (line: string): void => {
    fs.writeSync(fd, line + '\n');
  };
  const note = (desc: string): void => write(`D\t${oneLine(desc)}`);
  torch.setNumThreads(1);
  for (const task of spec.tasks) {
    const fam = family(task.family);
    for (let k = task.from; k < task.to; k++) {
      write(`S\t${task.family}\t${k}`);
      if (spec.selfTestCrash?.family === task.family && spec.selfTestCrash.case === k) {
        note('self-test: SIGSEGV');
        process.kill(process.pid, 'SIGSEGV');
      }
      const r = caseRng(spec.seed, task.family, k);
      let outcome = 'ok';
      let info = '';
      try {
        if (fam.kind === 'call') {
          const cases = CALL_FAMILIES[task.family];
          const gen = cases[Math.floor(r.next() * cases.length)];
          torch.tidy(() => {
            gen(r, { device: spec.device, note, tmpDir: spec.tmpDir });
          });
        } else {
          const fc = FILE_FAMILIES[task.family](r, { tmpDir: spec.tmpDir, note });
          try {
            await fc.run();
          } catch (err) {
            const cls = err instanceof ReaderMismatch ? { outcome: 'mismatch', message: err.message, reason: 'readers disagree' } : classifyError(err, fc.mustName);
            outcome = cls.outcome;
            info = JSON.stringify({ message: oneLine(cls.message), reason: cls.reason });
          }
        }
      } catch (err) {
        const cls = classifyError(err);
        outcome = cls.outcome;
        info = JSON.stringify({ message: oneLine(cls.message), reason: cls.reason });
      }
      write(`E\t${task.family}\t${k}\t${outcome}\t${info}`);
    }
    write(`L\t${task.family}\t${torch.liveTensors()}`);
  }
  fs.closeSync(fd);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`fuzz child: ${(err as Error)?.stack ?? err}\n`);
    process.exit(3);
  },
);
