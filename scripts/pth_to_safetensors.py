#!/usr/bin/env python3
"""Converts a PyTorch checkpoint (torch.save: .pt/.pth, zip or legacy pickle) into safetensors.

Usage: python3 scripts/pth_to_safetensors.py IN.pth OUT.safetensors

Loads with weights_only=True (tensors and plain containers only, so a file that would run code
fails instead), unwraps {'state_dict': ...} and {'model': ...} wrappers, and writes the format by
hand (an 8-byte little-endian header length, a JSON header, the raw little-endian bytes), so it
needs torch alone, not the `safetensors` pip package. Keys keep their names (a DataParallel
`module.` prefix included: `model import --strip-prefix module.` removes it).
"""
import json
import struct
import sys

import torch

DTYPES = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64',
          torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sd = torch.load(sys.argv[1], map_location='cpu', weights_only=True)
    if isinstance(sd, dict):
        sd = sd.get('state_dict', sd.get('model', sd))
    tensors = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    header, chunks, off = {}, [], 0
    for k in sorted(tensors):
        t = tensors[k].detach().contiguous()
        if t.dtype not in DTYPES:
            sys.exit(f'{sys.argv[1]}: tensor {k} has dtype {t.dtype}, which safetensors here does not take')
        b = t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[k] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(sys.argv[2], 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in chunks:
            f.write(b)
    print(f'wrote {sys.argv[2]}: {len(tensors)} tensors')


if __name__ == '__main__':
    main()
