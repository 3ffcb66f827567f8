#!/usr/bin/env bash
# Print the path of a Python >= 3.11 to build the virtual environment with,
# preferring 3.12 (then 3.13, 3.11). Honours $PYTHON when set.
set -euo pipefail

ok() { "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

if [ -n "${PYTHON:-}" ]; then
  ok "$PYTHON" && { command -v "$PYTHON"; exit 0; }
  echo "find-python: \$PYTHON=$PYTHON is not a Python >= 3.11 with venv" >&2; exit 1
fi

candidates=()
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for minor in 3.12 3.13 3.11; do
    v=$(pyenv versions --bare 2>/dev/null | grep -E "^${minor//./\\.}\.[0-9]+$" | sort -V | tail -n 1 || true)
    [ -n "$v" ] && candidates+=("$root/versions/$v/bin/python$minor")
  done
fi
candidates+=(python3.12 python3.13 python3.11 python3)

for c in "${candidates[@]}"; do
  if ok "$c"; then command -v "$c"; exit 0; fi
done
echo "find-python: no Python >= 3.11 with the venv module found (Debian: apt-get install python3-venv)" >&2
exit 1
