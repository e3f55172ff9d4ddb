/**
 * DESIGN.md's layout: each folder of src/ imports only the ones below it. The strictest rule
 * is checked here on the sources: src/models imports torch, nn and structures (and itself),
 * nothing else — no engine, data, config, CLI, tasks, zoo, apis, visualization, no node
 * built-ins (files) and no npm packages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './helpers/paths';

const SRC = path.join(repoRoot, 'src');

/** Every module specifier of a TypeScript source: `from '...'`, `import('...')`, `require('...')`, `import '...'`. */
export function importSpecifiers(source: string): string[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;
  return [...text.matchAll(re)].map((m) => m[2]);
}

/** Files under dir whose imports leave the allowed top-level folders of src/; one line per offence. */
export function layoutViolations(dir: string, allowed: readonly string[], srcRoot = SRC): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        for (const spec of importSpecifiers(fs.readFileSync(p, 'utf8'))) {
          const rel = path.relative(srcRoot, p);
          if (!spec.startsWith('.')) {
            out.push(`${rel}: imports '${spec}' (only ${allowed.join(', ')} are allowed)`);
            continue;
          }
          const top = path.relative(srcRoot, path.resolve(path.dirname(p), spec)).split(path.sep)[0];
          if (!allowed.includes(top)) out.push(`${rel}: imports '${spec}' (src/${top}; only ${allowed.join(', ')} are allowed)`);
        }
      }
    }
  };
  walk(dir);
  return out;
}

test('importSpecifiers finds every form of import and ignores comments', () => {
  const src = [
    "import * as torch from '../../torch';",
    "import type { Batch } from '../../data/collate';",
    "import '../../engine/side_effect';",
    "const m = await import('../../zoo');",
    "const fs = require('node:fs');",
    "// import { x } from '../../cli/main';",
    "/* from '../../apis' */",
  ].join('\n');
  assert.deepEqual(importSpecifiers(src), ['../../torch', '../../data/collate', '../../engine/side_effect', '../../zoo', 'node:fs']);
});

test('layoutViolations flags a model file that imports the data layer', (t) => {
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-layout-'));
  t.after(() => fs.rmSync(src, { recursive: true, force: true }));
  const dir = path.join(src, 'models', 'heads');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'bad.ts'), "import { DataLoader } from '../../data/loader';\nimport * as torch from '../../torch';\n");
  const v = layoutViolations(path.join(src, 'models'), ['torch', 'nn', 'structures', 'models'], src);
  assert.equal(v.length, 1);
  assert.match(v[0], /bad\.ts: imports '\.\.\/\.\.\/data\/loader' \(src\/data;/);
});

test('src/models imports only torch, nn, structures and itself', () => {
  const v = layoutViolations(path.join(SRC, 'models'), ['torch', 'nn', 'structures', 'models']);
  assert.deepEqual(v, [], `layout (DESIGN.md) broken:\n${v.join('\n')}`);
});
