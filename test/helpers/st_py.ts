/**
 * A tiny safetensors reader/writer in Python (json + struct + torch.frombuffer), for parity tests:
 * Debian's python3-torch has no `safetensors` package. Prepend `ST_PY` to a test's Python source,
 * then call `st_load(path) -> (dict[str, Tensor], metadata: dict)` and
 * `st_save(path, tensors: dict[str, Tensor], metadata: dict | None = None)`.
 *
 * @example
 *   runPython(ST_PY + "t, _ = st_load(sys.argv[1]); st_save(sys.argv[2], {'y': t['x'] * 2})", [a, b]);
 */
export const ST_PY = String.raw`
import json, struct, sys
import torch

_ST_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}

def st_load(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        dt = _ST_DTYPES[e["dtype"]]
        raw = bytearray(buf[base + a: base + b])
        t = torch.frombuffer(raw, dtype=dt) if len(raw) > 0 else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out, meta

def st_save(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() > 0 else b""
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        chunks.append(data)
        off += len(data)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)
`;
