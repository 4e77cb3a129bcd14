#!/usr/bin/env bash
# Install what Facial Nerve Monitor needs on a Debian/Ubuntu machine with Python 3.11+:
# the system libraries Qt loads (only those missing, with apt-get) and a virtualenv in .venv.
#
#   scripts/install.sh          to run the monitor (Qt libraries for a real window too)
#   scripts/install.sh --dev    to run the tests (headless Qt; adds pytest, hypothesis, ruff)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

# Libraries Qt needs even offscreen (and PortAudio for sound), then those a window on an X
# display needs.
pkgs=(libgl1 libegl1 libx11-6 libdbus-1-3 libfontconfig1 libfreetype6 libglib2.0-0 libxkbcommon0
      libportaudio2)
if [ "$dev" = 0 ]; then
  pkgs+=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0
         libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0)
fi

py=""
for cand in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
  [ -n "$cand" ] || continue
  if command -v "$cand" >/dev/null 2>&1 &&
     "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    py=$cand
    break
  fi
done
if [ -z "$py" ]; then
  echo "install: Python 3.11 or newer is needed (Debian 12: apt-get install python3)." >&2
  exit 1
fi
"$py" -c 'import ensurepip, venv' 2>/dev/null || pkgs+=(python3-venv)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install: system packages needed: ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || "$py" -m venv .venv
req=requirements.txt
[ "$dev" = 1 ] && req=requirements-dev.txt
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
echo "install: ready ($(.venv/bin/python --version), $req)"
