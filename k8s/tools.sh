#!/usr/bin/env bash
# Installs the pinned tools that render the Kubernetes manifests offline into a
# per-user cache outside the work tree, and prints the path of each.
# Idempotent: a tool already there at the pinned version is left alone, so
# only the first run on a machine needs the Go toolchain and the module proxy.
#
#   k8s/tools.sh              install what is missing, print "name path" lines
#   k8s/tools.sh kustomize    the same, then print only kustomize's path
#
# Then: "$(k8s/tools.sh kustomize)" build k8s/overlays/prod
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.2
KUSTOMIZE_MODULE=sigs.k8s.io/kustomize/kustomize/v5

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Outside the work tree by default, so a fresh clone on the same machine reuses it.
bin_dir="${TOOLS_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aftersales-platform/bin}"
mkdir -p "$bin_dir"

log() { echo "tools.sh: $*" >&2; }

# One installer at a time (parallel test runs share the cache).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$bin_dir/.tools.lock"
  flock 9
fi

kustomize_ok() {
  [[ -x "$bin_dir/kustomize" ]] &&
    [[ "$("$bin_dir/kustomize" version 2>/dev/null)" == "$KUSTOMIZE_VERSION"* ]]
}

install_kustomize() {
  if kustomize_ok; then
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    log "kustomize $KUSTOMIZE_VERSION is not in $bin_dir and there is no Go toolchain to build it"
    log "install Go (https://go.dev/doc/install), or put kustomize $KUSTOMIZE_VERSION at $bin_dir/kustomize"
    return 1
  fi
  log "building kustomize $KUSTOMIZE_VERSION with $(go version) (first run only)"
  if [[ -z "${HOME:-}" ]]; then  # CI without a home: keep Go's caches in ours
    export GOPATH="${GOPATH:-$repo_root/.cache/go}" GOCACHE="${GOCACHE:-$repo_root/.cache/go-build}"
  fi
  # Build outside the repository so no go.mod of ours is consulted.
  (cd "${TMPDIR:-/tmp}" &&
    GOBIN="$bin_dir" GOFLAGS="-trimpath -modcacherw" go install "$KUSTOMIZE_MODULE@$KUSTOMIZE_VERSION") >&2
  if ! kustomize_ok; then
    log "kustomize at $bin_dir/kustomize does not report $KUSTOMIZE_VERSION"
    return 1
  fi
}

install_kustomize

case "${1:-}" in
  "") echo "kustomize $bin_dir/kustomize" ;;
  kustomize) echo "$bin_dir/kustomize" ;;
  *) log "unknown tool: $1"; exit 2 ;;
esac
