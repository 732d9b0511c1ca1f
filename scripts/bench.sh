#!/usr/bin/env bash
# Prints the trainer's img/s for each seed model at batch 64 and, where
# Debian's PyTorch is installed, the ratio to shared/bench/torch_reference.py
# run right after it on the same machine (a shared machine is noisy: compare
# ratios from one run, not absolute figures across runs).
set -euo pipefail
cd "$(dirname "$0")/.."
ref="${TORCH_REFERENCE:-../shared/bench/torch_reference.py}"
have_torch=0
if [ -f "$ref" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_torch=1; fi
threads=$(nproc)

printf '%-12s %10s %10s %8s\n' model go_img_s torch_img_s ratio
for model in cnn cnn_large cifar10_cnn; do
  case $model in
    cnn) n=40 ;;
    cnn_large) n=6 ;;
    cifar10_cnn) n=4 ;;
  esac
  go_ips=$(go test -run '^$' -bench "TrainStep/^${model}\$" -benchtime "${n}x" ./trainer/nn/ |
    awk '/img\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "img/s") print $i }')
  if [ $have_torch -eq 1 ]; then
    torch_ips=$(/usr/bin/python3 "$ref" --model "$model" --batches $((n * 2)) --threads "$threads" |
      sed -n 's/.*img_per_s=\([0-9.]*\).*/\1/p')
    ratio=$(awk -v g="$go_ips" -v t="$torch_ips" 'BEGIN { printf "%.3f", g / t }')
  else
    torch_ips="-" ratio="-"
  fi
  printf '%-12s %10.1f %10s %8s\n' "$model" "$go_ips" "$torch_ips" "$ratio"
done
[ $have_torch -eq 1 ] || echo "(no PyTorch: apt-get install python3-torch for the ratio column)"

# The kernels under the table: this core's measured fp32 peak and SGEMM at
# 512^3 on one thread and on two.
go test -run '^$' -bench 'Peak|Sgemm' ./trainer/backend/ |
  awk '/GFLOP\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "GFLOP/s") printf "%-32s %8.1f GFLOP/s\n", $1, $i }'
