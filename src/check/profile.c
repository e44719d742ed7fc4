/* The clouds' import rules, from their own guides (shared/seeds/: 000
 * Tencent service migration, 001 Huawei IMS, 002 Alibaba image migration,
 * 004 Tencent image import). Where a guide is silent the field allows. */
#include <stdio.h>
#include <string.h>

#include "check/profile.h"

const struct cloud_profile cloud_profiles[] = {
	{
		.name = "tencent",
		.title = "Tencent Cloud CVM (image import, service migration)",
		.formats = "qcow2,raw,vhd,vmdk",
		.max_actual = 50 * GB, .actual_as = "qcow2",
		.max_virtual = 500 * GB,
		.gpt = false, .efi = false, .ipv6 = false, .multi_nic = false, .encrypted = true,
		.os = "centos,ubuntu,debian,coreos,opensuse,opensuse-leap,sles",
		.arch = "x86_64,i386,i686",
		.seeds = "000,004",
	},
	{
		.name = "alibaba",
		.title = "Alibaba Cloud ECS (image import, SMC)",
		.formats = "raw,vhd",
		.max_virtual = 500 * GB,
		.gpt = true, .efi = true, .ipv6 = false, .multi_nic = false, .encrypted = true,
		.os = "rhel,centos,ubuntu,debian,opensuse,opensuse-leap,sles,coreos",
		.arch = "x86_64",
		.filesystems = "ext3,ext4",
		.seeds = "002,003",
	},
	{
		.name = "huawei",
		.title = "Huawei Cloud ECS (IMS private image)",
		.formats = "vmdk,vhd,qcow2,raw,vhdx,qed,vdi,qcow,zvhd2,zvhd",
		.max_actual = 128 * GB,
		.max_actual_fast = 1000 * GB, .fast_formats = "raw",
		.min_virtual = 1 * GB, .max_virtual = 1000 * GB,
		.gpt = true, .efi = false, .ipv6 = true, .multi_nic = true, .encrypted = false,
		.os = "sles,ol,rhel,ubuntu,opensuse,opensuse-leap,centos,debian,fedora,euleros,neokylin",
		.arch = "x86_64,i386,i686",
		.seeds = "001",
	},
	{
		.name = "kvm",
		.title = "any KVM cloud (no import limits)",
		.formats = "qcow2,raw",
		.gpt = true, .efi = true, .ipv6 = true, .multi_nic = true, .encrypted = true,
		.seeds = "",
	},
};

const unsigned cloud_nprofiles = sizeof(cloud_profiles) / sizeof(cloud_profiles[0]);

const struct cloud_profile *cloud_profile(const char *name)
{
	for (unsigned i = 0; i < cloud_nprofiles; i++)
		if (!strcmp(cloud_profiles[i].name, name))
			return &cloud_profiles[i];
	return NULL;
}

const char *cloud_profile_names(void)
{
	static char names[128];
	size_t len = 0;

	if (!names[0])
		for (unsigned i = 0; i < cloud_nprofiles && len < sizeof(names); i++)
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
						cloud_profiles[i].name);
	return names;
}

bool list_has(const char *list, const char *word)
{
	size_t n = strlen(word);

	if (!list)
		return true;
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && !strncmp(p, word, n))
			return true;
		p += len + (end != NULL);
	}
	return false;
}
