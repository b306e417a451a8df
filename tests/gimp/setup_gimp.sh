#!/usr/bin/env bash
# Provide a headless GIMP 3 for the plug-in tests, and print how to run it.
#
#   tests/gimp/setup_gimp.sh            build or reuse, last stdout line: "native" or "chroot DIR"
#   tests/gimp/setup_gimp.sh --check    only report; exit 3 when nothing usable is there yet
#
# Debian 13 (trixie) or later: GIMP 3 comes from the distribution (installed natively).
# Older (Debian 12 bookworm): a trixie chroot built with debootstrap, cached at
#   $DREAMD_GIMP_CHROOT (default /var/cache/dreamd/gimp-trixie).
# The first build downloads ~200 MB of .debs and takes about a minute (50 s here; ~850 MB
# on disk); later runs take well under a second (a stamp file records what was installed).
#
# Environment:
#   DREAMD_GIMP_CHROOT      where the chroot lives   (default /var/cache/dreamd/gimp-trixie)
#   DREAMD_DEBIAN_MIRROR    Debian mirror           (default http://deb.debian.org/debian)
#   DREAMD_GIMP_PACKAGES    packages to install     (default "gimp python3-gi xvfb xdotool";
#                           Xvfb and xdotool drive the dialog test)
#   DREAMD_GIMP_NATIVE=0    never use a native GIMP, always the chroot
#
# Needs root (debootstrap, chroot, mount namespaces); debootstrap is installed with
# apt-get when missing. Mounts are made inside a private mount namespace (unshare -m),
# so nothing is left mounted when the script or a test dies.
set -euo pipefail

ROOT="${DREAMD_GIMP_CHROOT:-/var/cache/dreamd/gimp-trixie}"
MIRROR="${DREAMD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="${DREAMD_GIMP_PACKAGES:-gimp python3-gi xvfb xdotool}"
STAMP_FORMAT=1
STAMP="$ROOT/.dreamd-gimp-ready"
WANT_STAMP="format=$STAMP_FORMAT packages=$PACKAGES"
CHECK_ONLY=0
[[ "${1:-}" == "--check" ]] && CHECK_ONLY=1

log() { echo "setup_gimp: $*" >&2; }
die() { echo "setup_gimp: ERROR: $*" >&2; exit "${2:-1}"; }

codename() {
    # shellcheck disable=SC1091
    (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
}

native_ok() {
    [[ "${DREAMD_GIMP_NATIVE:-1}" != "0" ]] || return 1
    command -v gimp-console-3.0 >/dev/null 2>&1 || return 1
    python3 -c 'import gi' >/dev/null 2>&1 || return 1
}

# 1. A native GIMP 3: Debian 13 or later installs the packages; any other machine that
#    already has gimp-console-3.0 uses it as it is.
case "$(codename)" in
    trixie|forky|sid)
        if [[ "${DREAMD_GIMP_NATIVE:-1}" != "0" ]]; then
            # shellcheck disable=SC2086
            if ! dpkg -s $PACKAGES >/dev/null 2>&1; then
                if [[ $CHECK_ONLY == 1 || $(id -u) != 0 ]]; then
                    native_ok && { echo native; exit 0; }
                    [[ $CHECK_ONLY == 1 ]] && { log "GIMP 3 not installed"; exit 3; }
                    die "GIMP 3 is not installed and this is not root: apt-get install $PACKAGES" 2
                fi
                log "installing natively: $PACKAGES"
                export DEBIAN_FRONTEND=noninteractive
                apt-get update -qq >&2
                # shellcheck disable=SC2086
                apt-get install -y -qq --no-install-recommends $PACKAGES >&2
            fi
            native_ok || die "gimp-console-3.0 or python3-gi missing after installing $PACKAGES"
            echo native
            exit 0
        fi
        ;;
esac
if native_ok; then
    echo native
    exit 0
fi

# 2. A trixie chroot.
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT_STAMP" && -x "$ROOT/usr/bin/gimp-console-3.0" ]]; then
    echo "chroot $ROOT"
    exit 0
fi
[[ $CHECK_ONLY == 1 ]] && { log "no ready chroot at $ROOT"; exit 3; }
[[ $(id -u) == 0 ]] || die "building the GIMP 3 chroot needs root (debootstrap, chroot)" 2
command -v unshare >/dev/null || die "unshare (util-linux) is missing" 2

mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock 9
# Someone else may have finished while we waited for the lock.
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT_STAMP" && -x "$ROOT/usr/bin/gimp-console-3.0" ]]; then
    echo "chroot $ROOT"
    exit 0
fi

if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || true
    apt-get install -y -qq debootstrap >&2 || die "cannot install debootstrap" 2
fi
[[ -e /usr/share/debootstrap/scripts/trixie ]] || die "this debootstrap does not know trixie" 2

start=$(date +%s)
PARTIAL="$ROOT.partial"
rm -rf --one-file-system "$PARTIAL"
if [[ -d "$ROOT" && -x "$ROOT/usr/bin/apt-get" ]]; then
    # An older or unfinished chroot: reuse its base system, just (re)install packages.
    log "updating existing chroot $ROOT"
    mv "$ROOT" "$PARTIAL"
else
    rm -rf --one-file-system "$ROOT"
    log "debootstrap --variant=minbase trixie $PARTIAL $MIRROR (about a minute with a nearby mirror)"
    debootstrap --variant=minbase trixie "$PARTIAL" "$MIRROR" >&2 \
        || die "debootstrap failed (network to the Debian mirror?)"
fi
rm -f "$PARTIAL/.dreamd-gimp-ready"
cp -L /etc/resolv.conf "$PARTIAL/etc/resolv.conf" 2>/dev/null || true
log "apt-get install --no-install-recommends $PACKAGES"
# shellcheck disable=SC2016
unshare -m --propagation private env R="$PARTIAL" P="$PACKAGES" bash -ec '
    mount -t proc proc "$R/proc"
    mount --rbind /dev "$R/dev"
    chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        bash -ec "apt-get update -qq && apt-get install -y -qq --no-install-recommends $P && apt-get clean"
' >&2 || die "apt-get install in the chroot failed"
[[ -x "$PARTIAL/usr/bin/gimp-console-3.0" ]] || die "gimp-console-3.0 missing in the chroot after install"
rm -rf "$PARTIAL/var/lib/apt/lists/"* 2>/dev/null || true
echo "$WANT_STAMP" > "$PARTIAL/.dreamd-gimp-ready"
mv "$PARTIAL" "$ROOT"
log "GIMP 3 chroot ready at $ROOT in $(( $(date +%s) - start )) s"
echo "chroot $ROOT"
