/* Turning services off (and the legacy network script on) inside a guest,
 * the way systemctl disable, chkconfig and update-rc.d do, for fix rules. */
#ifndef FERRY_FIX_SERVICE_H
#define FERRY_FIX_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "fix/fix.h"

/* Disables the service name ("firewalld": the systemd unit
 * firewalld.service and the SysV script firewalld):
 * - removes the links in /etc/systemd/system/ *.wants and *.requires that
 *   pull the unit in, and the aliases in /etc/systemd/system that name it
 *   (dbus-org.fedoraproject.FirewallD1.service), as systemctl disable does;
 * - turns every SysV start link rcN.d/S<nn>name into a stop link, as
 *   chkconfig off and update-rc.d disable do, so that a package upgrade's
 *   "chkconfig --add" / "update-rc.d defaults" (which only fill runlevels
 *   without any link) does not turn it back on.
 * Units are not masked: an operator who wants the service back after the
 * migration runs systemctl enable and nothing else, and a migrated copy
 * keeps its machine-id, so no first-boot preset re-enables it.
 * Records each change for rule; returns the number of changes made or a
 * negative errno. */
int service_disable(struct fix_ctx *c, const char *rule, const char *name);

/* True when something starts the service at boot: a systemd
 * wants/requires link or a SysV start link. */
bool service_enabled(struct fix_ctx *c, const char *name);

/* chkconfig on for the SysV script name: a start link in each runlevel its
 * "# chkconfig:" header names that has none. Returns the number of changes
 * (0 when there is no such script or it is already on). */
int service_enable_sysv(struct fix_ctx *c, const char *rule, const char *name);

/* A directory's entries sorted by name, so rules act in a stable order.
 * mode is the entry's own (lstat) mode. */
struct dirlist {
	struct dirlist_entry {
		char *name;
		uint32_t mode;
	} *v;
	size_t n, cap;
};

/* Fills l (initialized here); -ENOENT when dir does not exist. */
int dirlist_read(struct guest *g, const char *dir, struct dirlist *l);
void dirlist_release(struct dirlist *l);

#endif
