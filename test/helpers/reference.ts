/**
 * Runs reference computations with Debian's python3-torch / python3-torchvision.
 * The script reads JSON from stdin (as `inp`) and prints one JSON value.
 */
import { spawnSync } from 'node:child_process';
import { referencePython } from './paths';

let available: boolean | undefined;

/** Whether the reference Python with torch and torchvision is installed. */
export function hasReference(): boolean {
  if (available === undefined) {
    const r = spawnSync(referencePython, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
    available = r.status === 0;
  }
  return available;
}

/** The reason to give test.skip when the reference is missing. */
export const NO_REFERENCE = `reference ${referencePython} with python3-torch and python3-torchvision is not installed (run scripts/setup.sh)`;

/**
 * Runs `body` (Python, with `torch`, `torchvision`, `json`, `inp` in scope) and
 * returns the JSON it assigned to `out`.
 */
export function python<T = unknown>(body: string, inp: unknown = null, timeoutMs = 120_000): T {
  const script = [
    'import json, sys',
    'import torch, torchvision',
    'torch.set_num_threads(1)',
    'inp = json.load(sys.stdin)',
    'out = None',
    body,
    'sys.stdout.write(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(referencePython, ['-c', script], { input: JSON.stringify(inp), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`reference python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
