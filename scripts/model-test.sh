#!/usr/bin/env bash
# Runs every model test file (model/**/*.fga.yaml) with the OpenFGA CLI's
# embedded engine: `fga model test --tests <file>`. No server is needed.
#
# It regenerates nothing: run `npx tsx scripts/gen-model-tests.ts` after
# changing src/engine/permissions.ts (a unit test fails when the generated
# matrix is stale).
#
# The fga binary is looked up in this order: $FGA_BIN, .tools/bin/fga, PATH;
# if none is found and Go is available, scripts/install-tools.sh builds it.
#
# Exit status: 0 when every file passes, 1 otherwise. The last line of output
# is always "N passed, M failed" (N, M = numbers of test files).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

find_fga() {
  if [[ -n "${FGA_BIN:-}" ]]; then
    if [[ -x "$FGA_BIN" ]] || command -v "$FGA_BIN" >/dev/null 2>&1; then
      echo "$FGA_BIN"
      return 0
    fi
    echo "FGA_BIN=$FGA_BIN is not an executable" >&2
    return 1
  fi
  if [[ -x "$ROOT/.tools/bin/fga" ]]; then
    echo "$ROOT/.tools/bin/fga"
    return 0
  fi
  if command -v fga >/dev/null 2>&1; then
    command -v fga
    return 0
  fi
  if command -v go >/dev/null 2>&1; then
    # A plain `go install …/cli/cmd/fga@v0.7.8` fails behind this module proxy
    # (see scripts/install-tools.sh), which builds it another way.
    echo "fga not found: building it with scripts/install-tools.sh" >&2
    if bash "$ROOT/scripts/install-tools.sh" >&2 && [[ -x "$ROOT/.tools/bin/fga" ]]; then
      echo "$ROOT/.tools/bin/fga"
      return 0
    fi
    echo "building the fga CLI failed" >&2
    return 1
  fi
  echo "fga CLI not found: set FGA_BIN, put fga on PATH, or install Go" >&2
  return 1
}

# Test files, sorted for a stable order.
mapfile -t files < <(find model -type f -name '*.fga.yaml' | LC_ALL=C sort)

if [[ ${#files[@]} -eq 0 ]]; then
  echo "no model test files found under model/" >&2
  echo "0 passed, 0 failed"
  exit 1
fi

if ! FGA="$(find_fga)"; then
  echo "0 passed, ${#files[@]} failed"
  exit 1
fi

passed=0
failed=0
failed_files=()
for file in "${files[@]}"; do
  echo "==> $file"
  if "$FGA" model test --tests "$file"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failed_files+=("$file")
  fi
  echo
done

if [[ $failed -gt 0 ]]; then
  echo "failing test files:"
  printf '  %s\n' "${failed_files[@]}"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
