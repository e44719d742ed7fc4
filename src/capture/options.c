/* The capture's options set by name (see capture.h): ferry capture's
 * command line and ferry run's keys take the same path through here. */
#include <errno.h>
#include <string.h>

#include "capture/capture.h"
#include "check/profile.h"
#include "util/config.h"
#include "util/err.h"

void capture_opts_init(struct capture_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->image.format = IS_ENABLED(CONFIG_FERRY_FORMAT_RAW) ? IMAGE_RAW : IMAGE_QCOW2;
	o->fixes = (1u << fix_nrules) - 1;
	o->cloud = cloud_profile("kvm");
	sink_opts_init(&o->sink);
}

int capture_opts_set(struct capture_opts *o, const char *name, const char *value)
{
	int err = 0;

	if (!strcmp(name, "format")) {
		err = image_format_parse(value, &o->image.format);
		o->format_given = !err;
	} else if (!strcmp(name, "compress")) {
		err = image_compress_parse(value, &o->image.compress);
	} else if (!strcmp(name, "force")) {
		o->force = true;
	} else if (!strcmp(name, "strict")) {
		o->strict = true;
	} else if (!strcmp(name, "overwrite")) {
		o->sink.overwrite = true;
	} else if (!strcmp(name, "no-fix")) {
		o->no_fix_given = true;
	} else if (!strcmp(name, "fix")) {
		err = fix_parse_list(value, &o->fixes);
		o->fix_given = true;
	} else if (!strcmp(name, "exclude")) {
		err = part_set_parse(&o->exclude, value);
	} else if (!strcmp(name, "boot-mode")) {
		err = boot_mode_parse(value, &o->boot_mode_asked);
		o->boot_mode_given = !err;
	} else if (!strcmp(name, "cloud")) {
		const struct cloud_profile *c = cloud_profile(value);

		if (!c)
			return ferr(-EINVAL, "--cloud: unknown cloud '%s' (clouds: %s)", value,
				    cloud_profile_names());
		o->cloud = c;
	} else {
		return sink_opts_set(&o->sink, name, value);
	}
	return err ? err : 1;
}

int capture_opts_done(struct capture_opts *o)
{
	uint32_t fstab = 0;

	if (o->no_fix_given && o->fix_given)
		return ferr(-EINVAL, "--no-fix and --fix exclude each other");
	if (!o->format_given && o->cloud->default_format &&
	    image_format_parse(o->cloud->default_format, &o->image.format))
		return -EINVAL;
	if (o->no_fix_given)
		o->fixes = 0;
	/* The cloud's: BIOS where it takes no UEFI; the disk's own with --no-fix */
	o->boot_mode = o->boot_mode_given ? o->boot_mode_asked
		       : !o->fixes || o->cloud->efi ? BOOT_MODE_KEEP : BOOT_MODE_BIOS;
	if (!part_set_empty(&o->exclude) && (fix_parse_list("fstab", &fstab) || !(o->fixes & fstab)))
		return ferr(-EINVAL, "--exclude needs the fstab fix, which comments out the "
			    "partition's lines (it is left out by --no-fix or --fix)");
	if (o->boot_mode == BOOT_MODE_BIOS && !o->fixes)
		return ferr(-EINVAL, "--boot-mode bios and --no-fix exclude each other: the image is "
			    "the disk as it is");
	if (o->image.compress != IMAGE_COMPRESS_NONE && o->image.format == IMAGE_VMDK)
		return ferr(-EINVAL, "--compress %s: a vmdk image's grains are always "
			    "zlib-compressed; --compress is for qcow2",
			    image_compress_name(o->image.compress));
	if (o->image.compress != IMAGE_COMPRESS_NONE && o->image.format != IMAGE_QCOW2)
		return ferr(-EINVAL, "--compress %s: only qcow2 images are compressed",
			    image_compress_name(o->image.compress));
	return sink_opts_check(o->target, &o->sink);
}
