/** `tsvision coco-eval`: COCO evaluation of a results file against a ground truth. */
import { parseCommandArgs, UsageError, type Command } from '../command';
import { CocoDataset } from '../../evaluation/coco/dataset';
import { CocoFormatError } from '../../evaluation/coco/errors';
import { evaluateCoco } from '../../evaluation/coco/eval';
import { proposalRecall } from '../../evaluation/coco/proposal';
import { loadResults, type IouType } from '../../evaluation/coco/results';

const TYPES = ['bbox', 'segm', 'keypoints', 'proposal'] as const;
type EvalType = (typeof TYPES)[number];

const help = `Usage: tsvision coco-eval --gt GT.json --results RESULTS.json --type bbox|segm|keypoints|proposal [--json]

Evaluates COCO-format results as the reference COCO API (pycocotools) does and prints its
summary and a per-category AP table. proposal: class-agnostic recall at 100/300/1000 boxes.

Options:
  --gt FILE        ground truth in COCO format (images, annotations, categories)
  --results FILE   results JSON: a list of {image_id, category_id, score, bbox | segmentation | keypoints}
  --type TYPE      bbox, segm, keypoints or proposal
  --json           print one JSON object: {"stats", "per_category_ap"} (proposal: {"stats", "proposal_ar"})`;

/** Formats the per-category AP table (name, AP), three columns of pairs as MMDetection prints it. */
function perCategoryTable(gt: CocoDataset, ap: Map<number, number>): string {
  const cells = [...ap].map(([id, v]) => [gt.category(id)?.name ?? String(id), v < 0 ? 'nan' : v.toFixed(3)]);
  const cols = Math.min(3, cells.length) || 1;
  const header = Array.from({ length: cols }, () => ['category', 'AP']).flat();
  const rows: string[][] = [header];
  for (let i = 0; i < cells.length; i += cols) rows.push(cells.slice(i, i + cols).flat());
  const widths = header.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => `| ${widths.map((w, c) => (r[c] ?? '').padEnd(w)).join(' | ')} |`;
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  return [rule, line(rows[0]), rule, ...rows.slice(1).map(line), rule].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('coco-eval', argv, {
    gt: { type: 'string' },
    results: { type: 'string' },
    type: { type: 'string' },
    json: { type: 'boolean' },
  }, false);
  const gtFile = values.gt as string | undefined;
  const resultsFile = values.results as string | undefined;
  const type = values.type as string | undefined;
  if (!gtFile) throw new UsageError('coco-eval: --gt GT.json is required');
  if (!resultsFile) throw new UsageError('coco-eval: --results RESULTS.json is required');
  if (!type || !(TYPES as readonly string[]).includes(type)) {
    throw new UsageError(`coco-eval: --type must be one of ${TYPES.join(', ')}, got '${type ?? ''}'`);
  }
  const evalType = type as EvalType;
  const iouType: IouType = evalType === 'proposal' ? 'bbox' : evalType;
  try {
    const gt = CocoDataset.fromFile(gtFile);
    const results = loadResults(gt, resultsFile, { iouType });
    if (evalType === 'proposal') {
      const { stats, proposalAr, evaluation } = proposalRecall(gt, results);
      if (values.json) console.log(JSON.stringify({ stats, proposal_ar: proposalAr }));
      else {
        console.log(evaluation.summary.join('\n'));
        console.log(Object.entries(proposalAr).map(([k, v]) => `${k}: ${v.toFixed(4)}`).join('  '));
      }
      return 0;
    }
    const res = evaluateCoco(gt, results, { iouType });
    if (values.json) {
      const perCategory: Record<string, number> = {};
      for (const [id, ap] of res.perCategoryAp) perCategory[String(id)] = ap;
      console.log(JSON.stringify({ stats: res.stats, per_category_ap: perCategory }));
    } else {
      console.log(res.summary.join('\n'));
      console.log(perCategoryTable(gt, res.perCategoryAp));
    }
    return 0;
  } catch (err) {
    if (err instanceof CocoFormatError) {
      console.error(`tsvision coco-eval: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

export const cocoEvalCommand: Command = {
  name: 'coco-eval',
  summary: 'evaluate COCO results (bbox, segm, keypoints, proposal) against a ground truth',
  help,
  run,
};
