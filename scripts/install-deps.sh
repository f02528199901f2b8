#!/usr/bin/env bash
# Installs the Debian packages kestrel builds and tests with (skips apt when
# they are all present already). Run as root, or with sudo available.
set -euo pipefail
pkgs=(cmake g++ make pkg-config libpcre2-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev libcpp-httplib-dev)
# tests/js (the openai npm client, the chat page in headless Chromium):
# Node.js and npm, unless there already (e.g. nodesource's nodejs, which
# ships npm and conflicts with Debian's npm package), and Chromium.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
[ -x /usr/bin/chromium ] || pkgs+=(chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
