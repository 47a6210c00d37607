// Model families live one per file in this target (LLaMA.swift, Qwen2VL.swift, AutoencoderKL.swift, …).
import LatteNN
