"""PyTorch side of bench/product.ts: the product's models and training loop, at PyTorch's best.

The models are src/nn's (same structure, names, widths and init as torchvision/this project):
  small-cnn    block{1,2,3} = conv3x3(no bias)-bn-relu[-maxpool2], widths 16/32/64, avgpool, fc
  resnet-tiny  small-input ResNet (3x3 stride-1 stem, no max-pool), BasicBlock [1,1,1,1], base 16
  resnet18     small-input ResNet, BasicBlock [2,2,2,2], base 32 (width 0.5)

The loop is src/train's: per step a shuffled batch of the real Fashion-MNIST training images with
the same augmentation (zero-pad by `--crop-padding`, random crop, random horizontal flip, then
(x/255 - mean)/std), forward, cross entropy, backward, SGD (momentum 0.9, weight decay 5e-4),
the loss and the number of correct predictions read back every step. The batch is built with
vectorised tensor ops (one gather per batch), the fastest data path PyTorch offers in-process.
Evaluation: batches of `--eval-batch` test images, `model.eval()` under `torch.inference_mode()`,
arg-max read back as numpy (what `predict` does).

Each memory format (NCHW, channels-last: model and every batch) is timed on a fresh model, and
the script prints one JSON line:
  {"nchw": {"train_ips": .., "infer_ips": ..}, "channels_last": {...}, "threads": 2, ...}

    /usr/bin/python3 bench/product.py --arch small-cnn --threads 2
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion(root, split):
    prefix = "train" if split == "train" else "t10k"

    def pick(base):
        gz = os.path.join(root, base + ".gz")
        return gz if os.path.exists(gz) else os.path.join(root, base)

    x = read_idx(pick(f"{prefix}-images-idx3-ubyte"))
    y = read_idx(pick(f"{prefix}-labels-idx1-ubyte"))
    return torch.from_numpy(x.copy()).unsqueeze(1), torch.from_numpy(y.astype(np.int64))


def conv3x3(i, o, stride=1):
    return nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        out += identity
        return self.relu(out)


class SmallInputResNet(nn.Module):
    """torchvision's ResNet with the 3x3 stride-1 stem and no max-pool (src/nn's smallInput)."""

    def __init__(self, layers, base, in_channels, num_classes):
        super().__init__()
        self.inplanes = base
        self.conv1 = conv3x3(in_channels, base)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(base, layers[0], 1)
        self.layer2 = self._make_layer(base * 2, layers[1], 2)
        self.layer3 = self._make_layer(base * 4, layers[2], 2)
        self.layer4 = self._make_layer(base * 8, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(base * 8, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SmallCNN(nn.Module):
    def __init__(self, widths, in_channels, num_classes):
        super().__init__()
        c = in_channels
        for i, w in enumerate(widths):
            parts = [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            if i < len(widths) - 1:
                parts.append(nn.MaxPool2d(2))
            self.add_module(f"block{i + 1}", nn.Sequential(*parts))
            c = w
        self.nblocks = len(widths)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        for i in range(self.nblocks):
            x = getattr(self, f"block{i + 1}")(x)
        return self.fc(torch.flatten(self.pool(x), 1))


def make_model(arch, in_channels=1, num_classes=10):
    if arch == "small-cnn":
        return SmallCNN([16, 32, 64], in_channels, num_classes)
    if arch == "resnet-tiny":
        return SmallInputResNet([1, 1, 1, 1], 16, in_channels, num_classes)
    if arch == "resnet18":
        return SmallInputResNet([2, 2, 2, 2], 32, in_channels, num_classes)
    raise SystemExit(f"unknown --arch {arch}")


class Batches:
    """Shuffled, augmented, normalised batches built with a few vectorised tensor ops each."""

    def __init__(self, images, labels, mean, std, batch, pad, hflip, seed):
        self.images, self.labels, self.batch, self.pad, self.hflip = images, labels, batch, pad, hflip
        self.mean, self.std = mean, std
        self.h, self.w = images.shape[2], images.shape[3]
        self.padded = F.pad(images, (pad, pad, pad, pad)) if pad > 0 else images
        self.g = torch.Generator().manual_seed(seed)

    def epoch(self, augment=True, shuffle=True):
        n = self.images.shape[0]
        order = torch.randperm(n, generator=self.g) if shuffle else torch.arange(n)
        for k in range(0, n - self.batch + 1 if shuffle else n, self.batch):
            idx = order[k : k + self.batch]
            if augment and (self.pad > 0 or self.hflip):
                b = idx.shape[0]
                dy = torch.randint(0, 2 * self.pad + 1, (b, 1), generator=self.g)
                dx = torch.randint(0, 2 * self.pad + 1, (b, 1), generator=self.g)
                cols = torch.arange(self.w).expand(b, self.w)
                if self.hflip:
                    flip = torch.rand(b, 1, generator=self.g) < 0.5
                    cols = torch.where(flip, self.w - 1 - cols, cols)
                rows = dy + torch.arange(self.h)
                cols = dx + cols
                src = self.padded[idx]  # [b, c, H+2p, W+2p] uint8
                x = src[torch.arange(b)[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # [b, h, w, c]
                x = x.permute(0, 3, 1, 2)
            else:
                x = self.images[idx]
            x = (x.float() / 255 - self.mean) / self.std
            yield x, self.labels[idx]


def run_format(args, channels_last, train_data, test_data):
    torch.manual_seed(args.seed)
    model = make_model(args.arch)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)

    def train_steps(batches):
        model.train()
        loss_sum, correct, t0, c0 = 0.0, 0, time.perf_counter(), time.process_time()
        for x, y in batches:
            x = x.contiguous(memory_format=fmt)
            opt.zero_grad(set_to_none=True)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * y.shape[0]
            correct += int((logits.argmax(1) == y).sum().item())
        return time.perf_counter() - t0, time.process_time() - c0

    def eval_all(batches):
        model.eval()
        t0, c0 = time.perf_counter(), time.process_time()
        preds = []
        with torch.inference_mode():
            for x, _ in batches:
                preds.append(model(x.contiguous(memory_format=fmt)).argmax(1).numpy())
        np.concatenate(preds)
        return time.perf_counter() - t0, time.process_time() - c0

    tr, te = train_data, test_data
    train_steps(tr.epoch_subset(args.warmup))
    train_s, train_cpu = train_steps(tr.epoch_subset(args.steps))
    eval_all(te.ordered_subset(args.warmup))
    infer_s, infer_cpu = eval_all(te.ordered_subset(args.infer_steps))
    n_train, n_infer = args.batch * args.steps, args.eval_batch * args.infer_steps
    return {
        "train_ips": n_train / train_s,
        "infer_ips": n_infer / infer_s,
        "train_ips_cpu": n_train / train_cpu,
        "infer_ips_cpu": n_infer / infer_cpu,
    }


class Subsets:
    def __init__(self, batches):
        self.b = batches

    def epoch_subset(self, steps):
        it = self.b.epoch(augment=True, shuffle=True)
        for _ in range(steps):
            yield next(it)

    def ordered_subset(self, steps):
        it = self.b.epoch(augment=False, shuffle=False)
        for _ in range(steps):
            yield next(it)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=["small-cnn", "resnet-tiny", "resnet18"])
    ap.add_argument("--data", default=os.environ.get("BIAS_TRANSFER_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--eval-batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--infer-steps", type=int, default=10)
    ap.add_argument("--crop-padding", type=int, default=2)
    ap.add_argument("--hflip", type=int, default=1)
    ap.add_argument("--formats", default="nchw,channels_last")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    xtr, ytr = load_fashion(args.data, "train")
    xte, yte = load_fashion(args.data, "test")
    # The product normalises with the training set's channel statistics.
    flat = xtr.float().div_(255)
    mean, std = float(flat.mean()), float(flat.std(unbiased=False))
    del flat
    tr = Subsets(Batches(xtr, ytr, mean, std, args.batch, args.crop_padding, bool(args.hflip), args.seed))
    te = Subsets(Batches(xte, yte, mean, std, args.eval_batch, 0, False, args.seed))
    out = {}
    for f in args.formats.split(","):
        out[f] = run_format(args, f == "channels_last", tr, te)
    out.update({"threads": torch.get_num_threads(), "torch": torch.__version__, "arch": args.arch})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
