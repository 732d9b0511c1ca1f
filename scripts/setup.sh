#!/usr/bin/env bash
# Installs what building and testing mlpviz needs on a Debian/Ubuntu machine,
# skipping whatever is already there: the X11/GL headers Ebitengine builds
# against, Xvfb for the window tests, ffmpeg for video, GNU time for the
# tests that measure a command's peak memory, PyTorch for the Python tests
# (with the argument "test"), and the Go modules.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pkg-config libgl1-mesa-dev libxcursor-dev libxi-dev libxinerama-dev
  libxrandr-dev libxxf86vm-dev xvfb xauth ffmpeg time)
# "setup.sh test" adds what only the tests need: Debian's PyTorch and NumPy
# for the Python recorder's tests (python/), and the Go tests that read what
# it writes.
if [ "${1:-}" = test ]; then
  packages+=(python3-torch python3-numpy)
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go is not on PATH; install Go 1.26 or newer from https://go.dev/dl/" >&2
  exit 1
fi
go mod download
