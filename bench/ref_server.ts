/**
 * Pieces the side-by-side benchmarks share (bench/torchvision_detection.ts, bench/seg_speed.ts):
 * the reference server process, which keeps its model loaded and answers one command line at a
 * time with one JSON line, and the median.
 */
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';

export interface ReferenceServer {
  /** Reads the server's next JSON line (its `ready` line first); a line with `error` throws. */
  next(): Promise<unknown>;
  /** Sends one command line and reads the reply. */
  ask(cmd: string): Promise<unknown>;
  /** Closes the server's stdin (it exits at end of input) and kills it if it is still running. */
  close(): void;
}

/** Starts `python ...args` as a reference server (its stderr passes through). */
export function startReference(python: string, args: string[]): ReferenceServer {
  const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  let exited: string | null = null;
  child.on('exit', (code, signal) => { exited = `reference exited (${code ?? signal})`; });
  const next = async (): Promise<unknown> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(exited ?? 'reference closed its output');
    const msg = JSON.parse(value as string) as { error?: string };
    if (msg.error) throw new Error(`reference: ${msg.error}`);
    return msg;
  };
  return {
    next,
    ask: async (cmd: string) => { child.stdin.write(`${cmd}\n`); return next(); },
    close: () => { child.stdin.end(); if (exited === null) child.kill(); },
  };
}

export const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
