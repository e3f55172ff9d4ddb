/**
 * The detection task's pretrained init (model.backbone.initCfg, MMDetection's init_cfg): the model
 * built from a config loads its backbone from a checkpoint served on loopback when training starts
 * (TrainableModel.initWeights), and a download failure stops it with one line naming the URL and
 * the cache file. The download cases themselves are in test/zoo/pretrained.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { detectionTask, type DetectionConfig, type DetectionModel } from '../../src/tasks/detection/task';
import { config as shapes } from '../../configs/faster_rcnn/faster-rcnn_r18_fpn_shapes';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';

const skip = hasReference() ? false : NO_REFERENCE;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-init-'));
const saved = process.env.TSVISION_HOME;
let server: http.Server;
let url: string;
let conv1: number[];

before(async () => {
  if (skip) return;
  process.env.TSVISION_HOME = path.join(tmp, 'home');
  const file = path.join(tmp, 'resnet18.pth');
  // torchvision's ResNet-18 state dict (with fc.*), and its conv1 weights' first values
  conv1 = python<number[]>(`
torch.manual_seed(1)
m = torchvision.models.resnet18()
torch.save(m.state_dict(), inp)
out = m.conv1.weight.flatten()[:5].tolist()
`, file);
  const body = fs.readFileSync(file);
  const sha = createHash('sha256').update(body).digest('hex').slice(0, 8);
  server = http.createServer((_req, res) => { res.writeHead(200, { 'Content-Length': body.length }); res.end(body); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/resnet18-${sha}.pth`;
});

after(() => {
  server?.close();
  if (saved === undefined) delete process.env.TSVISION_HOME;
  else process.env.TSVISION_HOME = saved;
  fs.rmSync(tmp, { recursive: true, force: true });
});

function withInit(checkpoint: string): DetectionConfig {
  return { ...shapes, model: { ...shapes.model, backbone: { ...shapes.model.backbone, initCfg: { type: 'Pretrained', checkpoint } } } };
}

test('backbone.initCfg: the task\'s model loads the served ImageNet weights into its backbone (fc.* ignored)', { skip }, async () => {
  const model = detectionTask.buildModel(withInit(url)) as DetectionModel;
  const log: string[] = [];
  await model.initWeights!((l) => log.push(l));
  const w = model.detector.backbone.stateDict().get('conv1.weight')!;
  const got = torch.tidy(() => w.flatten().slice(0, 0, 5).toArray() as number[]);
  got.forEach((v, i) => assert.equal(Math.fround(v), Math.fround(conv1[i])));
  assert.match(log.join('\n'), /backbone: \d+ tensors from http:\/\/127\.0\.0\.1:\d+\/models\/resnet18-[0-9a-f]{8}\.pth .*ignored 2 keys the backbone lacks: fc\.weight, fc\.bias/);
  assert.ok(fs.existsSync(path.join(tmp, 'home', 'checkpoints', path.basename(url))), 'cached under TSVISION_HOME/checkpoints');
});

test('backbone.initCfg: a server that is down is a one-line error naming the URL and the cache file, nothing cached', { skip }, async () => {
  const dead = http.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const port = (dead.address() as AddressInfo).port;
  await new Promise<void>((r) => dead.close(() => r()));
  const bad = `http://127.0.0.1:${port}/models/resnet18-00000000.pth`;
  const model = detectionTask.buildModel(withInit(bad)) as DetectionModel;
  await assert.rejects(model.initWeights!(() => undefined), (e: Error) => {
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.ok(e.message.includes(bad), e.message);
    assert.ok(e.message.includes(path.join(tmp, 'home', 'checkpoints', 'resnet18-00000000.pth')), e.message);
    return true;
  });
  assert.ok(!fs.existsSync(path.join(tmp, 'home', 'checkpoints', 'resnet18-00000000.pth')));
});

test('configs without initCfg (the shapes quickstart) need no download', async () => {
  const model = detectionTask.buildModel(shapes) as DetectionModel;
  const log: string[] = [];
  await model.initWeights!((l) => log.push(l));
  assert.deepEqual(log, []);
});
