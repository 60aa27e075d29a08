# Shared by the scripts that drive a built server from other clients (python-tests.sh,
# go-tests.sh): source it from the repository's root, then call `test_env`.
#
# test_env: checks STOREFRONT_BIN (default .build/debug/storefront), makes it an absolute path
# (the suites run from other directories), and makes or updates the Python virtual environment
# in .venv with Tests/python/requirements.txt.
test_env() {
  export STOREFRONT_BIN="${STOREFRONT_BIN:-.build/debug/storefront}"
  if [[ ! -x "$STOREFRONT_BIN" ]]; then
    echo "error: no storefront executable at $STOREFRONT_BIN" >&2
    echo "Build it first, or set STOREFRONT_BIN to the binary to test." >&2
    return 1
  fi
  STOREFRONT_BIN="$(cd "$(dirname "$STOREFRONT_BIN")" && pwd)/$(basename "$STOREFRONT_BIN")"
  if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
  fi
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -r Tests/python/requirements.txt
}
