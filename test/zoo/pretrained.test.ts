/**
 * src/zoo: checkpoint names, the download cache (checksum, resume, retries, mirrors, errors) and
 * pretrained init, against a local HTTP server serving a torchvision ResNet-18 state dict written by
 * python3-torch.
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
import { ResNet } from '../../src/models/backbones/resnet';
import { fetchCheckpoint, loadPretrained, resolveCheckpoint, TORCHVISION_URLS, OPENMMLAB_URLS, hashPrefixOf } from '../../src/zoo';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';

const skip = hasReference() ? false : NO_REFERENCE;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-zoo-'));
const savedHome = process.env.TSVISION_HOME;
const savedMirrors = process.env.TSVISION_MIRRORS;

/** What the reference wrote: three checkpoints and digests of two tensors. */
interface Reference {
  /** sha256 of resnet18.pth, the torchvision state dict (with fc.*). */
  fileSha: string;
  /** [shape, sha256 of the float32 bytes] of torchvision's values. */
  conv: [number[], string];
  runningVar: [number[], string];
}
let ref: Reference;
let body: Buffer; // resnet18.pth
const files = {
  plain: path.join(tmp, 'src', 'resnet18.pth'),
  /** MMDetection-style: {'state_dict': {'backbone.*', 'neck.*'}, 'meta': {...}}. */
  detector: path.join(tmp, 'src', 'detector.pth'),
  /** Lacks layer1.0.conv1.weight. */
  missing: path.join(tmp, 'src', 'missing.pth'),
};

/** Every request the server saw: path and Range header. */
const requests: { url: string; range?: string }[] = [];
let server: http.Server;
let base: string;
/** A port nothing listens on. */
let deadPort: number;
let shaName: string;

/** Serves body from `Range: bytes=N-` (206) or whole (200). */
function serve(req: http.IncomingMessage, res: http.ServerResponse, data: Buffer): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m) {
    const start = Number(m[1]);
    res.writeHead(206, { 'Content-Length': data.length - start, 'Content-Range': `bytes ${start}-${data.length - 1}/${data.length}` });
    res.end(data.subarray(start));
  } else {
    res.writeHead(200, { 'Content-Length': data.length });
    res.end(data);
  }
}

/** Announces the whole body, sends `n` bytes of it, then drops the connection. */
function truncate(res: http.ServerResponse, data: Buffer, n: number): void {
  res.writeHead(200, { 'Content-Length': data.length });
  // end(), not destroy(): a FIN after the bytes, so the client receives exactly n of them.
  res.write(data.subarray(0, n), () => res.socket?.end());
}

let flakyCalls = 0;

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '';
  requests.push({ url, range: req.headers.range });
  const name = url.split('/').pop() ?? '';
  if (url.startsWith('/good/') || url.startsWith('/mirror/') || url.startsWith('/hashed/')) {
    serve(req, res, body);
  } else if (url.startsWith('/redirect/')) {
    res.writeHead(302, { Location: `/good/${name}` });
    res.end();
  } else if (url.startsWith('/flaky/')) {
    // The first request is cut at a third of the body; later ones honour Range.
    if (flakyCalls++ === 0) truncate(res, body, Math.floor(body.length / 3));
    else serve(req, res, body);
  } else if (url.startsWith('/broken/')) {
    truncate(res, body, 1000); // always, Range or not
  } else if (url.startsWith('/error500/')) {
    res.writeHead(500);
    res.end('boom');
  } else {
    res.writeHead(404);
    res.end('not found');
  }
}

/** A fresh cache directory. */
function cache(name: string): string {
  return path.join(tmp, 'cache', name);
}

const quiet = { quiet: true, backoffMs: 1 } as const;

before(async () => {
  process.env.TSVISION_HOME = path.join(tmp, 'home');
  delete process.env.TSVISION_MIRRORS;
  if (skip) return;
  fs.mkdirSync(path.join(tmp, 'src'));
  ref = python<Reference>(`
import hashlib
torch.manual_seed(0)
sd = torchvision.models.resnet18().state_dict()
torch.save(sd, inp['plain'])
wrapped = {'backbone.' + k: v for k, v in sd.items() if not k.startswith('fc.')}
wrapped['neck.lateral_convs.0.conv.weight'] = torch.zeros(4, 8, 1, 1)
torch.save({'meta': {'epoch': 12}, 'state_dict': wrapped}, inp['detector'])
torch.save({k: v for k, v in sd.items() if k != 'layer1.0.conv1.weight'}, inp['missing'])
dig = lambda t: [list(t.shape), hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()]
out = {'fileSha': hashlib.sha256(open(inp['plain'], 'rb').read()).hexdigest(),
       'conv': dig(sd['layer1.0.conv1.weight']), 'runningVar': dig(sd['bn1.running_var'])}
`, files);
  body = fs.readFileSync(files.plain);
  assert.equal(createHash('sha256').update(body).digest('hex'), ref.fileSha);
  shaName = `resnet18-${ref.fileSha.slice(0, 8)}.pth`;
  server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
});

after(async () => {
  if (server) await new Promise<void>((r) => server.close(() => r()));
  if (savedHome === undefined) delete process.env.TSVISION_HOME;
  else process.env.TSVISION_HOME = savedHome;
  if (savedMirrors === undefined) delete process.env.TSVISION_MIRRORS;
  else process.env.TSVISION_MIRRORS = savedMirrors;
  fs.rmSync(tmp, { recursive: true, force: true });
});

function digest(t: torch.Tensor): [number[], string] {
  return [t.shape, createHash('sha256').update(Buffer.from(t.toBuffer())).digest('hex')];
}

/** Runs `fn` and returns the error it throws (asserting it throws, on one line). */
async function failure(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    const msg = (e as Error).message;
    assert.ok(!msg.includes('\n'), `expected a one-line error, got:\n${msg}`);
    return msg;
  }
  assert.fail('expected an error');
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---------------------------------------------------------------- names

test('resolveCheckpoint: zoo names, pass-through, unknown scheme and name', () => {
  assert.equal(resolveCheckpoint('torchvision://resnet50'), 'https://download.pytorch.org/models/resnet50-0676ba61.pth');
  assert.equal(resolveCheckpoint('torchvision://resnet18'), TORCHVISION_URLS.resnet18);
  assert.equal(resolveCheckpoint('open-mmlab://detectron2/resnet50_caffe'), 'https://download.openmmlab.com/pretrain/third_party/resnet50_msra-5891d200.pth');
  assert.equal(resolveCheckpoint('openmmlab://msra/hrnetv2_w32'), OPENMMLAB_URLS['msra/hrnetv2_w32']);
  assert.equal(resolveCheckpoint('https://example.com/a/b.pth'), 'https://example.com/a/b.pth');
  assert.equal(resolveCheckpoint('/data/ckpt/r50.pth'), '/data/ckpt/r50.pth');
  assert.equal(resolveCheckpoint('work_dirs/x/epoch_12.safetensors'), 'work_dirs/x/epoch_12.safetensors');
  assert.throws(() => resolveCheckpoint('mmcls://resnet50'), /unknown scheme 'mmcls:\/\/' \(known: torchvision:\/\/, open-mmlab:\/\/, openmmlab:\/\/, https:\/\/, http:\/\/, file:\/\//);
  assert.throws(() => resolveCheckpoint('torchvision://resnet51'), /unknown torchvision:\/\/ name 'resnet51' \(known: resnet18, resnet34, resnet50, resnet101, resnet152\)/);
  assert.throws(() => resolveCheckpoint('torchvision://toString'), /unknown torchvision:\/\/ name/);
  // Every zoo URL carries the sha256 prefix the download is checked against.
  for (const url of [...Object.values(TORCHVISION_URLS), ...Object.values(OPENMMLAB_URLS)]) {
    assert.match(hashPrefixOf(url.split('/').pop()!) ?? '', /^[0-9a-f]{8}$/, url);
  }
});

// ---------------------------------------------------------------- download + load

test('good file: downloaded once, cached, loaded into ResNet-18 as torchvision has it; fc.* ignored', { skip }, async () => {
  const url = `${base}/good/resnet18.pth`;
  const cacheFile = path.join(tmp, 'home', 'checkpoints', 'resnet18.pth');
  const net = new ResNet({ depth: 18 });
  try {
    const live = torch.liveTensors();
    const lines: string[] = [];
    const n0 = requests.length;
    const r = await loadPretrained(net, { type: 'Pretrained', checkpoint: url }, { quiet: true, log: (l) => lines.push(l) });
    assert.equal(requests.length, n0 + 1);
    assert.equal(r.file, cacheFile);
    assert.equal(fs.readFileSync(cacheFile).equals(body), true);
    assert.equal(fs.existsSync(`${cacheFile}.part`), false);
    assert.deepEqual(r.ignoredKeys, ['fc.weight', 'fc.bias']);
    assert.ok(lines.some((l) => /ignored 2 key\(s\) the ResNet lacks: fc\.weight, fc\.bias/.test(l) && l.includes(url)), lines.join('\n'));
    assert.equal(r.loadedKeys.length, net.stateDict().size);
    const sd = net.stateDict();
    assert.deepEqual(digest(sd.get('layer1.0.conv1.weight')!), ref.conv);
    assert.deepEqual(digest(sd.get('bn1.running_var')!), ref.runningVar);
    assert.equal(torch.liveTensors(), live, 'every tensor read from the file is freed');

    // Second time: from the cache, no request.
    const again = await loadPretrained(net, { type: 'Pretrained', checkpoint: url }, { quiet: true, log: () => {} });
    assert.equal(again.file, cacheFile);
    assert.equal(requests.length, n0 + 1);
    assert.equal(torch.liveTensors(), live);
  } finally {
    net.dispose();
  }
});

test('prefix: backbone.* of an MMDetection checkpoint (state_dict wrapper), from a local path', { skip }, async () => {
  const net = new ResNet({ depth: 18 });
  try {
    const live = torch.liveTensors();
    const r = await loadPretrained(net, { type: 'Pretrained', checkpoint: files.detector, prefix: 'backbone' }, { quiet: true, log: () => {} });
    assert.equal(r.file, files.detector);
    assert.deepEqual(r.ignoredKeys, []);
    assert.deepEqual(digest(net.stateDict().get('layer1.0.conv1.weight')!), ref.conv);
    assert.equal(torch.liveTensors(), live);
    const msg = await failure(() => loadPretrained(net, { type: 'Pretrained', checkpoint: files.detector, prefix: 'head.' }, { quiet: true }));
    assert.match(msg, /no keys under prefix 'head\.' \(the file's keys start with backbone\., neck\.\)/);
    assert.equal(torch.liveTensors(), live);
  } finally {
    net.dispose();
  }
});

test('a backbone key missing from the file: error naming the key, the file and the URL; nothing loaded', { skip }, async () => {
  const url = `file://${files.missing}`;
  const net = new ResNet({ depth: 18 });
  try {
    const before = digest(net.stateDict().get('layer1.0.bn1.weight')!);
    const live = torch.liveTensors();
    const msg = await failure(() => loadPretrained(net, { type: 'Pretrained', checkpoint: url }, { quiet: true }));
    assert.match(msg, new RegExp(`^pretrained ${escape(url)}, file ${escape(files.missing)}: .*missing keys \\(1\\): layer1\\.0\\.conv1\\.weight`));
    assert.deepEqual(digest(net.stateDict().get('layer1.0.bn1.weight')!), before, 'nothing copied');
    assert.equal(torch.liveTensors(), live);
  } finally {
    net.dispose();
  }
});

test('shape mismatch: error naming the key and both shapes', { skip }, async () => {
  const net = new ResNet({ depth: 18, baseChannels: 32 });
  try {
    const msg = await failure(() => loadPretrained(net, { type: 'Pretrained', checkpoint: files.plain }, { quiet: true, log: () => {} }));
    assert.match(msg, /conv1\.weight: checkpoint has shape \[64, 3, 7, 7\], the module has \[32, 3, 7, 7\]/);
    assert.ok(msg.includes(files.plain));
  } finally {
    net.dispose();
  }
});

// ---------------------------------------------------------------- checksum

test('sha256 prefix in the name: a match is accepted', { skip }, async () => {
  const dir = cache('sha-ok');
  const file = await fetchCheckpoint(`${base}/hashed/${shaName}`, { ...quiet, cacheDir: dir });
  assert.equal(file, path.join(dir, shaName));
  assert.equal(fs.readFileSync(file).equals(body), true);
});

test('sha256 prefix in the name: a mismatch names URL and cache file, leaves nothing', { skip }, async () => {
  const dir = cache('sha-bad');
  const url = `${base}/hashed/resnet18-deadbeef.pth`;
  const file = path.join(dir, 'resnet18-deadbeef.pth');
  const msg = await failure(() => fetchCheckpoint(url, { ...quiet, cacheDir: dir }));
  assert.equal(msg, `download ${url} → ${file}: sha256 mismatch (expected deadbeef…, got ${ref.fileSha.slice(0, 8)}…)`);
  assert.deepEqual(fs.readdirSync(dir), [], 'neither the file nor its .part remains');
});

test('a stale .part that fails the checksum after resuming is downloaded again from the start', { skip }, async () => {
  const dir = cache('stale-part');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${shaName}.part`), Buffer.alloc(5000, 7));
  const n0 = requests.length;
  const file = await fetchCheckpoint(`${base}/hashed/${shaName}`, { ...quiet, cacheDir: dir });
  assert.equal(fs.readFileSync(file).equals(body), true);
  assert.deepEqual(requests.slice(n0).map((r) => r.range), ['bytes=5000-', undefined]);
  assert.deepEqual(fs.readdirSync(dir), [shaName]);
});

// ---------------------------------------------------------------- truncation, retries, resume

test('truncated body: the retry resumes with Range and succeeds', { skip }, async () => {
  const dir = cache('flaky');
  flakyCalls = 0;
  const lines: string[] = [];
  const n0 = requests.length;
  const file = await fetchCheckpoint(`${base}/flaky/${shaName}`, { ...quiet, cacheDir: dir, log: (l) => lines.push(l) });
  assert.equal(fs.readFileSync(file).equals(body), true);
  // The resume starts where the .part ends: at most the third the server sent (the client may
  // lose what it held unread when the connection dropped), and not at zero.
  const ranges = requests.slice(n0).map((r) => r.range);
  assert.equal(ranges.length, 2);
  assert.equal(ranges[0], undefined);
  const from = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
  assert.ok(from > 0 && from <= Math.floor(body.length / 3), `resumed at ${ranges[1]}`);
  assert.ok(lines.some((l) => /attempt 1\/4 failed/.test(l)), lines.join('\n'));
  assert.deepEqual(fs.readdirSync(dir), [shaName]);
});

test('a body that is always truncated: clear error, no final file (the .part stays for a later resume)', { skip }, async () => {
  const dir = cache('broken');
  const url = `${base}/broken/resnet18.pth`;
  const file = path.join(dir, 'resnet18.pth');
  const msg = await failure(() => fetchCheckpoint(url, { ...quiet, cacheDir: dir, attempts: 3 }));
  assert.match(msg, new RegExp(`^download ${escape(url)} → ${escape(file)}: (connection lost after |truncated body: )\\d+ (of|bytes).*\\(after 3 attempts\\)$`));
  assert.equal(fs.existsSync(file), false);
  assert.deepEqual(fs.readdirSync(dir), ['resnet18.pth.part']);
});

test('server down: one-line error naming the URL and the cache file', { skip }, async () => {
  const dir = cache('down');
  const url = `http://127.0.0.1:${deadPort}/models/resnet18.pth`;
  const msg = await failure(() => fetchCheckpoint(url, { ...quiet, cacheDir: dir, attempts: 2 }));
  assert.match(msg, new RegExp(`^download ${escape(url)} → ${escape(path.join(dir, 'resnet18.pth'))}: .*ECONNREFUSED.*\\(after 2 attempts\\)$`));
  assert.deepEqual(fs.existsSync(dir) ? fs.readdirSync(dir) : [], []);
});

test('HTTP 404 is not retried; HTTP 500 is', { skip }, async () => {
  const dir = cache('http-errors');
  let n0 = requests.length;
  const url = `${base}/nothing/resnet18.pth`;
  const msg = await failure(() => fetchCheckpoint(url, { ...quiet, cacheDir: dir }));
  assert.equal(msg, `download ${url} → ${path.join(dir, 'resnet18.pth')}: HTTP 404 Not Found`);
  assert.equal(requests.length, n0 + 1);
  n0 = requests.length;
  const msg500 = await failure(() => fetchCheckpoint(`${base}/error500/resnet18.pth`, { ...quiet, cacheDir: dir, attempts: 3 }));
  assert.match(msg500, /: HTTP 500 Internal Server Error \(after 3 attempts\)$/);
  assert.equal(requests.length, n0 + 3);
  assert.deepEqual(fs.readdirSync(dir), []);
});

// ---------------------------------------------------------------- redirects and mirrors

test('redirects are followed', { skip }, async () => {
  const dir = cache('redirect');
  const file = await fetchCheckpoint(`${base}/redirect/resnet18.pth`, { ...quiet, cacheDir: dir });
  assert.equal(fs.readFileSync(file).equals(body), true);
});

test('TSVISION_MIRRORS: mirrors are tried in order before the original', { skip }, async () => {
  const dir = cache('mirrors');
  const url = `http://127.0.0.1:${deadPort}/models/${shaName}`;
  process.env.TSVISION_MIRRORS = `${base}/no-mirror/, ${base}/mirror`;
  try {
    const n0 = requests.length;
    const file = await fetchCheckpoint(url, { ...quiet, cacheDir: dir });
    assert.equal(fs.readFileSync(file).equals(body), true);
    assert.deepEqual(requests.slice(n0).map((r) => r.url), [`/no-mirror/${shaName}`, `/mirror/${shaName}`]);
    // All failing: one line with each source's reason.
    process.env.TSVISION_MIRRORS = `${base}/no-mirror`;
    const msg = await failure(() => fetchCheckpoint(url, { ...quiet, cacheDir: cache('mirrors-fail'), attempts: 1 }));
    assert.match(msg, new RegExp(`^download ${escape(url)} → .*: mirror ${escape(base)}/no-mirror/${shaName}: HTTP 404 Not Found; connect ECONNREFUSED`));
    process.env.TSVISION_MIRRORS = 'ftp://mirror.example.com/ckpt';
    assert.match(await failure(() => fetchCheckpoint(url, { ...quiet, cacheDir: cache('mirrors-bad') })), /mirror 'ftp:\/\/mirror\.example\.com\/ckpt' \(TSVISION_MIRRORS\) is not an http\(s\) base URL/);
  } finally {
    delete process.env.TSVISION_MIRRORS;
  }
});
