# Shared by the rescue image's build scripts (board/*/): the environment the
# Makefile passes, reading the Kconfig .config, messages. Source it (bash).
#
# FERRY_CONFIG     the .config (Kconfig output, read, never sourced)
# FERRY_BUILD_DIR  scratch space: unpacked packages, the staging rootfs
# FERRY_DL_DIR     downloaded .deb files, kept between builds
# FERRY_BIN        the static ferry (mkinitramfs.sh only)
# FERRY_VERSION    shown in the banner and the boot menus
# shellcheck shell=bash disable=SC2034 # its variables are for the scripts that source it

: "${FERRY_CONFIG:?FERRY_CONFIG must name the .config}"
: "${FERRY_BUILD_DIR:?FERRY_BUILD_DIR must name the rescue build directory}"
: "${FERRY_DL_DIR:?FERRY_DL_DIR must name the download directory}"
FERRY_VERSION=${FERRY_VERSION:-0.1}

log() { printf '  %-7s %s\n' RESCUE "$*"; }
warn() { printf 'ferry rescue: warning: %s\n' "$*" >&2; }
die() {
	printf 'ferry rescue: %s\n' "$*" >&2
	exit 1
}

# cfg NAME: the value of CONFIG_NAME in the .config, unquoted (empty when it
# is not set). Kconfig writes strings in double quotes with \" and \\.
cfg() {
	sed -n "s/^CONFIG_$1=//p" "$FERRY_CONFIG" | sed 's/^"\(.*\)"$/\1/; s/\\\(.\)/\1/g'
}

# cfg_cloud: the default cloud profile's name.
cfg_cloud() {
	sed -n 's/^CONFIG_FERRY_RESCUE_CLOUD_\([A-Z]*\)=y$/\1/p' "$FERRY_CONFIG" | tr '[:upper:]' '[:lower:]'
}

# kernel_args: the kernel command line of the default boot entries. The
# default cloud is not on it (it would override a job file's): ferry run
# reads it from /etc/ferry/rescue.conf (stage_config).
kernel_args() {
	local serial args="console=tty0"
	serial=$(cfg FERRY_RESCUE_CONSOLE)
	[ -z "$serial" ] || args="$args console=$serial"
	printf '%s' "$args"
}

# serial_unit / serial_speed: ttyS1,57600 -> 1 / 57600 (empty without one).
serial_unit() {
	cfg FERRY_RESCUE_CONSOLE | sed -n 's/^ttyS\([0-9]*\).*/\1/p'
}
serial_speed() {
	local c
	c=$(cfg FERRY_RESCUE_CONSOLE)
	case $c in
	*,*) c=${c#*,} && printf '%s\n' "${c%%[!0-9]*}" ;;
	ttyS*) echo 9600 ;;
	esac
}

# fill NAME=VALUE... <TEMPLATE: TEMPLATE with each @NAME@ replaced by its
# VALUE, taken literally (values may hold /, & and newlines).
fill() {
	local kv names=""
	for kv in "$@"; do
		export "FILL_${kv%%=*}=${kv#*=}"
		names="$names ${kv%%=*}"
	done
	awk -v names="$names" '
	BEGIN { n = split(names, k, " ") }
	{
		line = $0
		for (i = 1; i <= n; i++) {
			pat = "@" k[i] "@"
			out = ""
			while ((p = index(line, pat)) > 0) {
				out = out substr(line, 1, p - 1) ENVIRON["FILL_" k[i]]
				line = substr(line, p + length(pat))
			}
			line = out line
		}
		print line
	}'
}

# check_label: the boot medium's label must be a valid ISO 9660 volume id
# that the kernel command line can carry.
check_label() {
	local label
	label=$(cfg FERRY_RESCUE_LABEL)
	case $label in
	'' | *[!A-Za-z0-9_-]*) die "CONFIG_FERRY_RESCUE_LABEL '$label': use 1 to 32 letters, digits, _ or -" ;;
	esac
	[ "${#label}" -le 32 ] || die "CONFIG_FERRY_RESCUE_LABEL '$label' is longer than 32 characters"
	printf '%s\n' "$label"
}

# The products of mkinitramfs.sh that the post-image scripts put on media.
RESCUE_KERNEL=$FERRY_BUILD_DIR/vmlinuz
RESCUE_INITRD=$FERRY_BUILD_DIR/initrd.img
# Packages unpacked by fetch.sh, one directory each.
RESCUE_PKGS=$FERRY_BUILD_DIR/pkgs
