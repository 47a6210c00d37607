#!/usr/bin/env python3
"""Compose a generator from two trained checkpoints of the same configuration: the layers and heads of
the listed expert groups come from OTHER, everything else (the remaining experts and the shared patch
embedding and timestep embedder) from BASE. Used to find which experts' training changes FID (models/
latteflow-fashion/README.md) and to build the starting point of the default model's expert fine-tuning.

    python3 scripts/compose_experts.py BASE_DIR OTHER_DIR OUT_DIR --groups 3,4

Each *_DIR is a model folder (model.json, generator.json, generator.safetensors); OUT_DIR gets BASE's
model.json and generator.json, a copy of its autoencoder and the composed generator.safetensors. Needs only the standard library."""
import argparse, json, os, shutil, struct


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return header, data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base"); ap.add_argument("other"); ap.add_argument("out")
    ap.add_argument("--groups", required=True, help="comma-separated expert groups taken from OTHER")
    a = ap.parse_args()
    config = json.load(open(os.path.join(a.base, "generator.json")))
    if config != json.load(open(os.path.join(a.other, "generator.json"))):
        raise SystemExit("the two folders hold different generator configurations")
    groups = {int(g) for g in a.groups.split(",")}
    per_group = config["layer_count"] // config["groups"]
    taken_layers = {l for g in groups for l in range(g * per_group, (g + 1) * per_group)}

    def from_other(key):
        parts = key.split(".")
        if parts[0] == "layers": return int(parts[1]) in taken_layers
        if parts[0] == "heads": return int(parts[1]) in groups
        return False

    base, other = read_safetensors(os.path.join(a.base, "generator.safetensors")), read_safetensors(os.path.join(a.other, "generator.safetensors"))
    keys = [k for k in base[0] if k != "__metadata__"]
    if set(keys) != {k for k in other[0] if k != "__metadata__"}:
        raise SystemExit("the two weight files hold different tensors")
    header, blobs, offset = {}, [], 0
    for k in keys:
        h, data = other if from_other(k) else base
        info = h[k]
        blob = data[info["data_offsets"][0]:info["data_offsets"][1]]
        header[k] = {"dtype": info["dtype"], "shape": info["shape"], "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob); offset += len(blob)
    header["__metadata__"] = {"composed_from": f"{a.base} + groups {sorted(groups)} of {a.other}"}
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    os.makedirs(a.out, exist_ok=True)
    shutil.copy(os.path.join(a.base, "generator.json"), a.out)
    # The autoencoder is copied in beside the weights, so the folder works wherever it is moved.
    manifest = json.load(open(os.path.join(a.base, "model.json")))
    if not os.path.exists(os.path.join(a.out, "autoencoder")):
        shutil.copytree(os.path.join(a.base, manifest["autoencoder"]), os.path.join(a.out, "autoencoder"))
    manifest["autoencoder"] = "autoencoder"
    with open(os.path.join(a.out, "model.json"), "w") as f: json.dump(manifest, f, indent=2, sort_keys=True)
    tmp = os.path.join(a.out, "generator.safetensors.partial")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(encoded))); f.write(encoded); f.write(b"".join(blobs))
    os.replace(tmp, os.path.join(a.out, "generator.safetensors"))
    print(f"{a.out}: groups {sorted(groups)} from {a.other}, the rest from {a.base}")


if __name__ == "__main__":
    main()
