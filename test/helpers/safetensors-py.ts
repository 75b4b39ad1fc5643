/**
 * Python source that reads and writes safetensors files with torch + numpy only (the python
 * `safetensors` package is not installed next to Debian's torch). Prepend it to a parity script:
 * it defines `st_save(tensors: dict, path, metadata=None)` and `st_load(path) -> dict`.
 */
export const PY_SAFETENSORS = String.raw`
import json as _json, struct as _struct
import numpy as _np, torch as _torch
_ST_DT = {_torch.float32: 'F32', _torch.float64: 'F64', _torch.float16: 'F16', _torch.int64: 'I64', _torch.int32: 'I32',
          _torch.int16: 'I16', _torch.int8: 'I8', _torch.uint8: 'U8', _torch.bool: 'BOOL'}
_ST_NP = {'F32': _np.float32, 'F64': _np.float64, 'F16': _np.float16, 'I64': _np.int64, 'I32': _np.int32,
          'I16': _np.int16, 'I8': _np.int8, 'U8': _np.uint8, 'BOOL': _np.bool_}
def st_save(tensors, path, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        b = t.numpy().tobytes()
        header[k] = {'dtype': _ST_DT[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = _json.dumps(header).encode('utf-8')
    h += b' ' * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(_struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
def st_load(path):
    data = open(path, 'rb').read()
    n = _struct.unpack('<Q', data[:8])[0]
    header = _json.loads(data[8:8 + n])
    base, out = 8 + n, {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        arr = _np.frombuffer(data[base + a:base + b], dtype=_ST_NP[v['dtype']]).reshape(v['shape'])
        out[k] = _torch.from_numpy(arr.copy())
    return out
`;
