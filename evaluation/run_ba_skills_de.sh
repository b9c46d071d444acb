#!/usr/bin/env bash
# Reproduces the ba_skills_de figures in the README: every named model, exact search, dense and hybrid ranking.
# Embeddings come from the cache when present (CACHE=--no-cache for cold timings).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/ba_skills_de}
CACHE=${CACHE:---cache}
mkdir -p evaluation/results
for model in e5-small use-v3 minilm-en; do
  for mode in dense hybrid; do
    out="evaluation/results/ba_skills_de_${model}_${mode}.json"
    .venv/bin/semmatch benchmark --queries "$DATA/queries.tsv" --corpus "$DATA/corpus.tsv" --qrels "$DATA/qrels.tsv" \
      --model "$model" --mode "$mode" "$CACHE" > "$out"
    echo "$model $mode: $(tr -d '\n ' < "$out" | cut -c1-120)"
  done
done
