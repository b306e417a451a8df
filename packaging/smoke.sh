#!/usr/bin/env bash
# Build packaging/Containerfile and smoke-test the image on a machine with no container
# registry (as CI's): rootful podman from Debian's packages, a Debian base made with
# debootstrap standing in for the CUDA base, wheels from a wheelhouse filled by the host's
# pip (no network inside the build), the CPU build of torch.
#
#   bash packaging/smoke.sh            build (caches reused) and test; needs root
#   bash packaging/smoke.sh --check    exit 0 when the caches exist (a run is then quick),
#                                      3 when the first run would have to make them
#
# What a pass proves: the Containerfile builds; the image runs dreamd as its own non-root
# user; it refuses to start without CURVE keys; with keys it serves tcp://0.0.0.0:5599,
# and dream-batch --connect on the host dreams an image through the published port with
# those keys, while a client with a key not on the allow-list gets nothing; the health
# check (dreamd status over the container's ipc socket) passes; podman stop's SIGTERM ends
# it with status 0. What it cannot prove: the CUDA base image and torch's CUDA build
# (neither can be fetched here), and anything about a GPU.
#
# Caches (reused by later runs; delete them to start over), under $DREAMD_CONTAINER_CACHE
# (default /var/cache/dreamd/container): the base's root file system as a tarball, the
# wheelhouse (refreshed when pyproject.toml's dependencies change), podman's own storage
# (images and build layers), and the containers.conf/storage.conf this script uses.
# A first run on a fresh machine: about 2-4 minutes of debootstrap and pip download, then
# the build; later runs only rebuild dreamd's layer.
#
# Environment: DREAMD_CONTAINER_CACHE, DREAMD_DEBIAN_MIRROR (http://deb.debian.org/debian),
# DREAMD_SMOKE_TORCH (torch==2.13.0: the CPU wheel on these machines' disk), PYTHON (the
# host Python with dreamd installed: .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${DREAMD_CONTAINER_CACHE:-/var/cache/dreamd/container}
MIRROR=${DREAMD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
TORCH=${DREAMD_SMOKE_TORCH:-torch==2.13.0}
PY=${PYTHON:-.venv/bin/python}
SUITE=bookworm   # its python3 is 3.11, as the wheelhouse's wheels (the host's Python)
BASE_IMAGE=localhost/dreamd-base:$SUITE
IMAGE=localhost/dreamd:smoke
# The Containerfile's default base: the build context of this name replaces it.
CUDA_BASE=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' packaging/Containerfile | head -1)
NAME=dreamd-smoke-$$

log() { echo "smoke: $*" >&2; }
die() { echo "smoke: FAILED: $*" >&2; exit 1; }

deps_key() {
    "$PY" - "$TORCH" <<'PY'
import hashlib, sys, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print(hashlib.sha256("\n".join([sys.argv[1], *deps]).encode()).hexdigest()[:16])
PY
}
KEY=$(deps_key)
ROOTFS_TAR=$CACHE/$SUITE-rootfs.tar
WHEELS=$CACHE/wheels-$KEY

if [[ "${1:-}" == "--check" ]]; then
    [[ -f $ROOTFS_TAR && -f $WHEELS/.complete ]] && command -v podman >/dev/null && exit 0
    exit 3
fi
[[ $(id -u) == 0 ]] || die "needs root (rootful podman, debootstrap)"
mkdir -p "$CACHE"

# -- podman, configured for these machines -------------------------------------------------
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
    log "installing podman and runc"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null
fi
# crun cannot start containers here, and the default limits on open files and processes
# are more than the sandbox lets a container set. Storage lives in the cache, so images and
# layers survive between runs.
cat >"$CACHE/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
EOF
cat >"$CACHE/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$CACHE/storage"
runroot = "/run/dreamd-smoke-storage"
EOF
export CONTAINERS_CONF=$CACHE/containers.conf CONTAINERS_STORAGE_CONF=$CACHE/storage.conf

# -- the base: Debian with python3, no registry needed ---------------------------------------
if [[ ! -f $ROOTFS_TAR ]]; then
    command -v debootstrap >/dev/null || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    log "debootstrap $SUITE (once)"
    tmp=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        "$SUITE" "$tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
        || { rm -rf "$tmp"; die "debootstrap failed (see $CACHE/debootstrap.log)"; }
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
    tar -C "$tmp" -cf "$ROOTFS_TAR.part" . && mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
    rm -rf "$tmp"
fi
if ! podman image exists "$BASE_IMAGE"; then
    log "importing the base image"
    podman import --quiet "$ROOTFS_TAR" "$BASE_IMAGE" >/dev/null
fi

# -- the wheelhouse: dreamd's wheel now, its dependencies from the cache ---------------------
WORK=$(mktemp -d /tmp/dreamd-smoke.XXXXXX)
cleanup() {
    podman rm -f "$NAME" >/dev/null 2>&1 || true
    podman volume rm -f "$NAME-cache" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
"$PY" -m build --wheel --no-isolation --outdir "$WORK/wheelhouse" . >"$WORK/build.log" 2>&1 \
    || die "python -m build failed: $(tail -5 "$WORK/build.log")"
if [[ ! -f $WHEELS/.complete ]]; then
    log "pip download: $TORCH and dreamd's dependencies (once per dependency list)"
    rm -rf "$WHEELS" && mkdir -p "$WHEELS"
    "$PY" -m pip download -q --dest "$WHEELS" --only-binary=:all: "$TORCH" \
        "$WORK"/wheelhouse/dreamd-*.whl >"$CACHE/pip-download.log" 2>&1 \
        || die "pip download failed (see $CACHE/pip-download.log)"
    rm -f "$WHEELS"/dreamd-*.whl
    touch "$WHEELS/.complete"
fi
cp -l "$WHEELS"/*.whl "$WORK/wheelhouse/" 2>/dev/null || cp "$WHEELS"/*.whl "$WORK/wheelhouse/"

# -- build ----------------------------------------------------------------------------------
log "podman build (base $BASE_IMAGE in place of $CUDA_BASE)"
started=$(date +%s)
podman build --pull=never --format docker --build-arg PIP_NO_INDEX=1 --build-arg DEPS_KEY="$KEY" \
    --build-context "$CUDA_BASE=container-image://$BASE_IMAGE" \
    -f packaging/Containerfile -t "$IMAGE" "$WORK/wheelhouse" >"$WORK/podman-build.log" 2>&1 \
    || die "podman build failed: $(tail -20 "$WORK/podman-build.log")"
log "built $IMAGE in $(($(date +%s) - started)) s"
podman image prune -f >/dev/null 2>&1 || true   # earlier builds' images; layers in use stay
# No systemd here to run health checks on a timer: they are run by hand below.
RUN=(podman run --health-interval=disable)
user=$("${RUN[@]}" --rm --entrypoint id "$IMAGE" -u 2>"$WORK/id.log")
[[ $user == 10001 ]] || die "the image runs as uid $user, not its own user 10001"

# -- never open without keys ----------------------------------------------------------------
set +e
"${RUN[@]}" --rm --name "$NAME-nokeys" "$IMAGE" >"$WORK/nokeys.log" 2>&1
code=$?
set -e
[[ $code == 4 ]] || die "without keys dreamd exited $code, not 4: $(cat "$WORK/nokeys.log")"
grep -q "server secret key" "$WORK/nokeys.log" || die "no word on the missing keys"
log "without keys: refused to start (exit 4)"

# -- serve with keys, dream from the host over tcp + CURVE ----------------------------------
"$PY" -m dreamd.daemon keygen --curve-dir "$WORK/keys" --client smoke >/dev/null
mkdir -p "$WORK/stranger"
"$PY" -m dreamd.daemon keygen --curve-dir "$WORK/stranger" --client stranger >/dev/null
chown -R 10001:10001 "$WORK/keys"   # the container's user reads its secret key (mode 600)
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${RUN[@]}" -d --name "$NAME" -p "127.0.0.1:$port:5599" -v "$WORK/keys:/keys:ro" \
    -v "$NAME-cache:/cache" "$IMAGE" >"$WORK/run.log" 2>&1 || die "podman run: $(cat "$WORK/run.log")"
deadline=$(($(date +%s) + 300))
until podman logs "$NAME" 2>&1 | grep -q " ready: "; do
    [[ $(podman inspect -f '{{.State.Running}}' "$NAME") == true ]] \
        || die "dreamd stopped: $(podman logs "$NAME" 2>&1 | tail -20)"
    (($(date +%s) < deadline)) || die "not ready in 300 s: $(podman logs "$NAME" 2>&1 | tail)"
    sleep 1
done
log "$(podman logs "$NAME" 2>&1 | grep " ready: " | tail -1)"
podman healthcheck run "$NAME" || die "the health check (dreamd status) failed"
log "health check passed"

endpoint=tcp://127.0.0.1:$port
"$PY" -m dreamd.batch --samples "$WORK/photos" >/dev/null
"$PY" -m dreamd.batch -s "$WORK/photos/chelsea.jpg" -d "$WORK/out" --connect "$endpoint" \
    --server-key "$WORK/keys/server.key" --client-key "$WORK/keys/clients/smoke.key_secret" \
    --octave-count 2 --steps-per-octave 2 --seed 1 >"$WORK/batch.log" 2>&1 \
    || die "dream-batch --connect failed: $(cat "$WORK/batch.log")"
[[ -s $WORK/out/chelsea.jpg ]] || die "no dreamed image"
grep -q "daemon" "$WORK/batch.log" || die "the dream did not go through the daemon"
log "dream-batch --connect $endpoint (CURVE): $(tail -1 "$WORK/batch.log")"
set +e
"$PY" -m dreamd.daemon status --connect "$endpoint" --timeout 3 \
    --server-key "$WORK/keys/server.key" \
    --client-key "$WORK/stranger/clients/stranger.key_secret" >"$WORK/stranger.log" 2>&1
code=$?
set -e
[[ $code == 3 ]] || die "a client key not on the allow-list got exit $code, not 3 (no answer)"
log "a stranger's key: no answer"

# -- SIGTERM --------------------------------------------------------------------------------
podman stop -t 60 "$NAME" >/dev/null 2>"$WORK/stop.log"
code=$(podman inspect -f '{{.State.ExitCode}}' "$NAME")
[[ $code == 0 ]] || die "after SIGTERM dreamd exited $code: $(podman logs "$NAME" 2>&1 | tail)"
podman logs "$NAME" 2>&1 | grep -q "stopped" || die "no 'stopped' line after SIGTERM"
log "SIGTERM: stopped cleanly (exit 0)"
echo "smoke: PASSED (built on $BASE_IMAGE, CPU torch: the CUDA base and GPUs are not tested)"
