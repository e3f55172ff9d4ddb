/**
 * Fuzz cases for files: mutations of a valid COCO annotation file, a valid detection results
 * file and a valid JSON config (delete / retype fields, duplicate ids, negative / NaN / huge
 * numbers, truncated JSON, wrong nesting), fed to the training dataset loader
 * (CocoDetection.load), the evaluator's ground-truth reader (CocoDataset.fromFile), the
 * evaluator on results (evaluateCoco) and the config loader (resolveConfig). Every failure
 * must be an Error whose message names the file or the key that was changed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../../src/config';
import { CocoDetection } from '../../src/data/datasets/coco';
import { CocoDataset, evaluateCoco, type IouType } from '../../src/evaluation';
import { ODD_NUMBERS, Rng, show } from './common';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

export interface FileContext {
  tmpDir: string;
  note(desc: string): void;
}

/** What a case must be checked against: the words one of which a clear error names. */
export interface FileCase {
  /** The words a clear error mentions at least one of (file name, changed keys). */
  mustName: string[];
  /** Runs the reader; resolves when the file was accepted. */
  run(): Promise<unknown> | unknown;
}

export type FileCaseGen = (r: Rng, c: FileContext) => FileCase;

// ---------------------------------------------------------------- valid inputs
function validCoco(): Any {
  return {
    info: { description: 'fuzz' },
    images: [
      { id: 1, file_name: 'a.jpg', width: 64, height: 48 },
      { id: 2, file_name: 'b.jpg', width: 32, height: 32 },
      { id: 7, file_name: 'sub/c.jpg', width: 40, height: 50 },
    ],
    categories: [
      { id: 1, name: 'cat', supercategory: 'animal' },
      { id: 3, name: 'dog', supercategory: 'animal' },
    ],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [2, 3, 20, 10], area: 200, iscrowd: 0, segmentation: [[2, 3, 22, 3, 22, 13, 2, 13]] },
      { id: 2, image_id: 1, category_id: 3, bbox: [30, 5, 10, 20], area: 150, iscrowd: 0, segmentation: [[30, 5, 40, 5, 35, 25]] },
      { id: 5, image_id: 2, category_id: 1, bbox: [0, 0, 16, 16], area: 256, iscrowd: 1, segmentation: { size: [32, 32], counts: [0, 16, 16, 16, 16, 16, 944] } },
      { id: 6, image_id: 7, category_id: 3, bbox: [4, 4, 8, 30], area: 240, iscrowd: 0, segmentation: [[4, 4, 12, 4, 12, 34, 4, 34]] },
    ],
  };
}

function validResults(iouType: IouType): Any[] {
  const dets: Any[] = [
    { image_id: 1, category_id: 1, bbox: [2, 3, 19, 11], score: 0.9 },
    { image_id: 1, category_id: 3, bbox: [29, 6, 10, 19], score: 0.8 },
    { image_id: 7, category_id: 3, bbox: [5, 5, 8, 28], score: 0.7 },
    { image_id: 2, category_id: 1, bbox: [1, 1, 5, 5], score: 0.2 },
  ];
  if (iouType === 'segm') {
    dets[0].segmentation = { size: [48, 64], counts: [3072] };
    dets[1].segmentation = { size: [48, 64], counts: [1440, 50, 1582] };
    dets[2].segmentation = { size: [50, 40], counts: [2000] };
    dets[3].segmentation = { size: [32, 32], counts: [1024] };
  }
  return dets;
}

// ---------------------------------------------------------------- mutations
interface Slot {
  parent: Any;
  key: string | number;
  path: string;
}

function slots(x: unknown, at = '', out: Slot[] = []): Slot[] {
  if (Array.isArray(x)) x.forEach((v, i) => { out.push({ parent: x, key: i, path: `${at}[${i}]` }); slots(v, `${at}[${i}]`, out); });
  else if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) { out.push({ parent: x, key: k, path: at ? `${at}.${k}` : k }); slots(v, at ? `${at}.${k}` : k, out); }
  return out;
}

const RETYPES: readonly unknown[] = ['x', '', '12', null, true, [], {}, [1], { a: 1 }, 0, -1];
const NUMBERS: readonly unknown[] = [-1, -1e9, 0, 0.5, 1e308, -1e308, 2 ** 53 + 2, 1e20, -0, 3.7, null /* NaN through JSON.stringify */, 'NaN', 'Infinity'];

/**
 * Applies 1-3 random mutations to a JSON value in place (or replaces it); returns the value,
 * a description and the key names touched. The text may then be truncated or corrupted.
 */
function mutate(r: Rng, root: Any): { value: Any; text: string; desc: string[]; keys: string[] } {
  const desc: string[] = [];
  const keys: string[] = [];
  let value = root;
  const n = r.int(1, 3);
  for (let m = 0; m < n; m++) {
    const all = slots(value);
    const u = r.int(0, 9);
    if (u === 0 && m === 0 && r.bool(0.3)) {
      value = r.pick([null, [], 'x', 3, [value], { data: value }]);
      desc.push(`replace top level with ${show(value)}`);
      keys.push('top level');
      continue;
    }
    if (!all.length) continue;
    const s = r.pick(all);
    const name = typeof s.key === 'string' ? s.key : String(s.key);
    keys.push(name, s.path);
    const parentName = s.path.replace(/[.[][^.[]*$/, '').replace(/\[\d+\]$/, '').split(/[.[]/).pop();
    if (parentName) keys.push(parentName);
    const cur = s.parent[s.key];
    if (u <= 1) {
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete s.parent[s.key];
      desc.push(`delete ${s.path}`);
    } else if (u <= 3) {
      s.parent[s.key] = r.pick(RETYPES);
      desc.push(`retype ${s.path} = ${show(s.parent[s.key])}`);
    } else if (u <= 5) {
      s.parent[s.key] = r.pick(NUMBERS);
      desc.push(`number ${s.path} = ${show(s.parent[s.key])}`);
    } else if (u === 6) {
      // duplicate an id (or a whole record) within its array
      const arr = slots(value).filter((x) => Array.isArray(x.parent) && x.parent.length > 1 && x.parent[0] && typeof x.parent[0] === 'object' && 'id' in x.parent[0]);
      if (arr.length) {
        const a = r.pick(arr).parent as Any[];
        const i = r.int(0, a.length - 1), j = r.int(0, a.length - 1);
        if (r.bool()) a.push(JSON.parse(JSON.stringify(a[i])));
        else if (a[j] && typeof a[j] === 'object') a[j].id = a[i]?.id;
        desc.push(`duplicate id in an array`);
        keys.push('id', 'duplicate');
      }
    } else if (u === 7) {
      s.parent[s.key] = r.bool() ? [cur] : { value: cur };
      desc.push(`nest ${s.path}`);
    } else if (u === 8) {
      s.parent[s.key] = typeof cur === 'number' ? -cur : typeof cur === 'string' ? cur + '/../../x' : cur;
      desc.push(`negate ${s.path}`);
    } else {
      if (s.parent && typeof s.parent === 'object' && !Array.isArray(s.parent)) {
        s.parent[`unknownKey${r.int(0, 9)}`] = r.pick(RETYPES);
        keys.push('unknownKey');
        desc.push(`add unknown key under ${s.path}`);
      } else {
        (s.parent as Any[]).push(r.pick(RETYPES));
        desc.push(`append junk to ${s.path}`);
      }
    }
  }
  let text = JSON.stringify(value);
  if (text === undefined) text = 'undefined';
  const t = r.next();
  if (t < 0.08) {
    text = text.slice(0, r.int(0, text.length - 1));
    desc.push('truncated');
  } else if (t < 0.12) {
    const i = r.int(0, Math.max(0, text.length - 1));
    text = text.slice(0, i) + r.pick(['}', ']', ',', '"', '\u0000', 'NaN', '\n']) + text.slice(i + 1);
    desc.push('corrupted a character');
  } else if (t < 0.14) {
    text = r.pick(['', ' ', '\ufeff' + text, 'null', '[]', '{}', '"x"']);
    desc.push(`text ${show(text.slice(0, 10))}`);
  }
  void ODD_NUMBERS;
  return { value, text, desc, keys: [...new Set(keys)].filter((k) => k.length > 1 && !/^\d+$/.test(k)) };
}

function writeCase(c: FileContext, name: string, text: string): string {
  const file = path.join(c.tmpDir, name);
  fs.writeFileSync(file, text);
  return file;
}

// ---------------------------------------------------------------- families
const cocoDataset: FileCaseGen = (r, c) => {
  const m = mutate(r, validCoco());
  const file = writeCase(c, `ann-${r.int(0, 1e9)}.json`, m.text);
  c.note(`CocoDetection.load(${m.desc.join('; ')})`);
  const withMasks = r.bool(0.7);
  const filterEmpty = r.bool();
  return {
    mustName: [path.basename(file), ...m.keys],
    run: async () => {
      const ds = await CocoDetection.load({ annFile: file, imgDir: c.tmpDir, withMasks, filterEmpty });
      // touch what a training run reads
      for (let i = 0; i < ds.length; i++) JSON.stringify((ds as Any).infos?.[i] ?? (ds as Any).get?.(i));
      return ds;
    },
  };
};

const cocoGroundTruth: FileCaseGen = (r, c) => {
  const m = mutate(r, validCoco());
  const file = writeCase(c, `gt-${r.int(0, 1e9)}.json`, m.text);
  const iouType: IouType = r.bool(0.7) ? 'bbox' : 'segm';
  c.note(`CocoDataset.fromFile + evaluateCoco(${iouType}) (${m.desc.join('; ')})`);
  return {
    // the results are in memory (named '<results>'): a mutated image size can make them misfit, and
    // the evaluator then names the result record it refuses
    mustName: [path.basename(file), '<results>', ...m.keys],
    run: () => {
      const gt = CocoDataset.fromFile(file);
      // a ground truth that parses must also evaluate (valid results against it)
      return evaluateCoco(gt, validResults(iouType).filter((d) => gt.imageIds.includes(d.image_id) && gt.categoryIds.includes(d.category_id)), { iouType });
    },
  };
};

const cocoResults: FileCaseGen = (r, c) => {
  const iouType: IouType = r.bool(0.7) ? 'bbox' : 'segm';
  const m = mutate(r, validResults(iouType));
  const file = writeCase(c, `dt-${r.int(0, 1e9)}.json`, m.text);
  c.note(`evaluateCoco(results: ${m.desc.join('; ')}, ${iouType})`);
  return {
    mustName: [path.basename(file), ...m.keys],
    run: () => evaluateCoco(new CocoDataset(validCoco(), 'gt.json'), file, { iouType }),
  };
};

let toyConfig: Any;
const OVERRIDES = ['train.maxEpochs=six', 'train.maxEpochs=1.5', 'train.maxEpochs=-3', 'data.batchSize=0', 'train.valInterval=0', 'train.byEpoch=false',
  'optimWrapper.optimizer.momentum="0.9"', 'loadFrom=123', 'paramScheduler.1.milestones=["a"]', 'model.hidden=1e300', 'a.b=1', '=1', 'train=', 'train.maxEpochs',
  'paramScheduler.9.gamma=1', 'seed=NaN', 'seed=null', 'workDir=/dev/null/x', 'optimWrapper.optimizer.type=Adam', 'hooks.logger.interval=-1', 'model=[]', 'train.maxEpochs=1e309'];

const config: FileCaseGen = (r, c) => {
  toyConfig ??= JSON.parse(JSON.stringify(resolveConfig('toy/mlp_regression').config));
  const base = JSON.parse(JSON.stringify(toyConfig));
  const m = mutate(r, base);
  let text = m.text;
  let baseName: unknown = 'toy/mlp_regression';
  // a JSON config is its base's name plus the keys it overrides
  if (m.value && typeof m.value === 'object' && !Array.isArray(m.value) && !m.desc.some((d) => d === 'truncated' || d.startsWith('text') || d.startsWith('corrupted'))) {
    if (r.bool(0.05)) baseName = r.pick(['nope/x', 3, '../../etc/passwd', 'toy/mlp_regression.json']);
    text = JSON.stringify({ _base_: baseName, ...m.value });
  }
  const file = writeCase(c, `cfg-${r.int(0, 1e9)}.json`, text);
  const overrides = r.bool(0.4) ? Array.from({ length: r.int(1, 2) }, () => r.pick(OVERRIDES)) : [];
  c.note(`resolveConfig(${m.desc.join('; ')}; --cfg-options ${overrides.join(' ')})`);
  return {
    mustName: [path.basename(file), '_base_', String(baseName), ...m.keys, ...overrides.flatMap((o) => [o, ...o.split('=')[0].split('.').flatMap((_, i, a) => {
      // a key path prefix, bare or quoted as the messages quote it (a one-letter key is named only quoted)
      const key = a.slice(0, i + 1).join('.');
      return [key, `'${key}'`];
    })])].filter((w) => w.length > 1),
    run: () => resolveConfig(file, overrides),
  };
};

/** Thrown by a case whose readers disagree about a file (counted as a mismatch, not an error). */
export class ReaderMismatch extends Error {
  override name = 'ReaderMismatch';
}

/** The training loader and the evaluator read the same annotation file: both must accept it or both reject it. */
const cocoReadersAgree: FileCaseGen = (r, c) => {
  const m = mutate(r, validCoco());
  const file = writeCase(c, `both-${r.int(0, 1e9)}.json`, m.text);
  c.note(`CocoDetection.load vs CocoDataset.fromFile (${m.desc.join('; ')})`);
  return {
    mustName: [path.basename(file), ...m.keys],
    run: async () => {
      const outcome = async (f: () => unknown): Promise<Error | null> => {
        try {
          await f();
          return null;
        } catch (err) {
          return err as Error;
        }
      };
      const a = await outcome(() => CocoDetection.load({ annFile: file, imgDir: c.tmpDir, withMasks: true }));
      const b = await outcome(() => CocoDataset.fromFile(file));
      // What a training dataset needs beyond the shared COCO rules (README: one set of rules): image
      // files (file_name) and, with masks loaded, a segmentation per instance. The evaluator needs neither.
      const trainingOnly = /: (file_name must be a string, got undefined|has no segmentation, and masks are loaded \(withMasks\))$/;
      if (a && !b && trainingOnly.test(a.message)) throw a;
      if (!a !== !b) {
        throw new ReaderMismatch(`${path.basename(file)}: ${a ? 'the dataset loader rejects' : 'the dataset loader accepts'} it (${a?.message ?? ''}), ` +
          `${b ? 'the evaluator rejects' : 'the evaluator accepts'} it (${b?.message ?? ''})`);
      }
      if (a) throw a;
    },
  };
};

export const FILE_FAMILIES: Record<string, FileCaseGen> = { cocoDataset, cocoGroundTruth, cocoReadersAgree, cocoResults, config };
