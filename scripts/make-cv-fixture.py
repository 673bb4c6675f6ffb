#!/usr/bin/env python3
"""Writes the control-vector fixtures in test/fixtures/ with nothing but `struct`, byte for byte
the layout that llama.cpp's cvector-generator (gguf.cpp) and repeng's export_gguf (gguf-py's
GGUFWriter) produce. It shares no code with lib/vector/, so the tests that load these files check
our reader against an independent writer.

Values: direction.<il>[j] = ((il * 37 + j * 11) % 29 - 14) / 8, exact in float32; element 0 of
the lowest block is -0.0 so that the sign bit is checked too.

Run from the repository root: python3 scripts/make-cv-fixture.py
"""
import os
import struct

ALIGN = 32
GGUF_STRING, GGUF_INT32, GGUF_UINT32, GGML_F32 = 8, 5, 4, 0


def value(il, j):
    return ((il * 37 + j * 11) % 29 - 14) / 8.0


def gstr(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def pad(buf):
    return buf + b"\x00" * ((-len(buf)) % ALIGN)


def gguf(version, kvs, blocks, n_embd):
    out = b"GGUF" + struct.pack("<IQQ", version, len(blocks), len(kvs))
    for key, typ, val in kvs:
        out += gstr(key) + struct.pack("<I", typ)
        if typ == GGUF_STRING:
            out += gstr(val)
        elif typ == GGUF_INT32:
            out += struct.pack("<i", val)
        elif typ == GGUF_UINT32:
            out += struct.pack("<I", val)
    offset = 0
    nbytes = 4 * n_embd
    for il in blocks:
        # one dimension (ne[0] = n_embd), type F32, offset into the data section
        out += gstr("direction.%d" % il) + struct.pack("<IQIQ", 1, n_embd, GGML_F32, offset)
        offset += nbytes + ((-nbytes) % ALIGN)
    out = pad(out)
    low = min(blocks)
    for il in blocks:
        data = [value(il, j) for j in range(n_embd)]
        if il == low:
            data[0] = -0.0
        out = pad(out + struct.pack("<%df" % n_embd, *data))
    return out


def cvector_generator(version):
    # export_gguf: general.architecture, model_hint, layer_count (INT32 = number of tensors);
    # tensors direction.1 .. direction.<n_layer-1>, in increasing order (block 0 never written).
    n_layer, n_embd = 6, 16
    blocks = list(range(1, n_layer))
    kvs = [("general.architecture", GGUF_STRING, "controlvector"),
           ("controlvector.model_hint", GGUF_STRING, "llama"),
           ("controlvector.layer_count", GGUF_INT32, len(blocks))]
    return gguf(version, kvs, blocks, n_embd)


def repeng():
    # GGUFWriter(path, "controlvector") adds general.architecture; then add_string(model_hint),
    # add_uint32(layer_count = len(directions)); tensors in dict order, which for the default
    # hidden_layers = range(-1, -num_hidden_layers, -1) is descending: n_layer-1 .. 1.
    n_layer, n_embd = 8, 8
    blocks = list(range(n_layer - 1, 0, -1))
    kvs = [("general.architecture", GGUF_STRING, "controlvector"),
           ("controlvector.model_hint", GGUF_STRING, "mistral"),
           ("controlvector.layer_count", GGUF_UINT32, len(blocks))]
    return gguf(3, kvs, blocks, n_embd)


def main():
    out_dir = os.path.join("test", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    files = {
        "cvector-generator.gguf": cvector_generator(3),
        "cvector-generator-v2.gguf": cvector_generator(2),
        "repeng.gguf": repeng(),
    }
    for name, data in files.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        print("wrote %s (%d bytes)" % (name, len(data)))


if __name__ == "__main__":
    main()
