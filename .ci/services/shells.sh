#!/usr/bin/env bash
# Installs zsh and fish for the tests that run agentconsole's completion scripts in them (tests/core/test_completion.py).
set -euo pipefail
command -v zsh >/dev/null 2>&1 && command -v fish >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        exec sudo -n bash "$0" "$@"
    fi
    echo "shells.sh: must run as root to install zsh and fish" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq zsh fish >/dev/null
