// Every case in ../shared/fixtures/coco-eval (made with pycocotools) must match to 1e-9:
// all summary stats, per-category AP, and proposal AR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sharedDir } from '../helpers/paths';
import { CocoDataset, evaluateCoco, loadResults, proposalRecall, type IouType } from '../../src/evaluation';

interface Expected {
  iou_type: IouType | 'proposal';
  use_cats: number;
  max_dets: number[];
  stats: number[];
  per_category_ap?: Record<string, number>;
  proposal_ar?: Record<string, number>;
}

const root = path.join(sharedDir, 'fixtures', 'coco-eval');
const cases = fs.existsSync(root) ? fs.readdirSync(root).filter((d) => fs.existsSync(path.join(root, d, 'expected.json'))).sort() : [];

function assertClose(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= 1e-9, `${what}: expected ${expected}, got ${actual}`);
}

test('coco-eval fixtures are present', () => {
  assert.ok(cases.length >= 12, `expected the pycocotools cases in ${root}, found ${cases.length}`);
});

for (const name of cases) {
  test(`coco-eval fixture ${name} matches pycocotools to 1e-9`, () => {
    const dir = path.join(root, name);
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
    const gt = CocoDataset.fromFile(path.join(dir, 'gt.json'));
    if (expected.iou_type === 'proposal') {
      const dt = loadResults(gt, path.join(dir, 'dt.json'), { iouType: 'bbox' });
      const res = proposalRecall(gt, dt, { proposalNums: expected.max_dets });
      assert.equal(res.evaluation.params.useCats, expected.use_cats === 1);
      assert.equal(res.stats.length, expected.stats.length);
      expected.stats.forEach((v, i) => assertClose(res.stats[i], v, `stats[${i}]`));
      for (const [key, v] of Object.entries(expected.proposal_ar ?? {})) assertClose(res.proposalAr[key], v, key);
      return;
    }
    const dt = loadResults(gt, path.join(dir, 'dt.json'), { iouType: expected.iou_type });
    const res = evaluateCoco(gt, dt, { iouType: expected.iou_type, useCats: expected.use_cats === 1, maxDets: expected.max_dets });
    assert.equal(res.stats.length, expected.stats.length);
    expected.stats.forEach((v, i) => assertClose(res.stats[i], v, `stats[${i}]`));
    const perCat = expected.per_category_ap ?? {};
    assert.equal(res.perCategoryAp.size, Object.keys(perCat).length);
    for (const [id, v] of Object.entries(perCat)) assertClose(res.perCategoryAp.get(Number(id)), v, `AP of category ${id}`);
  });
}
