#!/usr/bin/env bash
# Runs the Python recorder's tests (python/tests) with Debian's PyTorch, or
# says why they are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d python/tests ] || { echo "python tests: none in python/tests"; exit 0; }
cd python
py=/usr/bin/python3
if ! [ -x "$py" ] || ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  echo "python tests skipped: $py has no torch and numpy (apt-get install python3-torch python3-numpy)"
  exit 0
fi
"$py" -m unittest discover -s tests
