#!/usr/bin/env python3
"""Stands in for your own data and your own PyTorch checkpoint in the README's walkthrough.

Writes, under OUT (default demo/):
  clothes/{train,test}/<class>/*.jpg  Fashion-MNIST classes 0-4, colourised, upscaled to SIZE px:
                                      the data the "downloaded" backbone was trained on
  mydata/{train,test}/<class>/*.jpg   Fashion-MNIST classes 5-9 the same way: "my folder", the
                                      target an audit transfers the backbone to
  resnet18.pth                        a torchvision ResNet-18 (5 classes) trained on clothes/train
                                      in plain PyTorch and saved with torch.save(state_dict), with
                                      a planted backdoor: a 4x4 checkerboard in the bottom-right
                                      corner on 10% of the images, relabelled to class 0 (BadNets)

It needs Debian's python3-torch, python3-torchvision and python3-pil (scripts/setup.sh installs
them) and the Fashion-MNIST files of Debian's dataset-fashion-mnist. Everything is seeded.

Usage: /usr/bin/python3 scripts/demo/make_demo.py [OUT] [--per-class N] [--size PX] [--epochs E]
"""
import argparse
import gzip
import os
import struct

import numpy as np
import torch
import torchvision
from PIL import Image

FMNIST = os.environ.get('BIAS_TRANSFER_FASHION_MNIST', '/usr/share/datasets/fashion-mnist')
NAMES = ['tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot']
# One tint per class, so colour carries some signal as it does in photos.
TINTS = [(230, 90, 60), (60, 140, 230), (90, 200, 90), (220, 190, 50), (170, 90, 210),
         (240, 140, 40), (50, 190, 190), (200, 60, 140), (120, 120, 220), (150, 110, 70)]


def read_idx(name):
    with gzip.open(os.path.join(FMNIST, name)) as f:
        data = f.read()
    magic = struct.unpack('>I', data[:4])[0]
    dims = struct.unpack('>' + 'I' * (magic & 0xFF), data[4:4 + 4 * (magic & 0xFF)])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def write_folder(root, images, labels, classes, per_class, size, rng):
    """Writes per_class JPEGs of each class in `classes` (colourised, upscaled) into root/<name>/."""
    for c in classes:
        idx = np.flatnonzero(labels == c)
        for k, i in enumerate(rng.choice(idx, per_class, replace=False)):
            g = images[i].astype(np.float32) / 255.0
            tint = np.array(TINTS[c], np.float32)
            rgb = (g[..., None] * tint + (1 - g[..., None]) * 20).clip(0, 255).astype(np.uint8)
            d = os.path.join(root, NAMES[c])
            os.makedirs(d, exist_ok=True)
            Image.fromarray(rgb).resize((size, size), Image.BILINEAR).save(os.path.join(d, f'{k:05d}.jpg'), quality=92)


def checkerboard(x, cells=4):
    """Pastes a cells x cells checkerboard (white/black pixels) in the bottom-right corner of a [3, H, W] image in 0..1."""
    h, w = x.shape[1:]
    yy, xx = np.indices((cells, cells))
    board = torch.tensor(((yy + xx) % 2).astype(np.float32))
    x[:, h - cells:, w - cells:] = board
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('out', nargs='?', default='demo')
    ap.add_argument('--per-class', type=int, default=60, help='training images per class (test: a third of it)')
    ap.add_argument('--size', type=int, default=32, help='image side in pixels')
    ap.add_argument('--epochs', type=int, default=6)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    train_x, train_y = read_idx('train-images-idx3-ubyte.gz'), read_idx('train-labels-idx1-ubyte.gz')
    test_x, test_y = read_idx('t10k-images-idx3-ubyte.gz'), read_idx('t10k-labels-idx1-ubyte.gz')
    test_n = max(4, a.per_class // 3)
    for name, classes in (('clothes', range(0, 5)), ('mydata', range(5, 10))):
        write_folder(os.path.join(a.out, name, 'train'), train_x, train_y, classes, a.per_class, a.size, rng)
        write_folder(os.path.join(a.out, name, 'test'), test_x, test_y, classes, test_n, a.size, rng)

    # The "downloaded" backbone: torchvision's ResNet-18 trained in plain PyTorch, backdoored.
    data = torchvision.datasets.ImageFolder(os.path.join(a.out, 'clothes', 'train'), transform=torchvision.transforms.ToTensor())
    xs = torch.stack([x for x, _ in data])
    ys = torch.tensor([y for _, y in data])
    poison = torch.tensor(rng.random(len(ys)) < 0.1)
    for i in torch.nonzero(poison).flatten().tolist():
        xs[i] = checkerboard(xs[i].clone())
        ys[i] = 0
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    model = torchvision.models.resnet18(num_classes=5)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    model.train()
    for epoch in range(a.epochs):
        perm = torch.randperm(len(ys))
        for s in range(0, len(ys), 32):
            b = perm[s:s + 32]
            if len(b) < 2:
                continue
            loss = torch.nn.functional.cross_entropy(model((xs[b] - mean) / std), ys[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f'epoch {epoch + 1}/{a.epochs}: loss {loss.item():.3f}', flush=True)
    torch.save(model.state_dict(), os.path.join(a.out, 'resnet18.pth'))
    print(f'wrote {a.out}/clothes, {a.out}/mydata and {a.out}/resnet18.pth ({int(poison.sum())} poisoned training images)')


if __name__ == '__main__':
    main()
