#!/usr/bin/env python3
"""samseg-convert: turn an official SAM 2 / SAM 2.1 checkpoint into the
safetensors file samseg loads.

    python3 tools/samseg-convert.py sam2.1_hiera_tiny.pt -o sam2.1_hiera_tiny.safetensors
    python3 tools/samseg-convert.py sam2.1_hiera_tiny.pt --dtype bf16 -o tiny-bf16.safetensors

Input: the `.pt` files of the SAM 2 release (https://github.com/facebookresearch/sam2,
"Download Checkpoints"; the Hugging Face repos facebook/sam2.1-hiera-{tiny,small,
base-plus,large} host the same `.pt` files). They are a pickled dict whose
"model" entry is the state dict with the official key names
(image_encoder.trunk.blocks.0.attn.qkv.weight, ...), which samseg uses verbatim,
so conversion is a change of container only: no renaming, no transposes.

Checkpoints in the Hugging Face *transformers* layout (Sam2Model, keys such as
vision_encoder.backbone.*) use other names; they are refused with a message
rather than guessed at.

Needs PyTorch (to unpickle the checkpoint) on the machine that converts; the
output is written by this script directly (the safetensors format is an
8-byte header length, a JSON header, then raw little-endian data), so the
`safetensors` package is not required. samseg itself never needs Python.
"""
import argparse
import json
import struct
import sys

DTYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16"}


def load_state_dict(path):
    try:
        import torch
    except ImportError:
        sys.exit("samseg-convert: PyTorch is needed to read .pt checkpoints "
                 "(pip install torch)")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    sd = ckpt["model"] if isinstance(ckpt, dict) and "model" in ckpt else ckpt
    if not isinstance(sd, dict):
        sys.exit("samseg-convert: %s holds no state dict" % path)
    return sd


def check_names(sd):
    if "image_encoder.trunk.patch_embed.proj.weight" in sd:
        return
    if any(k.startswith("vision_encoder.") for k in sd):
        sys.exit("samseg-convert: this is a Hugging Face transformers "
                 "checkpoint (vision_encoder.*); use the official .pt from "
                 "the same repository instead")
    sys.exit("samseg-convert: not a SAM 2 checkpoint (no "
             "image_encoder.trunk.patch_embed.proj.weight)")


def tensor_bytes(t, dtype):
    import torch
    target = {"F32": torch.float32, "F16": torch.float16,
              "BF16": torch.bfloat16}[dtype]
    t = t.detach().to("cpu").contiguous()
    if not t.is_floating_point():
        sys.exit("samseg-convert: unexpected non-float tensor")
    t = t.to(target)
    if dtype == "BF16":
        # numpy has no bfloat16: reinterpret the 16-bit pattern
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="f32",
                    help="storage precision (default f32; bf16 halves the file)")
    args = ap.parse_args()
    sd = load_state_dict(args.checkpoint)
    check_names(sd)
    dtype = DTYPES[args.dtype]
    header, blobs, off = {}, [], 0
    for name in sorted(sd):
        data = tensor_bytes(sd[name], dtype)
        header[name] = {"dtype": dtype, "shape": list(sd[name].shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"samseg": json.dumps(
        {"converted_from": args.checkpoint.split("/")[-1]})}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(args.output, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print("samseg-convert: wrote %d tensors (%s, %.1f MB) to %s"
          % (len(blobs), dtype, off / 1e6, args.output))


if __name__ == "__main__":
    main()
