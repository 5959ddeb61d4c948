#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages LandRec needs, only those missing, so a second run
# is fast and changes nothing. Uses sudo when not root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
list="$here/debian-packages.txt"

if ! command -v dpkg-query >/dev/null; then
    echo "install-debian-packages: this is not a Debian/Ubuntu system; install the" \
         "packages of $list by hand" >&2
    exit 1
fi

missing=()
while read -r pkg; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "installed" ]] || missing+=("$pkg")
done <"$list"

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-debian-packages: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# The Debian postgresql package creates and starts a system cluster on 5432; LandRec
# never uses it, but we leave it alone rather than surprise the machine's owner.
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
