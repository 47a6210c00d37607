#!/usr/bin/env bash
# Trains the embedded default model from scratch, as recorded in models/README.md: the small
# autoencoder, then the LaTtE-Flow generator on its latents. Both steps resume from their run folders
# when interrupted (run the script again). Long: see models/README.md for the times measured here.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product latte
LATTE=.build/release/latte
$LATTE assets fetch fashion-mnist smollm2

# 1. Autoencoder: Fashion-MNIST padded to 32×32 → 8×8×8 latents (one thread: the run measured here shared the machine).
$LATTE train-vae --steps 4800 --batch 16 --lr 1e-3 --threads 1 --run-dir runs/fashion-vae --output models/fashion-vae
$LATTE vae eval --model models/fashion-vae --json

# 2. Generator: K = 5 groups × 6 layers, width 128, SmolLM2-135M frozen, class phrases. Uniform t (now
#    `latte train`'s default, kept explicit here) rather than logit-normal: each expert owns a fifth of
#    [0, 1], and under logit-normal(0, 1) the outer groups get only ~8 % of the samples each (group 0
#    decides the global layout of the image).
#    `latte train` turns on the absolute positions and the input skip (docs/generator.md).
#    Then warm restarts: the same run resumed with --steps 20000 continues the cosine schedule of a
#    20,000-step run from step 12,000 (the lr jumps from 2.5e-5 back to 2e-4 and decays again), and
#    again with --steps 32000. The 20,000-step export is kept aside for step 3, and the 4,000-step one
#    (--stop-after: the first 4,000 steps of the same 12,000-step schedule) for step 4.
$LATTE train --autoencoder models/fashion-vae --timesteps uniform --steps 12000 --stop-after 4000 --batch 32 --lr 5e-4 \
  --run-dir runs/latteflow-fashion --output runs/latteflow-fashion/model
rm -rf runs/latteflow-guide && cp -r runs/latteflow-fashion/model runs/latteflow-guide
for steps in 12000 20000 32000; do
  $LATTE train --autoencoder models/fashion-vae --timesteps uniform --steps $steps --batch 32 --lr 5e-4 --run-dir runs/latteflow-fashion \
    --output runs/latteflow-fashion/model
  if [ $steps = 20000 ]; then rm -rf runs/latteflow-fashion-20k && cp -r runs/latteflow-fashion/model runs/latteflow-fashion-20k; fi
done

# 3. Expert fine-tuning: the 20,000-step model with the low-noise experts (groups 3 and 4, t in [0.6, 1))
#    of the 32,000-step one, then those two experts alone trained for 10,000 steps (every sample on their
#    times; groups 0-2 and the shared embeddings frozen). Why: the experts swap in the model card.
python3 scripts/compose_experts.py runs/latteflow-fashion-20k runs/latteflow-fashion/model runs/latteflow-fashion-composed --groups 3,4
$LATTE train --autoencoder models/fashion-vae --initialize-from runs/latteflow-fashion-composed --train-groups 3,4 --timesteps uniform \
  --steps 10000 --warmup 200 --batch 32 --lr 2e-4 --run-dir runs/latteflow-fashion-experts34 --output runs/latteflow-fashion-experts34/model

# 4. Autoguidance guide: the same run at step 4,000 (a weaker model with the same kind of errors; Karras
#    et al. 2024). Sampling extrapolates away from its conditional velocity (model.json: guide_generator,
#    guide_weights, default_guide_weight 2, with null-prompt guidance 1.25). Both generators are stored
#    as row-wise int8 (half of f16; measured to leave FID unchanged) so the folder stays well under 30 MB.
cp runs/latteflow-fashion-experts34/model/generator.json models/latteflow-fashion/generator.json
$LATTE convert-weights --input runs/latteflow-fashion-experts34/model/generator.safetensors \
  --output models/latteflow-fashion/generator.safetensors --dtype int8
cp runs/latteflow-guide/generator.json models/latteflow-fashion/guide.json
$LATTE convert-weights --input runs/latteflow-guide/generator.safetensors --output models/latteflow-fashion/guide.safetensors --dtype int8
$LATTE eval --json > models/latteflow-fashion/eval.json
$LATTE generate --sheet --count 8 --output docs/images/sample-sheet.png
