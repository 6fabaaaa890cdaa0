#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/seed-*)
and the libFuzzer dictionaries (fuzz/dict/<target>.dict).

Seeds are small hand-made inputs that reach each check of a parser (valid
files and each way of lying); the inputs libFuzzer found interesting during
the long runs are kept next to them (their names are SHA-1 sums). Run from
the repository root:  python3 fuzz/make-corpus.py
"""
import json
import os
import struct

ROOT = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(ROOT, "corpus")
DICT = os.path.join(ROOT, "dict")
MANIFEST = os.path.join(ROOT, "..", "tests", "data", "sam2.1_hiera_t.manifest.json")

DTYPES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I8": 1, "U8": 1,
          "I16": 2, "I32": 4, "I64": 8, "BOOL": 1}


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def st_raw(header, blob=b"", hlen=None):
    h = header if isinstance(header, bytes) else header.encode()
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + blob


def st(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape[, data]) laid out in order."""
    hdr, blob = {}, b""
    if metadata is not None:
        hdr["__metadata__"] = metadata
    for t in tensors:
        name, dt, shape = t[:3]
        n = 1
        for s in shape:
            n *= s
        data = t[3] if len(t) > 3 else bytes((i * 7) & 0xff for i in range(n * DTYPES[dt]))
        hdr[name] = {"dtype": dt, "shape": shape,
                     "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    h = json.dumps(hdr, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return st_raw(h, blob)


def safetensors_seeds():
    T = "safetensors"
    put(T, "valid-f32", st([("a", "F32", [2, 3])], {"format": "pt"}))
    put(T, "all-dtypes", st([("t_" + d, d, [3]) for d in DTYPES]))
    put(T, "scalar-and-empty", st([("s", "F32", []), ("e", "I8", [0, 4]),
                                   ("x", "U8", [5])]))
    put(T, "f16-specials", st([("h", "F16", [6], struct.pack(
        "<6H", 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x8000))]))
    put(T, "metadata-only", st([], {"format": "samseg-session", "version": "1"}))
    put(T, "empty-object", st_raw("{}"))
    put(T, "too-short", b"\x02\0\0\0")
    put(T, "huge-header-len", st_raw("{}", hlen=0xffffffffffffff00))
    put(T, "header-len-over-file", st_raw("{}", hlen=4096))
    put(T, "header-len-100MiB", st_raw("{}", hlen=100 * 1024 * 1024 + 1))
    put(T, "truncated-data", st([("a", "F32", [16])])[:-10])
    put(T, "offsets-reversed", st_raw(
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', b"\0" * 8))
    put(T, "offsets-negative", st_raw(
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', b"\0" * 8))
    put(T, "offsets-huge", st_raw(
        '{"a":{"dtype":"U8","shape":[1],"data_offsets":[9223372036854775806,'
        '9223372036854775807]}}', b"\0" * 8))
    put(T, "shape-size-mismatch", st_raw(
        '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', b"\0" * 8))
    put(T, "shape-overflow", st_raw(
        '{"a":{"dtype":"F64","shape":[1099511627776,1099511627776,16],'
        '"data_offsets":[0,0]}}'))
    put(T, "shape-negative", st_raw(
        '{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}'))
    put(T, "shape-float", st_raw(
        '{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}', b"\0"))
    put(T, "nine-dims", st_raw(
        '{"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}}',
        b"\0"))
    put(T, "unknown-dtype", st_raw(
        '{"a":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,2]}}', b"\0\0"))
    put(T, "overlap", st_raw(
        '{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},'
        '"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}', b"\0" * 8))
    # an empty tensor between two that overlap hides the overlap from a
    # check that only compares neighbours
    put(T, "overlap-behind-empty", st_raw(
        '{"a":{"dtype":"U8","shape":[16],"data_offsets":[0,16]},'
        '"b":{"dtype":"U8","shape":[0],"data_offsets":[4,4]},'
        '"c":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}', b"\0" * 16))
    put(T, "same-offsets", st_raw(
        '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
        '"b":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}', b"\0" * 4))
    put(T, "duplicate-names", st_raw(
        '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
        '"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}', b"\0" * 8))
    put(T, "metadata-not-object", st_raw('{"__metadata__":[1,2]}'))
    put(T, "metadata-mixed", st_raw(
        '{"__metadata__":{"a":"b","n":3,"o":{"x":1},"e":""}}'))
    put(T, "root-array", st_raw("[1,2,3]"))
    put(T, "not-json", st_raw("{\"a\":garbage}   "))
    put(T, "nul-in-header", st_raw(b'{"a\0":1}'))
    put(T, "deep-nesting", st_raw("[" * 3000 + "]" * 3000))
    put(T, "deep-nesting-object", st_raw('{"a":' * 1000 + "1" + "}" * 1000))
    put(T, "entry-missing-fields", st_raw('{"a":{"dtype":"F32"}}'))
    put(T, "entry-wrong-types", st_raw(
        '{"a":{"dtype":4,"shape":"x","data_offsets":{"0":1}}}'))
    put(T, "utf8-names", st([("\u00e9\u4e2d", "U8", [2]), ("", "U8", [1])]))


def model_seeds():
    T = "model-load"
    man = json.load(open(MANIFEST))
    shapes = dict((n, s) for n, s in man)
    pe = "image_encoder.trunk.patch_embed.proj.weight"
    blocks = lambda n: [("image_encoder.trunk.blocks.%d.norm1.weight" % i, "BF16",
                         [0]) for i in range(n)]
    put(T, "not-sam", st([("conv.weight", "F32", [4, 3, 1, 1])]))
    put(T, "patch-embed-3d", st([(pe, "F32", [96, 3, 0])]))
    # variant detection passes (tiny: 96 / 12 blocks, large: 144 / 48), the
    # manifest check then refuses the first missing / mis-shaped tensor
    put(T, "tiny-shapes-empty", st([(pe, "BF16", [96, 3, 7, 0])] + blocks(12)))
    put(T, "small-shapes-empty", st([(pe, "BF16", [96, 0, 7, 7])] + blocks(16)))
    put(T, "base-plus-empty", st([(pe, "F16", [112, 0, 7, 7])] + blocks(24)))
    put(T, "large-empty", st([(pe, "F32", [144, 0, 7, 7])] + blocks(48)))
    put(T, "unknown-variant", st([(pe, "F32", [100, 0, 7, 7])] + blocks(12)))
    # tiny with every tensor of <= 256 elements at its real shape (F16 and
    # BF16: the converting path), the big ones missing
    small = [(n, "F16" if i % 2 else "BF16", s) for i, (n, s) in enumerate(man)
             if eval("*".join(map(str, s)) or "1") <= 256]
    put(T, "tiny-small-tensors", st([(pe, "BF16", [96, 3, 7, 0])] + blocks(12)
                                    + [t for t in small if t[0] != pe and
                                       "norm1.weight" not in t[0]]))
    # a wrong dtype on a tensor with the right shape
    put(T, "tiny-int-dtype", st([(pe, "BF16", [96, 3, 7, 0])] + blocks(12) +
                                [(n, "I8", s) for n, s in man
                                 if s == [96] and "norm1.weight" not in n][:4]))
    # an unaligned F32 tensor (the copy path)
    put(T, "tiny-unaligned-f32", st([(pe, "BF16", [96, 3, 7, 0])] + blocks(12) +
                                    [("pad", "U8", [1])] +
                                    [(n, "F32", s) for n, s in man if s == [96]][:3]))
    with open(os.path.join(DICT, "model-load.dict"), "w") as f:
        for n, _ in man:
            f.write('"%s"\n' % n)
        for w in ["dtype", "shape", "data_offsets", "__metadata__"] + list(DTYPES):
            f.write('"\\"%s\\""\n' % w)
    _ = shapes


def prompt_seeds():
    T = "prompt-string"
    for i, s in enumerate([
            "1:+20,20", "1:-3.5,4e1", "1:10,10,50,40", "1:+1,1 1:-2,2;2:0,0,1,1",
            "7:+0.5,0.5;7:+1.5,1.5;7:1,2,3,4", "2147483647:+1,1",
            "1:+1e7,1e7", "1:+1e8,1", "1:+nan,1", "1:+inf,2", "0:+1,1",
            "1:5,5,1,1", "1:+3", "1:1,2", "1:1,2,3,4 1:1,2,3,4",
            "2147483648:+1,1", "1:+.5,1", "1:+1e,1", "1:+0x10,1", "  ;; ",
            "1:+1,1 #c", "1:+" + "9" * 70 + ",1",
            " ".join("1:+%d,%d" % (k, k) for k in range(65)),
            " ".join("%d:+1,1" % (k + 1) for k in range(257)),
            "1:+1,1\t2:-2,2\r\n3:1,1,2,2"]):
        put(T, "%02d" % i, s)
    T = "prompt-file"
    for i, s in enumerate([
            "0 1:+20,20\n5 1:-3,3 2:1,1,9,9\n", "# comment\n\n12.5s 1:+1,1\n",
            "500ms 1:+1,1\n250us 2:+2,2\n10ns 3:+3,3\n1s 4:+4,4", "0\n",
            "0 1:+1,1 # trailing\n", "x 1:+1,1\n", "1.5 1:+1,1\n", "12h 1:+1,1\n",
            "4294967295 1:+1,1\n", "4294967296 1:+1,1\n", "1e400s 1:+1,1\n",
            ".s 1:+1,1\n", "0 1:+1,1\0\n", "0 1:+1,1\r\n1 1:+2,2\r\n",
            "0 1:+1,1\n" * 50, "3 1:+inf,1\n", "999999999999999999999s 1:+1,1\n",
            "0 1:+1,1", "\n\n\n", "0;1:+1,1"]):
        put(T, "%02d" % i, s)


# fuzz-prompt-event input format (see fuzz-prompt-event.c)
def ev_u32(v):
    return struct.pack(">I", v & 0xffffffff)


def ev_f(v):
    # small number: k < 0xc0, int16 / (k % 4 + 1)
    return bytes([0]) + struct.pack(">h", int(v))


def ev_raw_f(v):
    return bytes([0xc0]) + struct.pack(">d", v)


def event_seeds():
    T = "prompt-event"
    F_ID, F_PTS, F_LBL, F_RT, F_X0, F_Y0, F_X1, F_Y1, F_EXTRA = range(9)
    TY_INT, TY_UINT, TY_I64, TY_U64, TY_DBL, TY_FLT, TY_BOOL, TY_STR = range(8)
    TY_ARRAY, TY_LIST = 10, 11

    def arr_d(vals, raw=False):
        return bytes([TY_ARRAY, len(vals), 0]) + b"".join(
            ev_raw_f(v) if raw else ev_f(v) for v in vals)

    def arr_i(vals):
        return bytes([TY_ARRAY, len(vals), 1]) + bytes(v & 0xff for v in vals)

    def f(field, val):
        return bytes([field]) + val

    oid = f(F_ID, bytes([TY_UINT]) + ev_u32(3))
    rt = f(F_RT, bytes([TY_U64]) + struct.pack(">Q", 40000000))
    put(T, "points", b"\0\0" + oid + f(F_PTS, arr_d([10, 20, 30, 40])) +
        f(F_LBL, arr_i([1, 0])) + rt)
    put(T, "points-upstream", b"\1\0" + oid + f(F_PTS, arr_d([1, 2])) +
        f(F_LBL, arr_i([1])))
    put(T, "points-nan", b"\0\0" + oid + f(F_PTS, arr_d([float("nan"), 2],
                                                       True)) + f(F_LBL, arr_i([1])))
    put(T, "points-65", b"\0\0" + oid + f(F_PTS, arr_d(list(range(130)))) +
        f(F_LBL, arr_i([1] * 65)))
    put(T, "points-mismatch", b"\0\0" + oid + f(F_PTS, arr_d([1, 2, 3])) +
        f(F_LBL, arr_i([1, 1])))
    put(T, "box", b"\0\1" + oid + b"".join(
        f(k, bytes([TY_DBL]) + ev_f(v)) for k, v in
        [(F_X0, 1), (F_Y0, 2), (F_X1, 30), (F_Y1, 40)]) + rt)
    put(T, "box-inf", b"\0\1" + oid + b"".join(
        f(k, bytes([TY_DBL]) + ev_raw_f(v)) for k, v in
        [(F_X0, 1), (F_Y0, float("inf")), (F_X1, 30), (F_Y1, 40)]))
    put(T, "box-int-fields", b"\0\1" + f(F_ID, bytes([TY_INT]) + ev_u32(1)) +
        b"".join(f(k, bytes([TY_INT]) + ev_u32(v)) for k, v in
                 [(F_X0, 1), (F_Y0, 2), (F_X1, 3), (F_Y1, 4)]))
    put(T, "remove", b"\0\2" + oid + rt)
    put(T, "remove-id0", b"\0\2" + f(F_ID, bytes([TY_UINT]) + ev_u32(0)))
    put(T, "reset", b"\0\3" + rt)
    put(T, "reset-negative-rt", b"\0\3" + f(F_RT, bytes([TY_I64]) +
                                           struct.pack(">q", -5)))
    put(T, "other", b"\0\4" + oid)
    put(T, "string-points", b"\0\xff" + b"samseg-add-points, object-id=(uint)1, "
        b"points=<(double)1.5, (double)2.5>, labels=<(int)1>, "
        b"running-time=(guint64)0;")
    put(T, "string-box", b"\0\xff" + b"samseg-add-box, object-id=(int)2, "
        b"x0=(double)1, y0=(float)2, x1=(uint)5, y1=(double)6e0;")
    put(T, "string-bad", b"\0\xff" + b"samseg-add-points, object-id=(string)x, "
        b"points={ (double)1, (double)2 }, labels=<(boolean)true>;")


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def quant_seeds():
    T = "quant"
    W = "image_encoder.trunk.blocks.0.attn.qkv"
    A = "image_encoder.trunk.blocks.0.attn"
    i8 = bytes([1, 255, 3, 4, 5, 250, 7, 8, 9, 10, 11, 12])  # [4, 3]
    meta = {"samseg.quant": '{"method":"ptq4sam","bits":8}'}
    base = [(W + ".weight", "I8", [4, 3], i8), (W + ".weight#scale", "F32", [4],
            f32(0.1, 0.2, 0.3, 0.4)), (W + ".bias", "F32", [4], f32(0, 1, 2, 3))]
    put(T, "uniform", st(base + [(W + ".input#qparams", "F32", [3],
                                  f32(0.05, 128, 8))], meta))
    put(T, "per-channel", st(base + [
        (W + ".input#scale", "F32", [3], f32(0.1, 0.2, 0.3)),
        (W + ".input#zero", "F32", [3], f32(1, 2, 3)),
        (W + ".input#bits", "F32", [1], f32(8))]))
    put(T, "per-channel-huge-bits", st(base + [
        (W + ".input#scale", "F32", [3], f32(0.1, 0.2, 0.3)),
        (W + ".input#zero", "F32", [3], f32(1, 2, 3)),
        (W + ".input#bits", "F32", [1], f32(1e9))]))
    put(T, "hluq", st(base + [(W + ".input#hluq", "F32", [5],
                               f32(0.5, 4.0, 1.0, 0.1, 6))]))
    put(T, "qparams-nan-bits", st(base + [(W + ".input#qparams", "F32", [3],
                                           f32(0.05, 1, float("nan")))]))
    put(T, "two-act-quantizers", st(base + [
        (W + ".input#qparams", "F32", [3], f32(0.05, 1, 8)),
        (W + ".input#hluq", "F32", [5], f32(0.5, 4.0, 1.0, 0.1, 6))]))
    put(T, "minus-128", st([(W + ".weight", "I8", [2, 2], bytes([128, 1, 2, 3])),
                            (W + ".weight#scale", "F32", [2], f32(1, 1)),
                            (W + ".input#qparams", "F32", [3], f32(1, 0, 8))]))
    put(T, "att-agq", st(base + [(W + ".input#qparams", "F32", [3], f32(0.05, 1, 8)),
                                 (A + "#agq", "F32", [3], f32(0.5, 2, 4))]))
    put(T, "att-lnq", st(base + [(W + ".input#qparams", "F32", [3], f32(0.05, 1, 8)),
                                 (A + "#lnq", "F32", [3], f32(0.5, 1.5, 4))]))
    put(T, "att-drq-qkv", st(base + [(W + ".input#qparams", "F32", [3], f32(0.05, 1, 8)),
                                     (A + "#drq", "F32", [2], f32(0.01, 4)),
                                     (A + "#qkv", "F32", [7], f32(0.1, 0, 0.1, 0, 0.1, 0, 8))]))
    put(T, "att-agq-nan-tau", st(base + [(W + ".input#qparams", "F32", [3], f32(0.05, 1, 8)),
                                         (A + "#agq", "F32", [3], f32(0.5, float("nan"), 4))]))
    put(T, "att-not-attention", st([("x#agq", "F32", [3], f32(0.5, 2, 4))]))
    put(T, "orphan-side", st([(W + ".input#zero", "F32", [3], f32(1, 2, 3))]))
    put(T, "scalar-i8", st([(W + ".weight", "I8", [], b"\x01"),
                            (W + ".weight#scale", "F32", [1], f32(1))]))


if __name__ == "__main__":
    os.makedirs(DICT, exist_ok=True)
    safetensors_seeds()
    model_seeds()
    prompt_seeds()
    event_seeds()
    quant_seeds()
    with open(os.path.join(DICT, "safetensors.dict"), "w") as f:
        for w in ["dtype", "shape", "data_offsets", "__metadata__"] + list(DTYPES):
            f.write('"\\"%s\\""\n' % w)
        f.write('"{"\n"}"\n"["\n"]"\n":"\n","\n"-1"\n"9223372036854775807"\n')
    with open(os.path.join(DICT, "prompt-string.dict"), "w") as f:
        f.write('":+"\n":-"\n","\n";"\n"e+"\n"e-"\n"2147483647"\n"#"\n')
    with open(os.path.join(DICT, "prompt-file.dict"), "w") as f:
        f.write('":+"\n":-"\n","\n"ms"\n"us"\n"ns"\n"s "\n"\\x0a"\n"#"\n'
                '"4294967295"\n')
