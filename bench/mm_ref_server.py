"""What the OpenMMLab reference servers (bench/seg_speed_ref.py, bench/pose_speed_ref.py) share: the
protocol on the real stdout, the command loop, the generated images and the timed training step.

Import this first and call take_stdout() before importing mmengine & co.: the protocol keeps the real
stdout; everything else printed (mmengine's logger, warnings) goes to stderr.
"""
import json
import os
import sys
import time
import traceback

_protocol = None


def take_stdout():
    """The protocol gets the real stdout; fd 1 and sys.stdout become stderr."""
    global _protocol
    _protocol = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def reply(obj):
    """One JSON line to the benchmark."""
    _protocol.write(json.dumps(obj) + '\n')
    _protocol.flush()


def fail(script, where, e):
    """The traceback and one clear line to stderr; the message to the benchmark, which stops."""
    traceback.print_exc(file=sys.stderr)
    msg = f'{where}{type(e).__name__}: {e}'
    print(f'{script}: {msg}', file=sys.stderr, flush=True)
    reply({'error': msg})


def serve(script, commands, done):
    """Answers each JSON command line on stdin with commands[cmd](c)'s reply; 'done' replies done() and returns.
    A failing command is answered {"error": ...} (see fail) and the loop goes on."""
    for line in sys.stdin:
        try:
            c = json.loads(line)
            if c['cmd'] == 'done':
                reply(done())
                break
            if c['cmd'] not in commands:
                raise ValueError(f'unknown command {c["cmd"]!r} ({", ".join(commands)}, done)')
            reply(commands[c['cmd']](c))
        except Exception as e:  # noqa: BLE001 - reported to the benchmark, which stops
            fail(script, f'{line.strip()[:80]}: ', e)


def smooth(gen, n, h, w):
    """n smooth random uint8 RGB images [n, 3, h, w]: a coarse grid of colours upsampled, plus noise."""
    import torch
    grid = torch.rand(n, 3, 6, 8, generator=gen) * 255
    img = torch.nn.functional.interpolate(grid, size=(h, w), mode='bilinear', align_corners=False)
    return (img + torch.randn(img.shape, generator=gen) * 4).round().clamp(0, 255).to(torch.uint8)


def train_step(model, opt, batch):
    """Seconds of one training step of an OpenMMLab model, BN in train mode: data preprocessor,
    model.loss, parse_losses, zero_grad, backward, step."""
    model.train()
    t0 = time.perf_counter()
    data = model.data_preprocessor(batch, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    loss, _ = model.parse_losses(losses)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return time.perf_counter() - t0
