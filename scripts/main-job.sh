#!/usr/bin/env bash
# The main job: build kestrel, synthesize a llama-3.2-1b-shaped Q4_0 model
# (random weights, llama.cpp's default Q4_0 tensor mix) and generate with it,
# printing the prompt/generation speed line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKESTREL_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target kestrel
model=build/models/llama-3.2-1b-Q4_0.gguf
mkdir -p build/models
[ -f "$model" ] || ./build/kestrel synth --shape llama-3.2-1b --type Q4_0 -o "$model"
./build/kestrel run -m "$model" -p "Once upon a time" -n 64 -t "$(nproc)" --seed 1
