/* The clouds' import rules, from their own guides (shared/seeds/: 000
 * Tencent service migration, 001 Huawei IMS, 002 Alibaba image migration,
 * 004 Tencent image import). Where a guide is silent the field allows. */
#include <stdio.h>
#include <string.h>

#include "check/profile.h"
#include "util/text.h"

const struct cloud_profile cloud_profiles[] = {
	{
		.name = "tencent",
		.title = "Tencent Cloud CVM (image import, service migration)",
		.formats = "qcow2,raw,vhd,vmdk",
		.max_actual = 50 * GB, .actual_as = "qcow2",
		.max_virtual = 500 * GB,
		.gpt = false, .efi = false, .ipv6 = false, .multi_nic = false, .encrypted = true,
		.boot_flag = "none: BIOS only",
		.os = "centos,ubuntu,debian,coreos,opensuse,opensuse-leap,sles",
		.arch = "x86_64,i386,i686",
		.seeds = "000,004",
		.import = "1. The bucket is a COS bucket in the region the instances will run in "
			  "(the import reads COS over the region's private network).\n"
			  "2. CVM console: Images > Custom Image > Import Image.\n"
			  "3. Image file URL: the object's COS URL (a signed URL is read only once).\n"
			  "4. OS and version as the check found them; then Import. The result comes "
			  "as an internal message. CVM boots the image by BIOS: a UEFI server's image "
			  "was made to boot by BIOS (--boot-mode bios, docs/boot-mode.md).",
	},
	{
		.name = "alibaba",
		.title = "Alibaba Cloud ECS (image import, SMC)",
		.formats = "raw,vhd",
		.default_format = "vhd",
		.max_virtual = 500 * GB,
		.gpt = true, .efi = true, .ipv6 = false, .multi_nic = false, .encrypted = true,
		.boot_flag = "Boot Mode: BIOS or UEFI",
		.os = "rhel,centos,ubuntu,debian,opensuse,opensuse-leap,sles,coreos",
		.arch = "x86_64",
		.filesystems = "ext3,ext4",
		.seeds = "002,003",
		.import = "1. The bucket is an OSS bucket in the region of the custom image.\n"
			  "2. Let ECS read OSS: authorize the ECS service role in the RAM console "
			  "(once per account).\n"
			  "3. ECS console: Images > Import Image; the OSS object address of the image, "
			  "its format, the OS, the system disk size, and the boot mode the capture "
			  "report names (BIOS or UEFI).\n"
			  "4. The import runs its own image check; docs/check-codes.md gives ferry check's code for each of its findings.",
	},
	{
		.name = "huawei",
		.title = "Huawei Cloud ECS (IMS private image)",
		.formats = "vmdk,vhd,qcow2,raw,vhdx,qed,vdi,qcow,zvhd2,zvhd",
		.max_actual = 128 * GB,
		.max_actual_fast = 1000 * GB, .fast_formats = "raw",
		.min_virtual = 1 * GB, .max_virtual = 1000 * GB,
		.gpt = true, .efi = false, .ipv6 = true, .multi_nic = true, .encrypted = false,
		.boot_flag = "Boot Mode: BIOS, or UEFI for the systems IMS lists",
		.os = "sles,ol,rhel,ubuntu,opensuse,opensuse-leap,centos,debian,fedora,euleros,neokylin",
		.arch = "x86_64,i386,i686",
		.seeds = "001",
		.import = "1. The bucket is an OBS bucket in the region of the private image.\n"
			  "2. IMS console: Create Image > Import Private Image > System disk image; "
			  "pick the object in the bucket.\n"
			  "3. OS as the check found it (Other Linux for a system IMS does not list; "
			  "the image has its virtio drivers), the system disk at least the image's "
			  "virtual size.\n"
			  "4. Images over 128 GB: raw and the fast import.\n"
			  "5. The boot mode the capture report names: BIOS (a UEFI server's image was "
			  "made to boot by BIOS), or UEFI for a system IMS lists as booting by UEFI, "
			  "captured with --boot-mode keep.",
	},
	{
		.name = "kvm",
		.title = "any KVM cloud (no import limits)",
		.formats = "qcow2,raw,vhd,vmdk",
		.gpt = true, .efi = true, .ipv6 = true, .multi_nic = true, .encrypted = true,
		.boot_flag = "the VM's firmware: SeaBIOS, or OVMF for UEFI",
		.seeds = "",
		.import = "1. Download the object, or have the cloud read it from the bucket.\n"
			  "2. qemu-img info shows its format and virtual size; import it as the "
			  "system disk of a VM with virtio disk and network (virsh, OpenStack "
			  "'openstack image create --disk-format qcow2 --file IMAGE NAME'), booting "
			  "by the mode the capture report names (UEFI: OVMF firmware, libvirt's "
			  "<os firmware='efi'>, OpenStack's hw_firmware_type=uefi).",
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

	if (!names[0])
		for (unsigned i = 0, n = 0; i < cloud_nprofiles && n < sizeof(names); i++)
			n += (unsigned)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
						cloud_profiles[i].name);
	return names;
}

bool cloud_list_has(const char *list, const char *word)
{
	return !list || text_list_has(list, word);
}
