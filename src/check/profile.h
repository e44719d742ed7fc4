/* The import rules of each cloud (shared/seeds/), one table: what ferry
 * check judges a disk against, and what docs/check-codes.md shows. */
#ifndef FERRY_PROFILE_H
#define FERRY_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#define GB 1000000000ull

struct cloud_profile {
	const char *name;         /* --cloud NAME */
	const char *title;
	const char *formats;      /* image formats the import takes, comma-separated */
	const char *default_format; /* the smallest of them Ferry writes; NULL: Ferry's default */
	uint64_t max_actual;      /* bytes of image data the import takes (0: no limit) */
	const char *actual_as;    /* how the cloud measures it ("qcow2": converted to qcow2) */
	uint64_t max_actual_fast; /* larger images through a fast import (0: none) */
	const char *fast_formats; /* the formats of that import */
	uint64_t min_virtual, max_virtual; /* the disk's size (0: no limit) */
	bool gpt;                 /* a GPT system disk is accepted */
	bool efi;                 /* UEFI boot is accepted */
	const char *boot_flag;    /* how the import is told the boot mode */
	bool ipv6;                /* IPv6 configuration works there */
	bool multi_nic;           /* more than one NIC works there */
	bool encrypted;           /* an encrypted system disk is accepted */
	const char *os;           /* os-release IDs of the systems it supports (NULL: any) */
	const char *arch;         /* architectures (NULL: any) */
	const char *filesystems;  /* root filesystem types (NULL: any) */
	const char *seeds;        /* where the rules come from */
	const char *import;       /* the steps from an image in the bucket to an instance */
};

extern const struct cloud_profile cloud_profiles[];
extern const unsigned cloud_nprofiles;

/* The profile named name, or NULL. */
const struct cloud_profile *cloud_profile(const char *name);
/* "tencent, alibaba, huawei, kvm", for messages and --help. */
const char *cloud_profile_names(void);
/* Whether word is in the comma-separated list (a NULL list has every word). */
bool cloud_list_has(const char *list, const char *word);

#endif
