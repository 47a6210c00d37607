#!/usr/bin/env python3
"""Reference sigma tables and one Euler step from diffusers' FlowMatchEulerDiscreteScheduler
(pip install diffusers torch), for Tests/LatteFlowTests/Fixtures/flow_match_euler.json.
diffusers runs sigma from 1 (noise) to 0 (data) and predicts noise − data; LatteFlow's t = 1 − sigma
and its velocity is data − noise, so the step x + (sigma_next − sigma)·output is the same update."""
import json, pathlib
import numpy as np
import torch
import diffusers
from diffusers import FlowMatchEulerDiscreteScheduler

out = {"diffusers": diffusers.__version__, "tables": [], "step": None}
for steps, shift in [(7, 1.0), (7, 3.0), (40, 3.0), (4, 2.5), (1, 1.0)]:
    s = FlowMatchEulerDiscreteScheduler(shift=shift)
    s.set_timesteps(steps)
    out["tables"].append({"steps": steps, "shift": shift, "sigmas": s.sigmas.tolist(), "timesteps": s.timesteps.tolist()})

s = FlowMatchEulerDiscreteScheduler(shift=3.0)
s.set_timesteps(7)
g = torch.Generator().manual_seed(0)
sample = torch.randn(1, 4, 2, 2, generator=g)
output = torch.randn(1, 4, 2, 2, generator=g)
index = 2
s._step_index = index
prev = s.step(output, s.timesteps[index], sample).prev_sample
out["step"] = {"steps": 7, "shift": 3.0, "index": index, "sample": sample.flatten().tolist(),
               "model_output": output.flatten().tolist(), "prev_sample": prev.flatten().tolist()}
path = pathlib.Path(__file__).resolve().parent.parent / "Tests/LatteFlowTests/Fixtures/flow_match_euler.json"
path.write_text(json.dumps(out, indent=1))
print("wrote", path)
