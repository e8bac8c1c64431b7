#!/usr/bin/env bash
# Builds kvmgr's "test guest": a tiny Linux (Debian cloud kernel + busybox +
# qemu-ga) whose root file system is its initramfs, so no disk is needed.
#
#   guest/build-test-guest.sh [--force]
#
# Output (never committed), in ${KVMGR_CACHE_DIR:-/var/cache/kvmgr}/images/test-guest/:
#   vmlinuz, initrd.img, manifest.json, and vmlinux (the same kernel
#   uncompressed, for faster PVH boot; best effort).
# images/test-guest is a symlink to the current build (.test-guest.XXXXXX) and
# is swapped atomically, so readers never see a half-built image. If the
# inputs are unchanged it prints "test guest up to date" and exits 0.
# The downloaded kernel package is kept in ${KVMGR_CACHE_DIR}/downloads/.
# Needs root to install missing Debian packages. See guest/README.md for how
# to boot it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${KVMGR_CACHE_DIR:-/var/cache/kvmgr}
imgdir=$cache/images
out=$imgdir/test-guest
dldir=$cache/downloads
meta_pkg=linux-image-cloud-amd64
format=1

# Modules wanted in the guest (their dependencies are added from modinfo).
# Network drivers are loaded first so DHCP starts early; a module that is
# built in, or absent from this kernel, is skipped.
mods_net=(virtio_pci virtio_net)
mods_rest=(virtio_console virtio_blk virtio_balloon virtio_rng button evdev)

log() { printf 'build-test-guest: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

force=0
for a in "$@"; do
	case "$a" in
	--force | -f) force=1 ;;
	-h | --help)
		sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument: $a (try --help)" ;;
	esac
done
[ "${KVMGR_TEST_GUEST_FORCE:-0}" = 1 ] && force=1

# --- host tools and packages ------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
apt_updated=0
apt_update() {
	if [ "$apt_updated" = 0 ]; then
		log "apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		apt_updated=1
	fi
}
missing=()
for p in busybox-static qemu-guest-agent cpio kmod gzip; do
	installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}) and not root to install them"
	apt_update
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

pkg_version() { dpkg-query -W -f='${Version}' "$1"; }
pkg_file() { # package, regex of the path
	dpkg -L "$1" | grep -E "$2" | head -n1
}
busybox_bin=$(pkg_file busybox-static '^(/usr)?/bin/busybox$')
qemu_ga_bin=$(pkg_file qemu-guest-agent '^(/usr)?/s?bin/qemu-ga$')
[ -x "$busybox_bin" ] || die "busybox binary of busybox-static not found"
[ -x "$qemu_ga_bin" ] || die "qemu-ga binary of qemu-guest-agent not found"
busybox_version=$(pkg_version busybox-static)
qemu_ga_version=$(pkg_version qemu-guest-agent)

# The real kernel package behind linux-image-cloud-amd64 (never installed).
# One apt-cache call (each costs ~0.5 s when apt's pkgcache is disabled):
# the meta package's Depends names it, normally with its exact version.
resolve_kernel() {
	apt-cache show --no-all-versions "$meta_pkg" 2>/dev/null | awk '
		$1 == "Depends:" {
			n = split(substr($0, 10), deps, ",")
			for (i = 1; i <= n; i++) {
				if (match(deps[i], /linux-image-[0-9][^ ]*/)) {
					name = substr(deps[i], RSTART, RLENGTH)
					ver = ""
					if (match(deps[i], /\(= [^)]*\)/)) ver = substr(deps[i], RSTART + 3, RLENGTH - 4)
					print name, ver
					exit
				}
			}
		}'
}
read -r kernel_pkg kernel_pkg_version < <(resolve_kernel || true) || true
if [ -z "${kernel_pkg:-}" ]; then
	apt_update
	read -r kernel_pkg kernel_pkg_version < <(resolve_kernel || true) || true
fi
[ -n "${kernel_pkg:-}" ] || die "cannot resolve the package $meta_pkg depends on"
if [ -z "${kernel_pkg_version:-}" ]; then
	kernel_pkg_version=$(apt-cache show --no-all-versions "$kernel_pkg" 2>/dev/null |
		awk '$1 == "Version:" { print $2; exit }')
fi
[ -n "$kernel_pkg_version" ] || die "no version for $kernel_pkg"

# qemu-ga's shared libraries and dynamic loader, as ldd lists them.
qemu_ga_libs=$(ldd "$qemu_ga_bin" | awk '
	$2 == "=>" && $3 ~ /^\// { print $3; next }
	$1 ~ /^\// { print $1 }' | sort -u)
[ -n "$qemu_ga_libs" ] || die "ldd found no libraries for $qemu_ga_bin"

# --- input hash ---------------------------------------------------------------
input_hash=$(
	{
		echo "format $format"
		echo "kernel $kernel_pkg $kernel_pkg_version"
		echo "busybox-static $busybox_version"
		echo "qemu-guest-agent $qemu_ga_version"
		echo "modules ${mods_net[*]} / ${mods_rest[*]}"
		# shellcheck disable=SC2046,SC2086
		sha256sum "$busybox_bin" "$qemu_ga_bin" $(readlink -f $qemu_ga_libs)
		cd "$here"
		find build-test-guest.sh rootfs \( -type f -o -type l \) -printf '%p %m %l\n' | LC_ALL=C sort
		find build-test-guest.sh rootfs -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
	} | sha256sum | cut -c1-64
)

manifest_hash() {
	[ -f "$1/manifest.json" ] || return 0
	sed -n 's/^ *"inputHash": *"\([0-9a-f]*\)".*/\1/p' "$1/manifest.json"
}
up_to_date() {
	[ "$force" = 0 ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ] &&
		[ "$(manifest_hash "$out")" = "$input_hash" ]
}
if up_to_date; then
	echo "test guest up to date"
	exit 0
fi

mkdir -p "$imgdir" "$dldir"
exec 9>"$imgdir/.test-guest.lock"
flock 9
# Another build may have finished while we waited for the lock.
if up_to_date; then
	echo "test guest up to date"
	exit 0
fi

# Leftovers of a build that was killed (we hold the lock: nobody else builds).
current=$(readlink "$out" 2>/dev/null || true)
for d in "$imgdir"/.build.* "$imgdir"/.test-guest.*; do
	[ -d "$d" ] && [ ! -L "$d" ] && [ "${d##*/}" != "$current" ] && rm -rf "$d"
done

t0=$(date +%s.%N)
scratch=$(mktemp -d "$imgdir/.build.XXXXXX")
final=$(mktemp -d "$imgdir/.test-guest.XXXXXX")
published=0
cleanup() {
	rm -rf "$scratch"
	[ "$published" = 1 ] || rm -rf "$final"
	rm -f "$imgdir/.test-guest.link.$$"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- kernel -------------------------------------------------------------------
deb_version_enc=${kernel_pkg_version//:/%3a}
deb=$dldir/${kernel_pkg}_${deb_version_enc}_amd64.deb
if [ ! -s "$deb" ] || [ "$(dpkg-deb -f "$deb" Version 2>/dev/null)" != "$kernel_pkg_version" ]; then
	log "downloading $kernel_pkg $kernel_pkg_version"
	mkdir -p "$scratch/dl"
	(cd "$scratch/dl" && apt-get download -q -o APT::Sandbox::User=root \
		"$kernel_pkg=$kernel_pkg_version" >&2) ||
		die "apt-get download $kernel_pkg=$kernel_pkg_version failed"
	got=$(find "$scratch/dl" -name '*.deb' | head -n1)
	[ -n "$got" ] || die "apt-get download left no .deb"
	# Keep only the current kernel package in the download cache.
	find "$dldir" -maxdepth 1 -name 'linux-image-*.deb' -delete
	mv "$got" "$deb.part"
	mv "$deb.part" "$deb"
fi
log "extracting $(basename "$deb")"
kx=$scratch/kernel
dpkg-deb -x "$deb" "$kx"
vmlinuz=$(find "$kx/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n1)
[ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in $deb"
kver=${vmlinuz##*/vmlinuz-}
kmods=$kx/lib/modules/$kver
[ -d "$kmods/kernel" ] || die "no lib/modules/$kver in $deb"

# --- root file system -----------------------------------------------------------
root=$scratch/root
mkdir -p "$root"
for d in bin sbin usr/bin usr/sbin etc dev proc sys run tmp root var/log \
	lib/x86_64-linux-gnu lib64 "lib/modules/$kver" etc/kvmgr; do
	mkdir -p "$root/$d"
done
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
ln -s ../run "$root/var/run"
if [ "$(id -u)" = 0 ]; then
	# The kernel opens /dev/console before /init mounts devtmpfs.
	mknod -m 600 "$root/dev/console" c 5 1
fi

# busybox and its applets
install -m 755 "$busybox_bin" "$root/bin/busybox"
"$busybox_bin" --list-full | while read -r applet; do
	[ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

# qemu-ga with its libraries (copied to the path ldd names) and the loader
install -m 755 "$qemu_ga_bin" "$root/usr/sbin/qemu-ga"
for lib in $qemu_ga_libs; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done

# Kernel modules: wanted ones that are modules here, plus their dependencies.
declare -A modpath=()
while IFS= read -r f; do
	n=${f##*/}
	n=${n%%.ko*}
	modpath[${n//-/_}]=$f
done < <(find "$kmods/kernel" -name '*.ko*')
is_builtin() { grep -q "/${1}.ko\$" "$kmods/modules.builtin" 2>/dev/null || grep -q "/${1//_/-}.ko\$" "$kmods/modules.builtin" 2>/dev/null; }
declare -A picked=()
pick() { # add module $1 and its dependencies
	local m=${1//-/_} dep
	[ -n "${picked[$m]:-}" ] && return 0
	[ -n "${modpath[$m]:-}" ] || die "module $m (a dependency) not found"
	picked[$m]=1
	for dep in $(modinfo -F depends "${modpath[$m]}" | tr ',' ' '); do
		pick "$dep"
	done
}
select_mods() { # prints the wanted modules of "$@" that exist as modules
	local m
	for m in "$@"; do
		if [ -n "${modpath[$m]:-}" ]; then
			pick "$m"
			printf '%s ' "$m"
		elif is_builtin "$m"; then
			log "module $m: built into the kernel"
		else
			log "module $m: not in this kernel, skipped"
		fi
	done
}
load_net=$(select_mods "${mods_net[@]}")
load_rest=$(select_mods "${mods_rest[@]}")
echo "${load_net% }" >"$root/etc/kvmgr/modules.net"
echo "${load_rest% }" >"$root/etc/kvmgr/modules.rest"
# (pick ran in subshells above; redo it here so picked[] is filled)
for m in $load_net $load_rest; do pick "$m"; done
for m in "${!picked[@]}"; do
	src=${modpath[$m]}
	rel=${src#"$kmods"/}
	mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
	case "$src" in
	*.ko) cp "$src" "$root/lib/modules/$kver/$rel" ;;
	*.ko.xz) xz -dc "$src" >"$root/lib/modules/$kver/${rel%.xz}" ;;
	*.ko.zst) zstd -qdc "$src" >"$root/lib/modules/$kver/${rel%.zst}" ;;
	*.ko.gz) gzip -dc "$src" >"$root/lib/modules/$kver/${rel%.gz}" ;;
	*) die "unknown module format: $src" ;;
	esac
done
for f in modules.builtin modules.order; do
	[ -f "$kmods/$f" ] && cp "$kmods/$f" "$root/lib/modules/$kver/"
done
touch "$root/lib/modules/$kver/modules.builtin.modinfo" # quiets depmod
depmod -b "$root" "$kver"
# busybox modprobe only needs modules.dep; drop depmod's binary indexes.
rm -f "$root/lib/modules/$kver/"*.bin "$root/lib/modules/$kver/modules.builtin.modinfo"
modules_all=$(printf '%s\n' "${!picked[@]}" | LC_ALL=C sort | tr '\n' ' ')
modules_all=${modules_all% }

# Our init, scripts and config (guest/rootfs/ mirrors the guest's /).
cp -a "$here/rootfs/." "$root/"
chmod 755 "$root/init"

# --- assemble -----------------------------------------------------------------------
cp "$vmlinuz" "$final/vmlinuz"

# Also an uncompressed vmlinux (ELF with a PVH entry point): QEMU can boot it
# directly with -kernel, which skips the firmware-side setup and the in-guest
# decompression (~0.35 s faster under TCG). Best effort: skipped if the kernel
# has no PVH support or its payload cannot be decompressed here.
bz_u() { od -An -tu"$3" -j "$2" -N"$3" "$1" | tr -d ' \n'; } # file, offset, bytes
bz_x() { od -An -tx1 -j "$2" -N"$3" "$1" | tr -d ' \n'; }
extract_vmlinux() { # bzImage, output
	local bz=$1 outf=$2 sects off len tool pkg
	sects=$(bz_u "$bz" $((0x1f1)) 1)
	[ "$sects" = 0 ] && sects=4
	off=$(bz_u "$bz" $((0x248)) 4) # payload_offset, from the protected-mode code
	len=$(bz_u "$bz" $((0x24c)) 4) # payload_length
	[ -n "$off" ] && [ -n "$len" ] && [ "$len" -gt 4 ] || return 1
	off=$(((sects + 1) * 512 + off))
	case "$(bz_x "$bz" "$off" 6)" in
	1f8b*) tool="gzip -dc" pkg=gzip ;;
	fd377a585a00) tool="xz -dc --single-stream" pkg=xz-utils ;;
	28b52ffd*) tool="zstd -qdc" pkg=zstd ;;
	02214c18*) tool="lz4 -dc" pkg=lz4 ;;
	425a68*) tool="bzip2 -dc" pkg=bzip2 ;;
	5d0000*) tool="xz -dc --format=lzma" pkg=xz-utils ;;
	894c5a4f*) tool="lzop -dc" pkg=lzop ;;
	*) return 1 ;;
	esac
	if ! command -v "${tool%% *}" >/dev/null && [ "$(id -u)" = 0 ]; then
		apt_update
		log "installing $pkg (to unpack the kernel for PVH boot)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >&2 || true
	fi
	command -v "${tool%% *}" >/dev/null || return 1
	# The payload ends with its 4-byte uncompressed size: leave that out.
	dd if="$bz" bs=64K iflag=skip_bytes,count_bytes skip="$off" count=$((len - 4)) status=none |
		$tool >"$outf" 2>/dev/null || true
	[ "$(bz_x "$outf" 0 4)" = 7f454c46 ] # ELF
}
vmlinux_file=
if grep -q '^CONFIG_PVH=y' "$kx/boot/config-$kver" 2>/dev/null; then
	if extract_vmlinux "$vmlinuz" "$final/vmlinux"; then
		chmod 644 "$final/vmlinux"
		vmlinux_file=vmlinux
	else
		rm -f "$final/vmlinux"
		log "warning: could not unpack vmlinux for PVH boot; only vmlinuz is built"
	fi
fi
find "$root" -exec touch -h -d @0 {} + # same inputs, same initrd
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --reproducible --quiet) |
	gzip -9 -n >"$final/initrd.img"
chmod 644 "$final/vmlinuz" "$final/initrd.img"

busybox_upstream=$("$busybox_bin" 2>&1 | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p')
qemu_ga_upstream=$("$qemu_ga_bin" --version 2>&1 | sed -n 's/^QEMU Guest Agent \([0-9][^ ,]*\).*/\1/p' | head -n1)
json_list() { # words -> "a", "b"
	local first=1 w
	for w in $1; do
		[ "$first" = 1 ] || printf ', '
		printf '"%s"' "$w"
		first=0
	done
}
cat >"$final/manifest.json" <<EOF
{
  "name": "kvmgr-test-guest",
  "format": $format,
  "inputHash": "$input_hash",
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "kernel": {
    "version": "$kver",
    "package": "$kernel_pkg",
    "packageVersion": "$kernel_pkg_version",
    "file": "vmlinuz",
    "sha256": "$(sha256sum "$final/vmlinuz" | cut -c1-64)",
    "size": $(stat -c %s "$final/vmlinuz")
  },
  "initrd": {
    "file": "initrd.img",
    "sha256": "$(sha256sum "$final/initrd.img" | cut -c1-64)",
    "size": $(stat -c %s "$final/initrd.img")
  },
  "pvhKernel": $(if [ -n "$vmlinux_file" ]; then printf '{ "file": "%s", "size": %s }' "$vmlinux_file" "$(stat -c %s "$final/$vmlinux_file")"; else printf null; fi),
  "busybox": { "version": "$busybox_upstream", "packageVersion": "$busybox_version" },
  "qemuGa": { "version": "$qemu_ga_upstream", "packageVersion": "$qemu_ga_version" },
  "modules": [$(json_list "$modules_all")],
  "cmdline": "console=ttyS0 console=tty0 quiet cryptomgr.notests",
  "bootedMarker": "kvmgr-test-guest: booted",
  "guestAgentPort": "org.qemu.guest_agent.0"
}
EOF
chmod 755 "$final"

# --- publish atomically ---------------------------------------------------------------
if [ -d "$out" ] && [ ! -L "$out" ]; then
	# An old layout (plain directory): move it out of the way first.
	mv "$out" "$imgdir/.test-guest.old.$$"
fi
ln -sfn "$(basename "$final")" "$imgdir/.test-guest.link.$$"
mv -Tf "$imgdir/.test-guest.link.$$" "$out"
published=1
for d in "$imgdir"/.test-guest.*; do
	[ -d "$d" ] && [ ! -L "$d" ] && [ "$d" != "$final" ] && rm -rf "$d"
done

t1=$(date +%s.%N)
log "built $out -> $(basename "$final") (kernel $kver, initrd $(stat -c %s "$final/initrd.img") bytes, $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s)"
echo "test guest built: $out"
