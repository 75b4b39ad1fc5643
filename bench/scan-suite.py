#!/usr/bin/env python3
"""Trains the scan suite's "plain PyTorch" models (bench/scan-suite.ts, recipe P) and writes them as
safetensors the tool loads (`loadModelFromFile`: torchvision-style key names, the `model_spec`,
`format` and `normalisation` metadata).

Usage: /usr/bin/python3 bench/scan-suite.py JOBS.json

JOBS.json is a list of jobs written by bench/scan-suite.ts:
  {"data": "<file>.bin", "arch": "small-cnn"|"resnet-tiny", "numClasses": 5, "seed": 7,
   "epochs": 4, "lr": 0.001, "weightDecay": 0.0001, "batchSize": 64, "pad": 2,
   "mean": [..], "std": [..], "out": "<file>.safetensors", "meta": {...}}
`data` holds the (already poisoned) training set, written by the TypeScript side so that the
attack is byte-identical to the tool's: an 16-byte header (uint32 LE n, c, h, w), then n*c*h*w
uint8 pixels, then n int32 LE labels.

The recipe differs from the tool's on purpose (issue 18: references rarely share the suspect's
recipe): Adam instead of SGD with momentum, a constant learning rate with no warm-up, decoupled
weight decay (AdamW), random-crop augmentation (pad then crop back), PyTorch's default
initialisation and another data subset (chosen by the caller). Only torch is needed; the
safetensors file is written by hand (the format is an 8-byte header length, a JSON header, raw
little-endian bytes), as scripts/pth_to_safetensors.py does.
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCNN(nn.Module):
    """The tool's small-cnn: conv3x3(no bias)-BN-ReLU blocks, 2x2 max-pool after all but the last."""

    def __init__(self, in_c, num_classes, widths=(16, 32, 64)):
        super().__init__()
        c = in_c
        for i, w in enumerate(widths):
            parts = [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            if i < len(widths) - 1:
                parts.append(nn.MaxPool2d(2))
            setattr(self, f'block{i + 1}', nn.Sequential(*parts))
            c = w
        self.n = len(widths)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        for i in range(self.n):
            x = getattr(self, f'block{i + 1}')(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class BasicBlock(nn.Module):
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inp != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNetTiny(nn.Module):
    """The tool's resnet-tiny: torchvision's stem (7x7 stride 2, max-pool 3/2), one block per stage, width 16."""

    def __init__(self, in_c, num_classes, base=16):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, base, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        inp = base
        for i, (planes, stride) in enumerate([(base, 1), (base * 2, 2), (base * 4, 2), (base * 8, 2)]):
            setattr(self, f'layer{i + 1}', nn.Sequential(BasicBlock(inp, planes, stride)))
            inp = planes
        self.fc = nn.Linear(inp, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for i in range(4):
            x = getattr(self, f'layer{i + 1}')(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


DTYPES = {torch.float32: 'F32', torch.int64: 'I64'}


def save_safetensors(path, sd, meta):
    header, chunks, off = {'__metadata__': meta}, [], 0
    for k in sorted(sd):
        t = sd[k].detach().contiguous().cpu()
        b = t.numpy().tobytes()
        header[k] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in chunks:
            f.write(b)
    os.replace(tmp, path)


def load_data(path):
    with open(path, 'rb') as f:
        raw = f.read()
    n, c, h, w = struct.unpack('<4I', raw[:16])
    px = torch.frombuffer(bytearray(raw[16:16 + n * c * h * w]), dtype=torch.uint8).reshape(n, c, h, w)
    labels = torch.frombuffer(bytearray(raw[16 + n * c * h * w:]), dtype=torch.int32).long()
    if labels.numel() != n:
        sys.exit(f'{path}: {labels.numel()} labels for {n} images')
    return px, labels


def train(job):
    torch.manual_seed(job['seed'])
    px, labels = load_data(job['data'])
    n, c, h, w = px.shape
    mean = torch.tensor(job['mean']).view(1, c, 1, 1)
    std = torch.tensor(job['std']).view(1, c, 1, 1)
    x = (px.float() / 255 - mean) / std
    k = job['numClasses']
    model = SmallCNN(c, k) if job['arch'] == 'small-cnn' else ResNetTiny(c, k)
    opt = torch.optim.AdamW(model.parameters(), lr=job['lr'], weight_decay=job['weightDecay'])
    pad = job['pad']
    g = torch.Generator().manual_seed(job['seed'])
    model.train()
    for _ in range(job['epochs']):
        perm = torch.randperm(n, generator=g)
        for s in range(0, n, job['batchSize']):
            idx = perm[s:s + job['batchSize']]
            xb = x[idx]
            if pad > 0:
                xb = F.pad(xb, (pad, pad, pad, pad), value=float(((0 - mean) / std).flatten()[0]))
                dx, dy = torch.randint(0, 2 * pad + 1, (2,), generator=g).tolist()
                xb = xb[:, :, dy:dy + h, dx:dx + w]
            loss = F.cross_entropy(model(xb), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x).argmax(1) == labels).float().mean().item()
    spec = {'arch': job['arch'], 'numClasses': k, 'inChannels': c}
    meta = {**job.get('meta', {}), 'model_spec': json.dumps(spec), 'format': 'bias-transfer/model@1',
            'normalisation': json.dumps({'mean': job['mean'], 'std': job['std']}), 'train_accuracy': f'{acc:.4f}'}
    save_safetensors(job['out'], model.state_dict(), meta)
    return acc


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    torch.set_num_threads(int(os.environ.get('SUITE_THREADS', '1')))
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    for job in jobs:
        if os.path.exists(job['out']):
            continue
        acc = train(job)
        print(f"trained {job['out']} (train accuracy {acc:.3f})", flush=True)


if __name__ == '__main__':
    main()
