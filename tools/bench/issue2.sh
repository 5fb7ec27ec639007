#!/usr/bin/env bash
# The measurements behind BENCHMARKS.md (SASRec, Stage 0). Run after `npm run build`.
# Usage: tools/bench/issue2.sh OUTDIR   (takes ~25 minutes on 2 cores)
set -euo pipefail
out=${1:-runs/bench}
mkdir -p "$out"
DATA=${DATA:-../shared/datasets}
for seed in 1 2 3; do
  npx allmrec bench backbone --backbone sasrec --data "$DATA/ml-100k" --format movielens-100k --epochs 200 --seed "$seed" --json \
    > "$out/ml100k-seed$seed.json"
  cat "$out/ml100k-seed$seed.json"
done
npx allmrec bench backbone --backbone sasrec --data "$DATA/amazon2018_video_games" --format recbole --epochs 20 --seed 1 --json \
  > "$out/games-seed1.json"
cat "$out/games-seed1.json"
