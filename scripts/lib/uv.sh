# Sourced by scripts/setup, scripts/develop, scripts/test and scripts/check-ha (not run).
# Makes `uv` callable in the sourcing shell, whatever the machine has:
#   - uv on PATH: used as it is;
#   - uv installed but off PATH (pip's --user scripts directory ~/.local/bin, uv's own
#     installer's ~/.local/bin or ~/.cargo/bin, a uv installed as a Python package):
#     found there and its directory put first on PATH;
#   - no uv at all: installed from PyPI with python3's pip (--user, or into a private
#     venv under ~/.cache/charge-zones where pip may not install for the user), then found
#     as above.
# Every step runs in the sourcing shell, so the PATH it sets holds for what that script
# runs next (the bug this replaces: uv installed and put on PATH in a child only).
# Sets UV to uv's full path.

_cz_uv_log() { echo "scripts: $*" >&2; }

# Prints the path of an existing uv, or nothing.
_cz_find_uv() {
  local cand py
  if cand=$(command -v uv 2>/dev/null) && [ -x "$cand" ]; then
    echo "$cand"; return 0
  fi
  for cand in \
    "${XDG_BIN_HOME:-$HOME/.local/bin}/uv" \
    "$HOME/.local/bin/uv" \
    "$HOME/.cargo/bin/uv" \
    "${XDG_CACHE_HOME:-$HOME/.cache}/charge-zones/uv-venv/bin/uv"; do
    if [ -x "$cand" ]; then echo "$cand"; return 0; fi
  done
  # uv installed as a Python package (pip install uv): it knows where its binary is.
  for py in python3 python; do
    command -v "$py" >/dev/null 2>&1 || continue
    cand=$("$py" -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null) || continue
    if [ -n "$cand" ] && [ -x "$cand" ]; then echo "$cand"; return 0; fi
  done
  return 1
}

_cz_install_uv() {
  local py venv
  py=$(command -v python3 || command -v python || true)
  if [ -z "$py" ]; then
    _cz_uv_log "neither uv nor python3 found; install Python 3 (or uv) first"
    return 1
  fi
  _cz_uv_log "uv not found: installing it from PyPI with $py -m pip"
  "$py" -m pip install --quiet --user uv >&2 2>/dev/null && return 0
  # pip refuses --user inside a virtualenv, and on an "externally managed" system Python:
  # a virtualenv's own site then, else a private venv of our own.
  if "$py" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null; then
    "$py" -m pip install --quiet uv >&2 && return 0
  fi
  venv=${XDG_CACHE_HOME:-$HOME/.cache}/charge-zones/uv-venv
  "$py" -m venv "$venv" >&2 && "$venv/bin/python" -m pip install --quiet uv >&2 && return 0
  _cz_uv_log "could not install uv with pip (see above); install uv and run this again"
  return 1
}

cz_ensure_uv() {
  if ! UV=$(_cz_find_uv); then
    _cz_install_uv || return 1
    UV=$(_cz_find_uv) || { _cz_uv_log "uv was installed but cannot be found"; return 1; }
  fi
  case ":$PATH:" in
    *":$(dirname "$UV"):"*) ;;
    *) PATH="$(dirname "$UV"):$PATH" ;;
  esac
  export PATH UV
}
