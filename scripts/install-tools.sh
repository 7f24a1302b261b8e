#!/usr/bin/env bash
# Build the pinned OpenFGA server and FGA CLI into .tools/bin (ignored), once.
set -euo pipefail
cd "$(dirname "$0")/.."
OPENFGA_VERSION=v1.22.1
FGA_CLI_VERSION=v0.7.8
BIN="$PWD/.tools/bin"
mkdir -p "$BIN"
export CGO_ENABLED=0

# Rebuild when the pinned version changes (the binaries carry it in a stamp file).
if [ "$(cat "$BIN/.version" 2>/dev/null)" != "$OPENFGA_VERSION $FGA_CLI_VERSION" ]; then
  rm -f "$BIN/openfga" "$BIN/fga"
fi

if [ ! -x "$BIN/openfga" ]; then
  echo "building openfga $OPENFGA_VERSION…"
  GOBIN="$BIN" go install "github.com/openfga/openfga/cmd/openfga@$OPENFGA_VERSION"
fi

if [ ! -x "$BIN/fga" ]; then
  # `go install …/cli/cmd/fga@v0.7.8` cannot be used here: the module proxy
  # refuses the CLI's version list and the openfga release the CLI pins
  # (v1.10.4). So build the CLI's source with the openfga server version we
  # run (see OPENFGA_VERSION) as its dependency.
  echo "building fga CLI $FGA_CLI_VERSION…"
  src=$(go mod download -json "github.com/openfga/cli@$FGA_CLI_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  work=$(mktemp -d)
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  (cd "$work" && go mod edit -require "github.com/openfga/openfga@$OPENFGA_VERSION" && GOFLAGS=-mod=mod go build -o "$BIN/fga" ./cmd/fga)
  rm -rf "$work"
fi
echo "$OPENFGA_VERSION $FGA_CLI_VERSION" >"$BIN/.version"
"$BIN/openfga" version 2>&1 | head -1 || true

# nginx (Debian package) for the gateway integration test; installed when
# missing and this user can (root with apt-get), as on this project's machines.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing nginx (Debian package)…"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) ||
      echo "warning: nginx could not be installed; the gateway nginx test will fail" >&2
  else
    echo "warning: nginx is missing (apt-get install nginx); the gateway nginx test needs it" >&2
  fi
fi
