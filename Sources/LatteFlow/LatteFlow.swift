// The LaTtE-Flow generator (METHOD.md): timestep experts, residual attention, flow matching.
import LatteModels
