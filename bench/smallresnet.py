"""The small ResNet of bench/smallresnet.ts as a PyTorch nn.Module, and its speed benchmark.

Same architecture and state_dict names as the TypeScript version (torchvision BasicBlock naming):
conv3x3(in->16)-bn-relu, one BasicBlock per stage with widths 16/32/64 and strides 1/2/2,
adaptive average pool, linear to 10 classes.

As a script it times training (SGD, momentum 0.9, weight decay 5e-4, cross entropy) and
evaluation (model.eval() under torch.no_grad()) in PyTorch's default settings (NCHW, eager) and
prints one JSON line:  {"train_ips": ..., "infer_ips": ..., ...}  (images per second).

    /usr/bin/python3 bench/smallresnet.py --channels 3 --size 32 --batch 128 --threads 2
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, in_c, out_c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, out_c, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_c)
        self.conv2 = nn.Conv2d(out_c, out_c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_c)
        self.downsample = None
        if stride != 1 or in_c != out_c:
            self.downsample = nn.Sequential(nn.Conv2d(in_c, out_c, 1, stride=stride, bias=False), nn.BatchNorm2d(out_c))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class SmallResNet(nn.Module):
    def __init__(self, in_channels, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(BasicBlock(16, 16, 1))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return self.fc(torch.flatten(self.avgpool(h), 1))


def bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = SmallResNet(args.channels)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(args.batch, args.channels, args.size, args.size)
    y = torch.randint(0, 10, (args.batch,))

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    model.train()
    for _ in range(args.warmup):
        train_step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = train_step()
    float(loss)
    train_s = time.perf_counter() - t0

    model.eval()
    with torch.no_grad():
        for _ in range(args.warmup):
            model(x)
        t0 = time.perf_counter()
        for _ in range(args.infer_steps):
            out = model(x)
        float(out.sum())
        infer_s = time.perf_counter() - t0

    n = args.batch
    print(json.dumps({
        "train_ips": n * args.steps / train_s,
        "infer_ips": n * args.infer_steps / infer_s,
        "train_s": train_s,
        "infer_s": infer_s,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--infer-steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    bench(ap.parse_args())
