/* libparted.a refers to libdevmapper, which Debian ships only as a shared
 * library. Ferry never uses libparted's device-mapper support, so these
 * definitions answer "no device-mapper here": every task fails to create. */
#include <stddef.h>
#include <stdint.h>

struct dm_task;
struct dm_deps;
struct dm_info;

struct dm_task *dm_task_create(int type);
struct dm_task *dm_task_create(int type) { (void)type; return NULL; }
void dm_task_destroy(struct dm_task *dmt);
void dm_task_destroy(struct dm_task *dmt) { (void)dmt; }
int dm_task_run(struct dm_task *dmt);
int dm_task_run(struct dm_task *dmt) { (void)dmt; return 0; }
void *dm_get_next_target(struct dm_task *dmt, void *next, uint64_t *start, uint64_t *length,
			 char **target_type, char **params);
void *dm_get_next_target(struct dm_task *dmt, void *next, uint64_t *start, uint64_t *length,
			 char **target_type, char **params)
{
	(void)dmt; (void)next; (void)start; (void)length; (void)target_type; (void)params;
	return NULL;
}
int dm_set_dev_dir(const char *dir);
int dm_set_dev_dir(const char *dir) { (void)dir; return 0; }
int dm_task_add_target(struct dm_task *dmt, uint64_t start, uint64_t size, const char *ttype,
		       const char *params);
int dm_task_add_target(struct dm_task *dmt, uint64_t start, uint64_t size, const char *ttype,
		       const char *params)
{
	(void)dmt; (void)start; (void)size; (void)ttype; (void)params;
	return 0;
}
struct dm_deps *dm_task_get_deps(struct dm_task *dmt);
struct dm_deps *dm_task_get_deps(struct dm_task *dmt) { (void)dmt; return NULL; }
int dm_task_get_info(struct dm_task *dmt, struct dm_info *dmi);
int dm_task_get_info(struct dm_task *dmt, struct dm_info *dmi) { (void)dmt; (void)dmi; return 0; }
const char *dm_task_get_name(const struct dm_task *dmt);
const char *dm_task_get_name(const struct dm_task *dmt) { (void)dmt; return NULL; }
const char *dm_task_get_uuid(const struct dm_task *dmt);
const char *dm_task_get_uuid(const struct dm_task *dmt) { (void)dmt; return NULL; }
int dm_task_no_open_count(struct dm_task *dmt);
int dm_task_no_open_count(struct dm_task *dmt) { (void)dmt; return 0; }
int dm_task_retry_remove(struct dm_task *dmt);
int dm_task_retry_remove(struct dm_task *dmt) { (void)dmt; return 0; }
int dm_task_set_cookie(struct dm_task *dmt, uint32_t *cookie, uint16_t udev_flags);
int dm_task_set_cookie(struct dm_task *dmt, uint32_t *cookie, uint16_t udev_flags)
{
	(void)dmt; (void)cookie; (void)udev_flags;
	return 0;
}
int dm_task_set_major_minor(struct dm_task *dmt, int major, int minor, int allow_default);
int dm_task_set_major_minor(struct dm_task *dmt, int major, int minor, int allow_default)
{
	(void)dmt; (void)major; (void)minor; (void)allow_default;
	return 0;
}
int dm_task_set_name(struct dm_task *dmt, const char *name);
int dm_task_set_name(struct dm_task *dmt, const char *name) { (void)dmt; (void)name; return 0; }
int dm_task_set_uuid(struct dm_task *dmt, const char *uuid);
int dm_task_set_uuid(struct dm_task *dmt, const char *uuid) { (void)dmt; (void)uuid; return 0; }
int dm_task_update_nodes(void);
int dm_task_update_nodes(void) { return 0; }
void dm_udev_set_sync_support(int sync_with_udev);
void dm_udev_set_sync_support(int sync_with_udev) { (void)sync_with_udev; }
int dm_udev_wait(uint32_t cookie);
int dm_udev_wait(uint32_t cookie) { (void)cookie; return 0; }
