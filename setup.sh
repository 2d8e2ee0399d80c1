#!/usr/bin/env bash
# Set up rvae-visual on a Debian-like machine with Python 3.11:
# system packages (apt-get), a .venv, torch==2.13.0 first (the CPU wheel), then the package.
#   ./setup.sh          everything needed to play
#   ./setup.sh --test   also what the tests need (JACK2 dummy server, Xvfb, xdotool, imagemagick,
#                       systemd-analyze, and
#                       Xorg with the dummy driver and xrandr for the two-monitor audience test)
set -euo pipefail
cd "$(dirname "$0")"

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

pkgs=(libportaudio2)
[ $want_test = 1 ] && pkgs+=(jackd2 xvfb xauth xdotool imagemagick xserver-xorg-core xserver-xorg-video-dummy x11-xserver-utils systemd)

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3; do command -v "$c" >/dev/null && { PY=$c; break; }; done
fi
[ -n "$PY" ] || { echo "setup.sh: python3.11 not found (install Python 3.11)" >&2; exit 1; }
"$PY" -c 'import venv, ensurepip' 2>/dev/null || pkgs+=(python3-venv)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "setup.sh: installing system packages: ${missing[*]}"
  echo "jackd2 jackd/tweak_rt_limits boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip() { .venv/bin/python -m pip -q --disable-pip-version-check "$@"; }
.venv/bin/python -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null \
  || pip install torch==2.13.0
if [ $want_test = 1 ]; then pip install -e ".[test]"; else pip install -e .; fi
echo "setup.sh: ready (.venv/bin/rvae-visual)"
