#!/usr/bin/env bash
# Installs what `make bench` needs beyond the tests: nginx (Debian's nginx-light), the reference
# proxy the web app benchmark compares itself with. Uses apt-get from Debian's registry.
set -euo pipefail
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing system packages: nginx-light"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
