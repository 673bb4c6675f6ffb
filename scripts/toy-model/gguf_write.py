"""Minimal GGUF v3 writer (struct + numpy): metadata key/values and F32/F16 tensors.

The pruned vendored llama.cpp carries no gguf-py, and a writer this small is easier to audit
than a copy. Layout per ggml/include/gguf.h: header, key/values, tensor infos, padding to the
alignment, tensor data (each tensor's offset aligned).
"""

import struct

import numpy as np

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGNMENT = 32

# gguf_type
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
# ggml_type
GGML_F32, GGML_F16 = 0, 1

_SCALAR = {UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i",
           FLOAT32: "<f", BOOL: "<?", UINT64: "<Q", INT64: "<q", FLOAT64: "<d"}


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(vtype, value):
    if vtype == STRING:
        return _str(value)
    return struct.pack(_SCALAR[vtype], value)


class GGUFWriter:
    def __init__(self):
        self.kv = []  # (key, type, value, elem_type)
        self.tensors = []  # (name, ndarray, ggml_type)

    def add(self, key, vtype, value):
        self.kv.append((key, vtype, value, None))

    def add_array(self, key, elem_type, values):
        self.kv.append((key, ARRAY, list(values), elem_type))

    def add_tensor(self, name, array, ggml_type=GGML_F32):
        """`array` in numpy (row-major) order; GGUF stores the dimensions reversed (ne0 = last axis)."""
        dtype = np.float32 if ggml_type == GGML_F32 else np.float16
        self.tensors.append((name, np.ascontiguousarray(array, dtype=dtype), ggml_type))

    def write(self, path):
        out = bytearray()
        out += GGUF_MAGIC + struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kv))
        for key, vtype, value, elem in self.kv:
            out += _str(key) + struct.pack("<I", vtype)
            if vtype == ARRAY:
                out += struct.pack("<IQ", elem, len(value))
                if elem in (FLOAT32, INT32, UINT32) and len(value) > 0:
                    out += np.asarray(value, dtype={FLOAT32: "<f4", INT32: "<i4", UINT32: "<u4"}[elem]).tobytes()
                else:
                    for v in value:
                        out += _value(elem, v)
            else:
                out += _value(vtype, value)
        offset = 0
        offsets = []
        for name, arr, gtype in self.tensors:
            offsets.append(offset)
            out += _str(name) + struct.pack("<I", arr.ndim)
            out += b"".join(struct.pack("<Q", d) for d in reversed(arr.shape))
            out += struct.pack("<IQ", gtype, offset)
            offset += (arr.nbytes + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
        out += b"\0" * (-len(out) % ALIGNMENT)
        for (name, arr, _), off in zip(self.tensors, offsets):
            data = arr.tobytes()
            out += data + b"\0" * (-len(data) % ALIGNMENT)
        with open(path, "wb") as f:
            f.write(out)
        return len(out)
