#!/usr/bin/env bash
# partner-vpn lab: builds a bootable Debian root (debootstrap minbase, as the cloud image's base)
# with a local apt repository of exactly the packages the bootstrap may install, so that inside
# the lab (no route anywhere) the bootstrap's own `apt-get update && apt-get install` runs
# unchanged and a package it forgets is really missing.
# Two cached layers: BASE (debootstrap, the slow part: minutes) is made once per release and base
# package list; TARGET is a copy of it plus the mirror (about a minute), so a change of the
# bootstrap's package list does not re-run debootstrap.
# Usage: build.sh RELEASE TARGET BASE DEB_CACHE BASE_PACKAGES MIRROR_PACKAGES LAB_PACKAGES [APART_PACKAGES]
#   RELEASE          trixie | bookworm
#   TARGET           folder to create (must not exist); built in TARGET.tmp, then renamed
#   BASE             the debootstrap layer's folder; made (BASE.tmp, renamed) when missing
#   DEB_CACHE        debootstrap's download cache, shared between builds
#   BASE_PACKAGES    comma-separated, installed in the image (what a Debian cloud image has)
#   MIRROR_PACKAGES  space-separated, downloaded with their dependencies into /srv/pvl-mirror
#   LAB_PACKAGES     space-separated, installed in the image: the lab's deviations (kernel-libipsec)
#   APART_PACKAGES   space-separated, downloaded with their dependencies in a second pass into the
#                    same mirror: packages that conflict with MIRROR_PACKAGES (libreswan)
# The caller holds a lock, so two builds of one TARGET never run at once.
set -euo pipefail

release=${1:?usage: build.sh RELEASE TARGET BASE DEB_CACHE BASE_PACKAGES MIRROR_PACKAGES}
target=${2:?}
base_dir=${3:?}
deb_cache=${4:?}
base=${5:?}
read -r -a mirror_packages <<<"${6:?}"
read -r -a lab_packages <<<"${7:?}"
read -r -a apart_packages <<<"${8:-}"
archive=${PVL_DEBIAN_ARCHIVE:-http://deb.debian.org/debian}

[ ! -e "$target" ] || { echo "build.sh: $target exists" >&2; exit 2; }
work="$target.tmp"
rm -rf "$work"
mkdir -p "$work" "$deb_cache"
root="$work/rootfs"

stamp() { printf '%s %s\n' "$(date +%s.%N)" "$1" >>"$work/timings"; }

if [ ! -d "$base_dir/rootfs" ]; then
    rm -rf "$base_dir.tmp"
    mkdir -p "$base_dir.tmp"
    printf '%s debootstrap-start\n' "$(date +%s.%N)" >"$base_dir.tmp/timings"
    debootstrap --variant=minbase --cache-dir="$deb_cache" --include="$base" "$release" "$base_dir.tmp/rootfs" "$archive" >"$base_dir.tmp/debootstrap.log" 2>&1 \
        || { tail -20 "$base_dir.tmp/debootstrap.log" >&2; exit 1; }
    printf '%s debootstrap-end\n' "$(date +%s.%N)" >>"$base_dir.tmp/timings"
    mv "$base_dir.tmp" "$base_dir"
fi
cp "$base_dir/timings" "$work/timings"
stamp copy-start
cp -a --reflink=auto "$base_dir/rootfs" "$root"
stamp copy-end

# The mirror: what `apt-get install` of the bootstrap's packages needs on top of this image,
# resolved by the image's own apt against the release's archive (the host's network, at build
# time only: the lab itself never reaches it).
echo "deb $archive $release main" >"$root/etc/apt/sources.list"
rm -f "$root"/etc/apt/sources.list.d/*
chroot "$root" apt-get update -q >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; exit 1; }
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${lab_packages[@]}" >>"$work/apt.log" 2>&1 \
    || { tail -20 "$work/apt.log" >&2; exit 1; }
stamp lab-packages-end
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --download-only --no-install-recommends "${mirror_packages[@]}" >>"$work/apt.log" 2>&1 \
    || { tail -20 "$work/apt.log" >&2; exit 1; }
mirror="$root/srv/pvl-mirror"
mkdir -p "$mirror"
mv "$root"/var/cache/apt/archives/*.deb "$mirror"/
if [ "${#apart_packages[@]}" -gt 0 ]; then
    # A plan that would remove the conflicting packages; nothing is installed (download only).
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --download-only --no-install-recommends "${apart_packages[@]}" >>"$work/apt.log" 2>&1 \
        || { tail -20 "$work/apt.log" >&2; exit 1; }
    mv "$root"/var/cache/apt/archives/*.deb "$mirror"/
fi
stamp download-end
(cd "$mirror" && dpkg-scanpackages -m . >Packages 2>/dev/null)
{
    echo "Origin: partner-vpn-lab"
    echo "Label: partner-vpn-lab"
    echo "Suite: $release"
    echo "Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
    echo "Description: the packages the partner-vpn bootstrap may install, for a lab without network"
    echo "SHA256:"
    printf ' %s %s Packages\n' "$(sha256sum "$mirror/Packages" | cut -d' ' -f1)" "$(stat -c %s "$mirror/Packages")"
} >"$mirror/Release"
# Only the local repository remains: apt inside the lab cannot reach anything else.
echo "deb [trusted=yes] file:/srv/pvl-mirror ./" >"$root/etc/apt/sources.list"
rm -rf "$root"/var/lib/apt/lists/*
chroot "$root" apt-get update -q >>"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; exit 1; }
chroot "$root" apt-get clean
# A machine's identity is made at its first boot, as on a fresh instance.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
stamp mirror-end

sed -n 's/^Package: //p' "$mirror/Packages" | sort -u >"$work/mirror-packages"
mv "$work" "$target"
