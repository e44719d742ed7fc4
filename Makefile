# Ferry: Buildroot-style top-level Makefile.
# `make x86_64_defconfig && make` builds a static ferry in $(O) (default output/).

O ?= $(CURDIR)/output
override O := $(abspath $(O))
TOPDIR := $(CURDIR)
CONFIG := $(O)/.config
AUTOCONF := $(O)/include/generated/autoconf.h
DEFAULT_DEFCONFIG := x86_64_defconfig

ifneq ($(wildcard $(CONFIG)),)
include $(CONFIG)
endif

KCONF := kconfig-conf
KMCONF := kconfig-mconf
KCONFIG_ENV := KCONFIG_CONFIG=$(CONFIG) KCONFIG_AUTOHEADER=$(AUTOCONF) \
	KCONFIG_AUTOCONFIG=$(O)/include/config/auto.conf

CC ?= gcc
OBJDIR := $(O)/build/ferry
VERSION := $(shell git -C $(TOPDIR) describe --always --dirty 2>/dev/null || echo 0.1)

CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wno-format-nonliteral -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
	-DFERRY_VERSION='"$(VERSION)"' -I$(TOPDIR)/src -I$(O)/include/generated
ifeq ($(CONFIG_FERRY_DEBUG),y)
CFLAGS_OPT := -O0 -g3
else
CFLAGS_OPT := -O2 -g
endif
ifeq ($(CONFIG_FERRY_SANITIZE),y)
CFLAGS_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
# The fuzz build (fuzz_defconfig): libFuzzer's instrumentation in every
# object, its main only in the fuzz targets (tests/fuzz).
ifeq ($(CONFIG_FERRY_FUZZ),y)
CC := clang
CFLAGS_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
# clang's -Wextra also wants the fields a table entry leaves at zero
# ({"format", "raw|qcow2", "image format"} without url); gcc's does not.
CFLAGS_SAN += -Wno-missing-field-initializers
endif
FERRY_CFLAGS := $(CFLAGS_BASE) $(CFLAGS_OPT) $(CFLAGS_SAN) $(CFLAGS)

LIBS_DYN := -lnewt -lparted -lext2fs -lcom_err -larchive -lmbedtls -lmbedx509 -lmbedcrypto -ldeflate -lz -llzma -lzstd -llz4 -lbz2
LIBS_STATIC := -lnewt -lslang -lm -lparted -luuid -lblkid -lext2fs -lcom_err -larchive -lnettle \
	-lacl -llzma -lzstd -llz4 -lbz2 -ldeflate -lz -lmbedtls -lmbedx509 -lmbedcrypto
ifeq ($(CONFIG_FERRY_STATIC),y)
# Every open() and fsync() goes through blk/guard.c (which source.c's use of it brings
# out of libferry.a before the libraries that call open).
FERRY_LDFLAGS := -static $(CFLAGS_SAN) $(LDFLAGS) \
	-Wl,--wrap=open,--wrap=open64,--wrap=openat,--wrap=__open_2,--wrap=__open64_2,--wrap=__openat_2 \
	-Wl,--wrap=fsync,--wrap=fdatasync
# libparted.a needs the dm_* answers in disk/nodm.c, linked as an object.
FERRY_LIBS := $(OBJDIR)/disk/nodm.o $(LIBS_STATIC)
else
FERRY_LDFLAGS := $(CFLAGS_SAN) $(LDFLAGS)
FERRY_LIBS := $(LIBS_DYN)
endif

SRCS := $(sort $(shell find $(TOPDIR)/src -name '*.c' -printf 'src/%P\n'))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
LIB_OBJS := $(patsubst src/%.c,$(OBJDIR)/%.o,$(LIB_SRCS))
MAIN_OBJ := $(OBJDIR)/main.o
FERRY := $(O)/bin/ferry
LIBFERRY := $(OBJDIR)/libferry.a
GRUB_BIOS := $(O)/share/grub-bios
export FERRY_GRUB_BIOS := $(abspath $(GRUB_BIOS))

UNIT_SRCS := $(sort $(wildcard $(TOPDIR)/tests/unit/*.c))
UNIT_BINS := $(patsubst $(TOPDIR)/tests/unit/%.c,$(O)/tests/unit/%.t,$(UNIT_SRCS))

# The fuzz targets, one per tests/fuzz/*.c, with the helpers of
# tests/fuzz/lib; FUZZ_OUT holds them, their generated seeds and the
# journal target's template image, the corpora fuzzing grows and the
# crashes it finds.
FUZZ_NAMES := $(patsubst $(TOPDIR)/tests/fuzz/%.c,%,$(sort $(wildcard $(TOPDIR)/tests/fuzz/*.c)))
FUZZ_OUT := $(O)/tests/fuzz
FUZZ_BINS := $(addprefix $(FUZZ_OUT)/,$(FUZZ_NAMES))
FUZZ_LIB_OBJS := $(patsubst $(TOPDIR)/tests/fuzz/lib/%.c,$(FUZZ_OUT)/lib/%.o,\
	$(sort $(wildcard $(TOPDIR)/tests/fuzz/lib/*.c)))
FUZZ_SECONDS ?= 60
FUZZ_DEFS := -DFUZZ_JOURNAL_IMAGE='"$(FUZZ_OUT)/journal.img"' -DFUZZ_SUPPORT='"$(TOPDIR)/support"'

.PHONY: all help list-defconfigs menuconfig savedefconfig olddefconfig clean rescue rescue-deps \
	deps check check-quick check-build check-lint check-unit check-integration check-boot check-s3 \
	demo bench bench-xfs bench-compress bench-push fuzz fuzz-build check-fuzz

.DEFAULT_GOAL := all

help:
	@echo 'Configuration:'
	@echo '  <name>_defconfig   - new $(O)/.config from configs/<name>_defconfig'
	@echo '  menuconfig         - change the configuration'
	@echo '  savedefconfig      - write the minimal defconfig ($(O)/defconfig, or DEFCONFIG=FILE)'
	@echo '  list-defconfigs    - list configs/'
	@echo 'Build and test:'
	@echo '  all                - build $(O)/bin/ferry and the rescue images (default)'
	@echo '  rescue             - the rescue images in $(O)/images (ISO/USB, PXE; docs/rescue.md)'
	@echo '  demo               - migrate a Debian server with the rescue ISO, boot it on virtio ($(O)/demo)'
	@echo '  check              - every tier (TAP, prove), also under ASan/UBSan; a time per tier'
	@echo '  check-lint         - shellcheck, banned C functions, docs/cmdline.md keys (seconds)'
	@echo '  check-quick        - unit and integration tests on this build only'
	@echo '  check-unit         - unit tests (tests/unit)'
	@echo '  check-fuzz         - the fuzz targets over their seeds and saved crashes (seconds)'
	@echo '  fuzz               - fuzz each target for FUZZ_SECONDS (default 60; tests/fuzz)'
	@echo '  check-integration  - integration tests (tests/integration)'
	@echo '  check-s3           - upload tests against a throwaway radosgw (tests/s3)'
	@echo '  check-boot         - boot tests (Debian trees under qemu; cached in /var/cache/ferry-tests)'
	@echo '  bench              - the capture benchmark (tests/bench)'
	@echo '  bench-xfs          - the XFS-on-LVM capture benchmark (tests/bench)'
	@echo '  bench-compress     - compressed and VHD/VMDK images against qemu-img (tests/bench)'
	@echo '  bench-push         - the upload benchmark against a throwaway radosgw (tests/bench)'
	@echo '  clean              - delete $(O)'
	@echo 'Variables: O=DIR builds out of tree (default output/); FERRY_DL_DIR=DIR keeps'
	@echo '  the downloaded Debian packages (default $$(O)/dl).'

list-defconfigs:
	@ls $(TOPDIR)/configs

deps:
	@$(TOPDIR)/support/deps.sh build

%_defconfig: $(TOPDIR)/configs/%_defconfig
	@$(TOPDIR)/support/deps.sh $(if $(filter fuzz_defconfig,$@),fuzz,build)
	@mkdir -p $(O)/include/config $(O)/include/generated
	cd $(O) && $(KCONFIG_ENV) $(KCONF) --defconfig=$< $(TOPDIR)/Kconfig >/dev/null
	@echo "configured $(O) from configs/$@"

$(CONFIG):
	@$(MAKE) --no-print-directory O=$(O) $(DEFAULT_DEFCONFIG)

menuconfig: | $(CONFIG)
	@$(TOPDIR)/support/deps.sh build
	cd $(O) && $(KCONFIG_ENV) $(KMCONF) $(TOPDIR)/Kconfig

olddefconfig: | $(CONFIG)
	cd $(O) && $(KCONFIG_ENV) $(KCONF) --olddefconfig $(TOPDIR)/Kconfig

savedefconfig: | $(CONFIG)
	cd $(O) && $(KCONFIG_ENV) $(KCONF) --savedefconfig=$(or $(DEFCONFIG),$(O)/defconfig) $(TOPDIR)/Kconfig
	@echo "wrote $(or $(DEFCONFIG),$(O)/defconfig)"

ifeq ($(wildcard $(CONFIG)),)
# A build without a configuration gets the default one first, so the
# README's commands work on a fresh checkout.
all rescue check check-quick check-build check-lint check-unit check-integration check-boot check-s3 \
		demo bench bench-xfs bench-compress bench-push fuzz fuzz-build check-fuzz:
	@$(MAKE) --no-print-directory O=$(O) $(DEFAULT_DEFCONFIG)
	@$(MAKE) --no-print-directory O=$(O) $@
else
all: $(FERRY) $(GRUB_BIOS)/core-root.img


$(AUTOCONF): $(CONFIG) $(TOPDIR)/Kconfig
	@mkdir -p $(O)/include/config $(O)/include/generated
	@# Options new to Kconfig since .config was made take their defaults.
	cd $(O) && $(KCONFIG_ENV) $(KCONF) --olddefconfig $(TOPDIR)/Kconfig >/dev/null
	cd $(O) && $(KCONFIG_ENV) $(KCONF) --silentoldconfig $(TOPDIR)/Kconfig >/dev/null
	@touch $@

$(OBJDIR)/%.o: $(TOPDIR)/src/%.c $(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  CC      $*.c"
	@$(CC) $(FERRY_CFLAGS) $(FUZZ_DEFS) -MMD -MP -c $< -o $@

$(LIBFERRY): $(LIB_OBJS)
	@rm -f $@
	@$(AR) rcs $@ $^

$(FERRY): $(MAIN_OBJ) $(LIBFERRY)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(FERRY_LDFLAGS) -o $@ $(MAIN_OBJ) $(LIBFERRY) $(FERRY_LIBS)

# GRUB for BIOS, which a conversion to BIOS boot installs (support/grub-bios.sh):
# ferry finds it through FERRY_GRUB_BIOS, the rescue image at /usr/share/ferry.
$(GRUB_BIOS)/core-root.img: $(TOPDIR)/support/grub-bios.sh
	@$(TOPDIR)/support/deps.sh build
	@echo "  GRUB    $(GRUB_BIOS)"
	@$(TOPDIR)/support/grub-bios.sh $(GRUB_BIOS)

# The rescue images (docs/rescue.md): the board/ scripts put the static
# ferry into a busybox initramfs around a Debian kernel, then make the
# ISO/USB image and the PXE tree. Debian packages are downloaded once into
# FERRY_DL_DIR; later builds are offline.
ifeq ($(CONFIG_FERRY_RESCUE),y)
FERRY_DL_DIR ?= $(O)/dl
IMAGES := $(O)/images
RESCUE_BUILD := $(O)/build/rescue
RESCUE_ENV := FERRY_CONFIG=$(CONFIG) FERRY_BUILD_DIR=$(RESCUE_BUILD) \
	FERRY_DL_DIR=$(abspath $(FERRY_DL_DIR)) FERRY_BIN=$(FERRY) FERRY_VERSION=$(VERSION) \
	FERRY_GRUB_BIOS=$(abspath $(GRUB_BIOS))
RESCUE_LIB := $(TOPDIR)/board/rescue/lib.sh
INITRAMFS_SRCS := $(shell find $(TOPDIR)/initramfs -type f)

all: rescue
rescue: $(IMAGES)/SHA256SUMS

rescue-deps:
	@$(TOPDIR)/support/deps.sh rescue

$(RESCUE_BUILD)/packages.txt: $(CONFIG) $(TOPDIR)/board/rescue/fetch.sh $(RESCUE_LIB) | rescue-deps
	@mkdir -p $(RESCUE_BUILD)
	@$(RESCUE_ENV) $(TOPDIR)/board/rescue/fetch.sh

$(RESCUE_BUILD)/initrd.img: $(RESCUE_BUILD)/packages.txt $(FERRY) $(GRUB_BIOS)/core-root.img $(CONFIG) \
		$(TOPDIR)/board/rescue/mkinitramfs.sh $(RESCUE_LIB) $(INITRAMFS_SRCS) | rescue-deps
	@$(RESCUE_ENV) $(TOPDIR)/board/rescue/mkinitramfs.sh

$(IMAGES)/ferry-rescue.iso: $(RESCUE_BUILD)/initrd.img $(CONFIG) $(RESCUE_LIB) \
		$(wildcard $(TOPDIR)/board/pc/*) | rescue-deps
	@$(RESCUE_ENV) $(TOPDIR)/board/pc/post-image.sh $(IMAGES)

$(IMAGES)/pxe/ferry.ipxe: $(RESCUE_BUILD)/initrd.img $(CONFIG) $(RESCUE_LIB) \
		$(wildcard $(TOPDIR)/board/pxe/*) | rescue-deps
	@$(RESCUE_ENV) $(TOPDIR)/board/pxe/post-image.sh $(IMAGES)

$(IMAGES)/SHA256SUMS: $(IMAGES)/ferry-rescue.iso $(IMAGES)/pxe/ferry.ipxe
	@cd $(IMAGES) && find ferry-rescue.iso pxe -type f | LC_ALL=C sort | \
		xargs sha256sum >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS
	@echo "  RESCUE  $(IMAGES): ferry-rescue.iso pxe/ SHA256SUMS"

# tests/boot/rescue.t boots what `make` built.
check-boot: rescue
check-boot: export FERRY_IMAGES := $(IMAGES)
# make demo boots the rescue ISO on its server.
demo: rescue
demo: export FERRY_IMAGES := $(IMAGES)
endif

# Unit tests link the library objects dynamically: they run on the build
# host, not in the rescue image.
$(O)/tests/unit/%.t: $(TOPDIR)/tests/unit/%.c $(LIBFERRY) $(wildcard $(TOPDIR)/tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      tests/unit/$*.c"
	@$(CC) $(FERRY_CFLAGS) -I$(TOPDIR)/tests/unit -o $@ $< $(LIBFERRY) \
		$(CFLAGS_SAN) $(LIBS_DYN)

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d)

# Fuzzing (tests/fuzz, docs/building.md#fuzzing). A build of another
# configuration fuzzes in $(O)/fuzz, configured from fuzz_defconfig, as
# check's sanitizer tiers test in $(O)/asan.
ifeq ($(CONFIG_FERRY_FUZZ),y)
$(FUZZ_OUT)/lib/%.o: $(TOPDIR)/tests/fuzz/lib/%.c $(wildcard $(TOPDIR)/tests/fuzz/lib/*.h) \
		$(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  CC      tests/fuzz/lib/$*.c"
	@$(CC) $(FERRY_CFLAGS) $(FUZZ_DEFS) -MMD -MP -c $< -o $@

$(FUZZ_BINS): $(FUZZ_OUT)/%: $(TOPDIR)/tests/fuzz/%.c $(FUZZ_LIB_OBJS) $(LIBFERRY) \
		$(wildcard $(TOPDIR)/tests/fuzz/lib/*.h) $(TOPDIR)/tests/unit/inflate4k.h
	@echo "  FUZZ    tests/fuzz/$*.c"
	@$(CC) $(FERRY_CFLAGS) $(FUZZ_DEFS) -I$(TOPDIR)/tests/fuzz -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_LIB_OBJS) $(LIBFERRY) $(LIBS_DYN)

# The binary seeds (disk images, initrds, modules, journals) and the
# journal target's template, made with the real tools; journal.img last.
$(FUZZ_OUT)/journal.img: $(TOPDIR)/tests/fuzz/seeds.sh
	@echo "  SEEDS   $(FUZZ_OUT)/seeds"
	@$(TOPDIR)/tests/fuzz/seeds.sh $(FUZZ_OUT)

fuzz-build: $(FUZZ_BINS) $(FUZZ_OUT)/journal.img

-include $(FUZZ_LIB_OBJS:.o=.d)

# Every target once over its seeds and tests/fuzz/crashes: a regression
# run in seconds, TAP.
check-fuzz: fuzz-build
	@$(TOPDIR)/support/deps.sh fuzz
	$(PROVE) --exec '' $(TOPDIR)/tests/fuzz/replay.sh :: $(FUZZ_OUT) $(FUZZ_NAMES)

# Each target fuzzed for FUZZ_SECONDS, one after the other; new inputs go
# to $(FUZZ_OUT)/corpus, crashes to $(FUZZ_OUT)/crashes.
fuzz: fuzz-build
	@$(TOPDIR)/support/deps.sh fuzz
	$(TOPDIR)/tests/fuzz/run.sh $(FUZZ_OUT) $(FUZZ_SECONDS) $(FUZZ_NAMES)
else
FUZZ_O := $(O)/fuzz
fuzz fuzz-build check-fuzz:
	@test -f $(FUZZ_O)/.config || $(MAKE) --no-print-directory O=$(FUZZ_O) fuzz_defconfig
	@$(MAKE) --no-print-directory O=$(FUZZ_O) FUZZ_SECONDS=$(FUZZ_SECONDS) $@
endif

# Independent tests run at once, one per core (prove -j): each has its own
# scratch directory, its own radosgw on free ports; the fixture cache is
# built under a lock per entry.
PROVE_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
PROVE := prove --timer -j$(PROVE_JOBS)
ifneq ($(filter y,$(CONFIG_FERRY_SANITIZE) $(CONFIG_FERRY_FUZZ)),)
# Any sanitizer report fails the test that triggered it.
export ASAN_OPTIONS := suppressions=$(TOPDIR)/support/asan.supp:detect_leaks=1:abort_on_error=0:exitcode=99
export LSAN_OPTIONS := suppressions=$(TOPDIR)/support/lsan.supp
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1:exitcode=99
endif
# What the tests need built: ferry, the unit tests, the rescue images.
check-build: $(FERRY) $(UNIT_BINS) $(if $(filter y,$(CONFIG_FERRY_RESCUE)),rescue)

check-lint: $(FERRY)
	@$(TOPDIR)/support/deps.sh check
	FERRY=$(FERRY) $(TOPDIR)/support/lint.sh

check-unit: $(UNIT_BINS)
	@$(TOPDIR)/support/deps.sh check
	@mkdir -p $(O)/tmp
	TMPDIR=$(O)/tmp $(PROVE) --exec '' $(UNIT_BINS)

check-integration: $(FERRY) $(GRUB_BIOS)/core-root.img
	@$(TOPDIR)/support/deps.sh check
	FERRY=$(FERRY) FERRY_CONFIG=$(CONFIG) FERRY_TMP=$(O)/tmp $(PROVE) $(TOPDIR)/tests/integration/*.t

check-quick: check-unit check-integration

# Uploads to a throwaway Ceph radosgw on loopback, over TLS.
check-s3: $(FERRY)
	@$(TOPDIR)/support/deps.sh s3
	FERRY=$(FERRY) FERRY_TMP=$(O)/tmp $(PROVE) $(TOPDIR)/tests/s3/*.t

# Real Debian systems (mmdebstrap, cached outside the tree) booted under qemu;
# the migrations upload to radosgw. The longest test first, so that prove -j
# keeps every core busy. A build that boots leaves what its captures made
# (SHA-256) in BOOT_RESULTS; the sanitizer build boots nothing: its boot
# tests capture the same fixtures and compare with those (FERRY_BOOT_COMPARE).
BOOT_RESULTS := $(O)/tmp/boot-results
ifeq ($(CONFIG_FERRY_SANITIZE),y)
# Nothing boots here: initrd.t's eight captures are the longest.
BOOT_TESTS := $(addprefix $(TOPDIR)/tests/boot/,initrd.t server.t server-ci.t rescue.t unattended.t tui.t kmount.t rhel.t badsect.t)
check-boot: BOOT_ENV := FERRY_BOOT_COMPARE=$(or $(FERRY_BOOT_COMPARE),$(BOOT_RESULTS))
else
BOOT_TESTS := $(addprefix $(TOPDIR)/tests/boot/,rhel.t server.t server-ci.t uefi.t initrd.t rescue.t unattended.t tui.t badsect.t kmount.t grubbios.t)
check-boot: BOOT_ENV := FERRY_BOOT_RESULTS=$(BOOT_RESULTS)
endif
check-boot: $(FERRY) $(GRUB_BIOS)/core-root.img
	@$(TOPDIR)/support/deps.sh boot
	@$(TOPDIR)/support/deps.sh s3
	$(if $(filter y,$(CONFIG_FERRY_SANITIZE)),,rm -rf $(BOOT_RESULTS) && mkdir -p $(BOOT_RESULTS))
	$(BOOT_ENV) FERRY=$(FERRY) FERRY_TMP=$(O)/tmp $(PROVE) $(BOOT_TESTS)

# The full suite in tiers (support/tiers.sh prints the time of each): this
# build, its lint, its tests; then the same against an ASan/UBSan build,
# whose boot tier compares captures with this build's instead of booting.
ASAN_O := $(O)/asan
SUBMAKE := $(MAKE) --no-print-directory O=$(O)
ASAN_MAKE := $(MAKE) --no-print-directory O=$(ASAN_O) FERRY_BOOT_COMPARE=$(BOOT_RESULTS)
check:
	@$(TOPDIR)/support/tiers.sh \
		"build=$(SUBMAKE) -j$(PROVE_JOBS) check-build" \
		"lint=$(SUBMAKE) check-lint" \
		"unit=$(SUBMAKE) check-unit" \
		"fuzz=$(SUBMAKE) -j$(PROVE_JOBS) fuzz-build && $(SUBMAKE) check-fuzz" \
		"integration=$(SUBMAKE) check-integration" \
		"s3=$(SUBMAKE) check-s3" \
		"boot=$(SUBMAKE) check-boot" \
		"asan-build=test -f $(ASAN_O)/.config || $(MAKE) --no-print-directory O=$(ASAN_O) asan_defconfig && $(ASAN_MAKE) -j$(PROVE_JOBS) check-build" \
		"asan-unit=$(ASAN_MAKE) check-unit" \
		"asan-integration=$(ASAN_MAKE) check-integration" \
		"asan-s3=$(ASAN_MAKE) check-s3" \
		"asan-boot=$(ASAN_MAKE) check-boot"

demo: $(FERRY)
	@$(TOPDIR)/support/deps.sh s3
	@$(TOPDIR)/support/deps.sh boot
	FERRY=$(FERRY) $(TOPDIR)/tests/demo.sh $(O)/demo

bench: $(FERRY)
	@$(TOPDIR)/support/deps.sh bench
	FERRY=$(FERRY) $(TOPDIR)/tests/bench/capture.sh $(O)/bench

bench-xfs: $(FERRY)
	@$(TOPDIR)/support/deps.sh bench
	FERRY=$(FERRY) $(TOPDIR)/tests/bench/xfs.sh $(O)/bench-xfs

# The same stale fixture as bench's (the same folder): built once.
bench-compress: $(FERRY)
	@$(TOPDIR)/support/deps.sh bench
	FERRY=$(FERRY) $(TOPDIR)/tests/bench/compress.sh $(O)/bench

bench-push: $(FERRY)
	@$(TOPDIR)/support/deps.sh bench && $(TOPDIR)/support/deps.sh s3
	FERRY=$(FERRY) $(TOPDIR)/tests/bench/push.sh $(O)/bench-push

endif

clean:
	rm -rf $(O)
