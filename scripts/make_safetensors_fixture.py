#!/usr/bin/env python3
"""Writes Tests/LatteTensorTests/Fixtures/reference.safetensors with the reference `safetensors`
library (pip install safetensors numpy), so our reader is checked against files it did not write.
bfloat16 has no numpy type: its raw bits are written through a uint16 view and patched to BF16."""
import json, struct, pathlib
import numpy as np
from safetensors.numpy import save_file

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/LatteTensorTests/Fixtures/reference.safetensors"
tensors = {
    "model.layers.0.weight": np.arange(12, dtype=np.float32).reshape(3, 4) / 8 - 0.5,
    "half": np.array([1.0, -2.5, 65504.0, 0.000061035156], dtype=np.float16),
    "ids": np.array([[1, -7], [300, 4]], dtype=np.int64),
    "mask": np.array([0, 1, 255], dtype=np.uint8),
    "count": np.array([42], dtype=np.int32),
    # bfloat16 bits of 1.0, -3.0, 0.15625
    "bf16": np.array([0x3F80, 0xC040, 0x3E20], dtype=np.uint16),
}
save_file(tensors, str(out), metadata={"format": "pt", "note": "reference"})
# Patch the uint16 tensor's dtype to BF16 in the header (same size, same layout).
data = bytearray(out.read_bytes())
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
header["bf16"]["dtype"] = "BF16"
new = json.dumps(header, separators=(",", ":")).encode()
new += b" " * (n - len(new))
assert len(new) == n
data[8:8 + n] = new
out.write_bytes(bytes(data))
print("wrote", out, len(data), "bytes")
