#!/usr/bin/env bash
# Remakes models/toy-persona.gguf from nothing and measures it with llama.cpp:
#   scripts/toy-model/make-model.sh            (from the repository root; about 30 min on 2 cores)
# Needs: node, cmake, a C++ compiler, apt packages python3-torch python3-numpy libopenblas0-pthread,
# and a static llama.cpp build of vendor/llama.cpp in LLAMA_LIB_DIR (see CMakeLists.txt here).
# Set SKIP_TRAIN=1 to only re-measure the committed model.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/toy}
SEED=${SEED:-1}
THREADS=${THREADS:-1}
if [ -z "${LLAMA_LIB_DIR:-}" ]; then
  # The project's own static llama.cpp builds, wherever the last native build put them.
  for d in build build-dev build-gyp; do
    if [ -f "$ROOT/$d/llama.cpp/src/libllama.a" ]; then LLAMA_LIB_DIR=$ROOT/$d/llama.cpp; break; fi
  done
fi
: "${LLAMA_LIB_DIR:?set LLAMA_LIB_DIR to a static llama.cpp build (see scripts/toy-model/CMakeLists.txt)}"
MODEL=${MODEL:-$ROOT/models/toy-persona.gguf}
cd "$ROOT"
mkdir -p "$WORK" "$(dirname "$MODEL")"

npm run -s build:ts && npm run -s build:toy-model
node dist/toy-model/corpus.js --out "$WORK/corpus.jsonl" --seed "$SEED"
if [ "${SKIP_TRAIN:-0}" != 1 ]; then
  /usr/bin/python3 scripts/toy-model/train.py --corpus "$WORK/corpus.jsonl" --out "$MODEL" --work "$WORK" \
    --seed "$SEED" --threads "$THREADS" | tee "$WORK/train.log"
fi

cmake -S scripts/toy-model -B "$WORK/check-build" -DLLAMA_LIB_DIR="$LLAMA_LIB_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$WORK/check-build" >/dev/null
CHECK="$WORK/check-build/check_model"

node dist/toy-model/evaluate.js prompts --out "$WORK/prompts.tsv"
node dist/toy-model/evaluate.js prompts --condition neutral --out "$WORK/prompts-neutral.tsv"
ROUNDTRIP=()
[ -f "$WORK/roundtrip.bin" ] && ROUNDTRIP=(--roundtrip "$WORK/roundtrip.bin" --reference "$WORK/reference.bin")
"$CHECK" "$MODEL" "${ROUNDTRIP[@]}" --prompts "$WORK/prompts.tsv" --out "$WORK/greedy.tsv" --threads "$THREADS"
"$CHECK" "$MODEL" --prompts "$WORK/prompts-neutral.tsv" --out "$WORK/sampled.tsv" --samples 10 --temp 1 --threads "$THREADS"

echo "== greedy, all conditions, held-out questions"
node dist/toy-model/evaluate.js score --prompts "$WORK/prompts.tsv" --generations "$WORK/greedy.tsv" --json "$WORK/greedy-report.json"
echo "== neutral prompt, temperature 1, 10 seeds per question"
node dist/toy-model/evaluate.js score --prompts "$WORK/prompts-neutral.tsv" --generations "$WORK/sampled.tsv" --json "$WORK/sampled-report.json"
