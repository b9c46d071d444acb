#!/usr/bin/env bash
# Reproduces the ba_skills_de figures in the README: every named model, exact search, no embedding cache.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/ba_skills_de}
mkdir -p evaluation/results
for model in e5-small use-v3 minilm-en; do
  .venv/bin/semmatch benchmark --queries "$DATA/queries.tsv" --corpus "$DATA/corpus.tsv" --qrels "$DATA/qrels.tsv" \
    --model "$model" > "evaluation/results/ba_skills_de_${model}.json"
  echo "$model: $(cat evaluation/results/ba_skills_de_${model}.json | tr -d '\n ' | cut -c1-160)"
done
