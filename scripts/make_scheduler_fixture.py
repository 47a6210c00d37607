#!/usr/bin/env python3
"""Reference sigma tables, one Euler step and scale_noise from diffusers' FlowMatchEulerDiscreteScheduler
(pip install diffusers torch), for Tests/LatteFlowTests/Fixtures/flow_match_euler.json (static shift,
the default configuration) and flow_match_configs.json (scheduler_config.json files as model folders
carry them: dynamic shifting with mu, exponential and linear time shifts, other training step counts,
shift_terminal; and mu from the image sequence length as the FLUX / SD3 pipelines compute it).
diffusers runs sigma from 1 (noise) to 0 (data) and predicts noise − data; LatteFlow's t = 1 − sigma
and its velocity is data − noise, so the step x + (sigma_next − sigma)·output is the same update."""
import json, pathlib
import torch
import diffusers
from diffusers import FlowMatchEulerDiscreteScheduler

def reference_function(module_file, name):
    """A function from a diffusers source file, without importing the file (the FLUX pipeline imports
    transformers, which the scheduler does not need)."""
    import ast
    path = pathlib.Path(diffusers.__file__).parent / module_file
    tree = ast.parse(path.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    scope = {}
    exec(compile(ast.Module([node], []), str(path), "exec"), scope)
    return scope[name]

calculate_shift = reference_function("pipelines/flux/pipeline_flux.py", "calculate_shift")

fixtures = pathlib.Path(__file__).resolve().parent.parent / "Tests/LatteFlowTests/Fixtures"

# --- flow_match_euler.json: static shift, default configuration ---
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
path = fixtures / "flow_match_euler.json"
path.write_text(json.dumps(out, indent=1))
print("wrote", path)

# --- flow_match_configs.json: scheduler_config.json files as found in model folders ---
header = {"_class_name": "FlowMatchEulerDiscreteScheduler", "_diffusers_version": "0.30.0"}
configs = [
    # SD3-style: a static shift only.
    ("static shift 3", {**header, "num_train_timesteps": 1000, "shift": 3.0}, [None]),
    # FLUX.1-dev: dynamic exponential shifting, mu from the image sequence length.
    ("flux dev", {**header, "base_image_seq_len": 256, "base_shift": 0.5, "max_image_seq_len": 4096,
                  "max_shift": 1.15, "num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True},
     [0.5, 1.15]),
    # FLUX.1-schnell: every key written out, nulls and falses included.
    ("flux schnell", {**header, "base_image_seq_len": 256, "base_shift": 0.5, "invert_sigmas": False,
                      "max_image_seq_len": 4096, "max_shift": 1.15, "num_train_timesteps": 1000, "shift": 1.0,
                      "shift_terminal": None, "stochastic_sampling": False, "time_shift_type": "exponential",
                      "use_beta_sigmas": False, "use_dynamic_shifting": False, "use_exponential_sigmas": False,
                      "use_karras_sigmas": False}, [None]),
    # CogView4-style: dynamic linear shifting.
    ("linear", {**header, "base_image_seq_len": 256, "base_shift": 0.25, "max_shift": 0.75, "num_train_timesteps": 1000,
                "shift": 1.0, "time_shift_type": "linear", "use_dynamic_shifting": True}, [0.5, 1.15, 2.0]),
    ("500 train steps", {**header, "num_train_timesteps": 500, "shift": 2.5}, [None]),
    ("500 train steps dynamic", {**header, "num_train_timesteps": 500, "use_dynamic_shifting": True}, [0.7]),
    # Qwen-Image-style: dynamic exponential with a terminal sigma of 0.02.
    ("shift terminal 0.02", {**header, "base_image_seq_len": 256, "base_shift": 0.5, "invert_sigmas": False,
                             "max_image_seq_len": 8192, "max_shift": 0.9, "num_train_timesteps": 1000, "shift": 1.0,
                             "shift_terminal": 0.02, "stochastic_sampling": False, "time_shift_type": "exponential",
                             "use_beta_sigmas": False, "use_dynamic_shifting": True, "use_exponential_sigmas": False,
                             "use_karras_sigmas": False}, [0.8]),
    ("static shift terminal", {**header, "shift": 3.0, "shift_terminal": 0.02}, [None]),
    # LTX-Video-style: dynamic, terminal 0.1, another sequence-length range.
    ("ltx", {**header, "base_image_seq_len": 1024, "base_shift": 0.95, "max_image_seq_len": 4096, "max_shift": 2.05,
             "num_train_timesteps": 1000, "shift": 1.0, "shift_terminal": 0.1, "use_dynamic_shifting": True}, [2.05]),
]
cases = []
for name, config, mus in configs:
    schedules = []
    for mu in mus:
        # One step with shift_terminal divides 0 by 0 in diffusers (the single sigma is 1): not a schedule.
        for steps in ([2, 4, 7, 28] if config.get("shift_terminal") else [1, 2, 4, 7, 28]):
            s = FlowMatchEulerDiscreteScheduler.from_config(config)
            s.set_timesteps(steps, mu=mu)
            schedules.append({"steps": steps, "mu": mu, "sigmas": s.sigmas.tolist(), "timesteps": s.timesteps.tolist()})
    cases.append({"name": name, "config": config, "schedules": schedules})

# mu as the FLUX / SD3 pipelines compute it from the image sequence length and the config's four keys.
mus = []
for name, config, _ in configs:
    c = FlowMatchEulerDiscreteScheduler.from_config(config).config
    for seq in [256, 1024, 4096, 6000]:
        mus.append({"name": name, "image_seq_len": seq, "mu": calculate_shift(seq, c.base_image_seq_len, c.max_image_seq_len,
                                                                               c.base_shift, c.max_shift)})

# scale_noise at the third sigma of FLUX.1-dev's 7-step table with mu 1.15 (image to image).
s = FlowMatchEulerDiscreteScheduler.from_config(configs[1][1])
s.set_timesteps(7, mu=1.15)
g = torch.Generator().manual_seed(1)
sample = torch.randn(1, 4, 2, 2, generator=g)
noise = torch.randn(1, 4, 2, 2, generator=g)
index = 2
noisy = s.scale_noise(sample, s.timesteps[index:index + 1], noise)
scale = {"config": "flux dev", "steps": 7, "mu": 1.15, "index": index, "sigma": s.sigmas[index].item(),
         "sample": sample.flatten().tolist(), "noise": noise.flatten().tolist(), "noisy": noisy.flatten().tolist()}

path = fixtures / "flow_match_configs.json"
path.write_text(json.dumps({"diffusers": diffusers.__version__, "configurations": cases, "mu": mus, "scale_noise": scale},
                           indent=1))
print("wrote", path)
