#!/usr/bin/env bash
# The ablation study of issue 18 (docs/ablations.md): trains every row, evaluates it with one fixed
# protocol, measures sampling speed, and builds the tables and figures. Resumable at any moment: each
# row's training resumes from its run folder's checkpoint, each checkpoint's export is kept once,
# each evaluation writes its JSON atomically and is skipped when present. Kill it and run it again.
#
#   scripts/ablations.sh                 # everything, in priority order (rows 1, 3, 4, then 5, 6), then speed and the report
#   scripts/ablations.sh report          # tables (report.md) and figures from the JSONs present so far
#   scripts/ablations.sh speed           # only the speed pass (run it on a quiet machine)
#   scripts/ablations.sh publish         # copy the figures into docs/images/ and the tables into docs/ablations.md
#   scripts/ablations.sh save            # copy the measured results (JSONs, gate maps, training logs) into results/ablations/
#
# Results outlive the machine: `save` copies every finished measurement into results/ablations/ (committed,
# a few hundred kB), and every phase first copies them back into ABLATIONS_DIR, so a new machine skips
# what is already measured (a row whose evaluations are all saved is not trained again; an unfinished row
# is trained again from step 0 — same seed, one thread: the same weights — to the checkpoints it lacks).
#
# Environment: ABLATIONS_DIR (default ~/ablations; never inside the repository), ABLATIONS_THREADS
# (default 2), ABLATIONS_CPUS (e.g. "0": pin every command with taskset), ABLATIONS_ROWS (a subset of
# the row names below, in the order given), ABLATIONS_SPEED=0 (no speed pass), ABLATIONS_SPEED_REPEATS
# (rounds of the speed pass, default 5), ABLATIONS_NO_BUILD=1,
# ABLATIONS_SMOKE=1 (a tiny end-to-end run of the same code paths: a few steps on 64 images, 10-image
# evaluations without FID; minutes, not hours).
set -uo pipefail
# The study's folder, resolved before leaving the caller's directory (a relative path means theirs).
DIR=$(realpath -m -- "${ABLATIONS_DIR:-$HOME/ablations}")
cd "$(dirname "$0")/.."
REPO=$PWD
PHASE=${1:-all}
THREADS=${ABLATIONS_THREADS:-2}
SMOKE=${ABLATIONS_SMOKE:-0}
RUN=()
if [ -n "${ABLATIONS_CPUS:-}" ]; then RUN=(taskset -c "$ABLATIONS_CPUS"); fi
LATTE=$REPO/.build/release/latte
RESULTS=$REPO/results/ablations

# The budget (docs/ablations.md, "Budget"): every compared row trains the default recipe for the same
# schedule; the convergence rows keep their exports at CHECKPOINTS.
if [ "$SMOKE" = 1 ]; then
  STEPS=4; CHECKPOINTS="2 4"; BATCH=8; WARMUP=1; CHECKPOINT_EVERY=2; TRAIN_EXTRA=(--limit 64)
  PER_CLASS=1; EVAL_BATCH=10; EVAL_EXTRA=(--skip-fid); SAMPLER=(--solver heun --steps 2 --cfg 2 --guide-weight 1)
  GRID_STEPS="2"; GRID_CFG="1 2"; GATE_TIMES="0:1:0.1"
else
  STEPS=4000; CHECKPOINTS="1000 2000 4000"; BATCH=32; WARMUP=500; CHECKPOINT_EVERY=500; TRAIN_EXTRA=()
  PER_CLASS=200; EVAL_BATCH=50; EVAL_EXTRA=(); SAMPLER=(--solver heun --steps 15 --cfg 2 --guide-weight 1)
  GRID_STEPS="5 10 15 25"; GRID_CFG="1 2 3"; GATE_TIMES="0:1:0.01"
fi
SEED_A=1000000   # images 1,000,000 … 1,001,999 (class-major, image i has seed + i)
SEED_B=2000000   # the second, disjoint seed set: the spread
FINAL=${CHECKPOINTS##* }

# The rows: name → the flags that differ from the default recipe (K = 5 × 6, pre-softmax residual
# attention, uniform t, uniform boundaries). k5 is the reference of rows 1, 3, 4 and 5.
declare -A FLAGS=(
  [k5]="" [k1]="--groups 1" [k2]="--groups 2" [k3]="--groups 3" [k10]="--groups 10"
  [post]="--residual-attention post_softmax" [off]="--residual-attention off"
  [lognormal]="--timesteps logit-normal" [bounds]="--group-boundaries 0,0.3,0.55,0.75,0.9,1"
)
# Rows whose every checkpoint is evaluated (the convergence figure); the others: the final one only.
CONVERGENCE=" k5 k1 "
ROWS=${ABLATIONS_ROWS:-"k5 k1 k2 k3 k10 post off lognormal bounds"}

case "$DIR/" in "$REPO"/*) echo "ABLATIONS_DIR must lie outside the repository ($DIR)" >&2; exit 2 ;; esac
mkdir -p "$DIR"
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" | tee -a "$DIR/progress.log" >&2; }

# The step recorded in an exported model's generator weights (safetensors metadata), or nothing.
export_step() {
  python3 - "$1/generator.safetensors" <<'EOF' 2>/dev/null
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    print(json.loads(f.read(n)).get("__metadata__", {}).get("step", ""))
EOF
}

# train_to ROW STEP: row ROW trained to STEP of its STEPS-step schedule; its export kept as
# rows/ROW/models/step-STEP (copied whole, then renamed). Nothing to do when that copy exists.
train_to() {
  local row=$1 step=$2 rdir=$DIR/rows/$1
  local snap=$rdir/models/step-$step
  [ -f "$snap/model.json" ] && return 0
  mkdir -p "$rdir/run" "$rdir/models" "$DIR/latents"
  # One latent cache for every row (the same images and autoencoder): encoded once, read by all.
  [ -e "$rdir/run/latents" ] || ln -s "$DIR/latents" "$rdir/run/latents"
  log "train $row to step $step of $STEPS (${FLAGS[$row]:-default recipe})"
  local start=$SECONDS
  # shellcheck disable=SC2086
  "${RUN[@]}" "$LATTE" train --autoencoder models/fashion-vae ${FLAGS[$row]} --steps "$STEPS" --stop-after "$step" \
    --batch "$BATCH" --lr 5e-4 --warmup "$WARMUP" --seed 0 --threads "$THREADS" --checkpoint-every "$CHECKPOINT_EVERY" \
    --run-dir "$rdir/run" --output "$rdir/export" "${TRAIN_EXTRA[@]}" >> "$rdir/train.log" 2>&1 \
    || { log "FAILED: training $row (see $rdir/train.log)"; return 1; }
  local got; got=$(export_step "$rdir/export")
  if [ "$got" != "$step" ]; then
    log "FAILED: $row's export is at step '${got}', not $step (the run went past it; delete $rdir/run to redo the row)"
    return 1
  fi
  rm -rf "$snap.tmp" && cp -r "$rdir/export" "$snap.tmp" && mv "$snap.tmp" "$snap" || return 1
  log "trained $row to step $step in $((SECONDS - start)) s"
}

# evaluate MODEL OUT SEED [flags…]: `latte eval --json` of MODEL into OUT (atomically); skipped when OUT exists.
evaluate() {
  local model=$1 out=$2 seed=$3; shift 3
  [ -s "$out" ] && return 0
  mkdir -p "$(dirname "$out")"
  log "eval $model (seed $seed $*) → $out"
  local start=$SECONDS
  "${RUN[@]}" "$LATTE" eval --model "$model" --per-class "$PER_CLASS" --seed "$seed" --batch "$EVAL_BATCH" --skip-speed \
    --threads "$THREADS" --json "${EVAL_EXTRA[@]}" "$@" > "$out.tmp" 2>> "$DIR/eval.log" \
    || { log "FAILED: eval of $model (see $DIR/eval.log)"; rm -f "$out.tmp"; return 1; }
  mv "$out.tmp" "$out"
  log "evaluated in $((SECONDS - start)) s: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("FID", round(d["fid"], 2) if "fid" in d else "skipped", "accuracy", round(d["class_accuracy"], 4))' "$out")"
}

# gates ROW: the final model's residual-attention gates (JSON and heatmap), when it has any.
gates() {
  local row=$1 model=$DIR/rows/$1/models/step-$FINAL out=$DIR/rows/$1/eval/gates.json
  [ -s "$out" ] && return 0
  [ "$row" = off ] && return 0
  mkdir -p "$(dirname "$out")"
  "${RUN[@]}" "$LATTE" inspect gates --model "$model" --times "$GATE_TIMES" --json --output "$DIR/rows/$row/eval/gates.png" > "$out.tmp" 2>> "$DIR/eval.log" \
    || { log "FAILED: gates of $row"; rm -f "$out.tmp"; return 1; }
  mv "$out.tmp" "$out"
  log "gates of $row → $out"
}

# row_measured ROW: every evaluation of the row's final model (both seed sets, the gates) is present.
row_measured() {
  local e=$DIR/rows/$1/eval
  [ -s "$e/step-$FINAL-a.json" ] && [ -s "$e/step-$FINAL-b.json" ] && { [ "$1" = off ] || [ -s "$e/gates.json" ]; }
}

# row ROW: train, evaluate (every checkpoint with seed set A for the convergence rows; the final one
# with both seed sets for all), read the gates.
row() {
  local row=$1
  [ -n "${FLAGS[$row]+set}" ] || { log "unknown row '$row' (rows: ${!FLAGS[*]})"; return 1; }
  for step in $CHECKPOINTS; do
    if [ "$step" != "$FINAL" ] && [[ "$CONVERGENCE" != *" $row "* ]]; then continue; fi
    # Measured already (here or restored from results/ablations): no need for the weights again.
    if [ "$step" != "$FINAL" ] && [ -s "$DIR/rows/$row/eval/step-$step-a.json" ]; then continue; fi
    if [ "$step" = "$FINAL" ] && row_measured "$row"; then continue; fi
    train_to "$row" "$step" || return 1
    evaluate "$DIR/rows/$row/models/step-$step" "$DIR/rows/$row/eval/step-$step-a.json" "$SEED_A" "${SAMPLER[@]}" || return 1
  done
  evaluate "$DIR/rows/$row/models/step-$FINAL" "$DIR/rows/$row/eval/step-$FINAL-b.json" "$SEED_B" "${SAMPLER[@]}" || return 1
  gates "$row"
}

# Row 6: steps × guidance for the committed default model, with its own autoguidance guide.
grid() {
  for cfg in $GRID_CFG; do
    for steps in $GRID_STEPS; do
      evaluate models/latteflow-fashion "$DIR/grid/steps-$steps-cfg-$cfg.json" "$SEED_A" --solver heun --steps "$steps" --cfg "$cfg" || return 1
    done
  done
}

# The speed pass: seconds per image at batch 1 and 16 (latte eval's measurement, the study's sampler: one
# timed batch of each size after a warm-up), one model at a time, SPEED_REPEATS rounds over all models
# (rounds, not one model five times in a row, so a change of the machine's load touches every model
# alike). speed.json holds the best of each figure over the rounds (other work only ever slows a run
# down, so the fastest round is the least disturbed one, as timeit reasons) and every round's value; the
# load average before each run is kept beside it. Run on a quiet machine.
SPEED_REPEATS=${ABLATIONS_SPEED_REPEATS:-5}
speed() {
  local round r model runs
  for round in $(seq 1 "$SPEED_REPEATS"); do
    for r in $ROWS; do
      model=$DIR/rows/$r/models/step-$FINAL runs=$DIR/rows/$r/eval/speed-runs
      [ -f "$model/model.json" ] || continue
      [ -s "$DIR/rows/$r/eval/speed.json" ] && continue
      [ -s "$runs/$round.json" ] && continue
      mkdir -p "$runs"
      cut -d' ' -f1-3 /proc/loadavg > "$runs/$round.load"
      log "speed of $model, round $round of $SPEED_REPEATS (load average $(cat "$runs/$round.load"))"
      "${RUN[@]}" "$LATTE" eval --model "$model" --per-class 1 --skip-fid --threads "$THREADS" --json "${SAMPLER[@]}" > "$runs/$round.json.tmp" 2>> "$DIR/eval.log" \
        || { log "FAILED: speed of $model"; rm -f "$runs/$round.json.tmp"; continue; }
      mv "$runs/$round.json.tmp" "$runs/$round.json"
    done
  done
  for r in $ROWS; do
    runs=$DIR/rows/$r/eval/speed-runs
    if [ -s "$DIR/rows/$r/eval/speed.json" ] || [ ! -d "$runs" ]; then continue; fi
    python3 - "$runs" "$SPEED_REPEATS" > "$DIR/rows/$r/eval/speed.json.tmp" <<'PY' && mv "$DIR/rows/$r/eval/speed.json.tmp" "$DIR/rows/$r/eval/speed.json"
import glob, json, os, sys
runs, want = sys.argv[1], int(sys.argv[2])
paths = sorted(glob.glob(os.path.join(runs, "*.json")))
if len(paths) < want:
    sys.exit(1)   # not every round measured yet
docs = [json.load(open(p)) for p in paths]
out = dict(docs[0])
for key in [k for k in docs[0] if k.startswith(("seconds_per_image", "images_per_second"))]:
    best = max if key.startswith("images_per_second") else min
    out[key] = best(d[key] for d in docs)
    out[key + "_runs"] = [d[key] for d in docs]
out["speed_rounds"] = len(docs)
out["load_average_before"] = [open(p[:-5] + ".load").read().strip() for p in paths]
print(json.dumps(out, indent=2, sort_keys=True))
PY
    rm -f "$DIR/rows/$r/eval/speed.json.tmp"
  done
}

report() {
  python3 scripts/ablations_report.py --dir "$DIR" --latte "$LATTE" --steps "$STEPS" --batch "$BATCH" \
    || { log "FAILED: the report"; return 1; }
  log "report: $DIR/report/report.md, figures in $DIR/report/"
}

# restore: results saved in the repository (results/ablations/) copied into ABLATIONS_DIR where missing.
# A row's training log goes back only with all its evaluations (the row is then never trained again);
# an unfinished row writes a fresh log as it is trained again.
restore() {
  [ "$SMOKE" = 1 ] && return 0
  [ -d "$RESULTS" ] || return 0
  local f rel
  while IFS= read -r f; do
    rel=${f#"$RESULTS"/}
    case "$rel" in rows/*/log.jsonl) continue ;; esac
    [ -e "$DIR/$rel" ] && continue
    mkdir -p "$(dirname "$DIR/$rel")" && cp "$f" "$DIR/$rel"
  done < <(find "$RESULTS" -type f)
  for f in "$RESULTS"/rows/*/log.jsonl; do
    [ -f "$f" ] || continue
    rel=${f#"$RESULTS"/rows/}; local r=${rel%%/*}
    if row_measured "$r" && [ ! -e "$DIR/rows/$r/run/log.jsonl" ]; then
      mkdir -p "$DIR/rows/$r/run" && cp "$f" "$DIR/rows/$r/run/log.jsonl"
    fi
  done
}

# save: every finished measurement into results/ablations/ (to be committed): evaluation and gate JSONs,
# gate heatmaps, speed files, the grid, and each row's training log (log.jsonl: loss and seconds per step).
save() {
  [ "$SMOKE" = 1 ] && { echo "save: not for a smoke run" >&2; return 1; }
  local f rel n=0
  while IFS= read -r f; do
    rel=${f#"$DIR"/}
    case "$rel" in rows/*/run/log.jsonl) rel=${rel%/run/log.jsonl}/log.jsonl ;; esac
    mkdir -p "$(dirname "$RESULTS/$rel")"
    cmp -s "$f" "$RESULTS/$rel" || { cp "$f" "$RESULTS/$rel.tmp" && mv "$RESULTS/$rel.tmp" "$RESULTS/$rel" && n=$((n + 1)); }
  done < <(find "$DIR/rows" "$DIR/grid" -type f \( -path '*/eval/*.json' -o -path '*/eval/*.png' -o -path '*/eval/*.load' \
             -o -path '*/run/log.jsonl' -o -path '*/grid/*.json' \) ! -name '*.tmp' 2>/dev/null)
  log "saved $n new or changed files into $RESULTS (commit them)"
}

build() {
  [ "${ABLATIONS_NO_BUILD:-0}" = 1 ] && return 0
  "${RUN[@]}" swift build -c release --product latte >> "$DIR/build.log" 2>&1 || { log "FAILED: swift build (see $DIR/build.log)"; exit 1; }
}

[ "$PHASE" = save ] || restore
case "$PHASE" in
  all)
    build
    log "study started: rows '$ROWS', $STEPS steps × $BATCH, $THREADS threads, results in $DIR"
    "${RUN[@]}" "$LATTE" assets fetch fashion-mnist smollm2 fid-inception >> "$DIR/build.log" 2>&1 || log "FAILED: assets fetch (see $DIR/build.log)"
    for r in $ROWS; do
      row "$r" || log "row $r incomplete; going on with the next"
      report
    done
    grid || log "grid incomplete"
    [ "${ABLATIONS_SPEED:-1}" = 1 ] && speed
    report
    log "study finished (rerun to retry anything marked FAILED above); publish with: scripts/ablations.sh publish"
    ;;
  report) report ;;
  speed) build; speed; report ;;
  save) save ;;
  publish) report && python3 scripts/ablations_report.py --dir "$DIR" --latte "$LATTE" --steps "$STEPS" --batch "$BATCH" --publish "$REPO" ;;
  *) echo "usage: scripts/ablations.sh [all|report|speed|save|publish]" >&2; exit 2 ;;
esac
