/* ferry tui: the network. Each NIC with its MAC, link and addresses, the
 * default route and the name servers; in the rescue system a NIC is set
 * to DHCP or to a static address the way /init does it (udhcpc and its
 * event script). Elsewhere the network is shown and left alone: it is
 * the host's. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <newt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ui/tui.h"
#include "util/err.h"

/* The rescue system's DHCP event script (initramfs/skeleton), which also
 * puts a static address in place; and where /init keeps udhcpc's pids. */
#define NET_SCRIPT "/usr/share/udhcpc/default.script"
#define NET_RUN "/run/ferry"
#define MAX_NICS 16

struct nic {
	char name[IF_NAMESIZE + 1];
	char mac[24];
	bool link;
	bool dhcp;
	char addr[160]; /* "10.0.2.15/24 192.168.1.9/24" */
};

static void read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (f) {
		if (fgets(buf, (int)size, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

static int prefix_bits(const struct sockaddr *mask)
{
	uint32_t m = ntohl(((const struct sockaddr_in *)mask)->sin_addr.s_addr);
	int bits = 0;

	while (m & 0x80000000u) {
		bits++;
		m <<= 1;
	}
	return bits;
}

/* A card with a device behind it, or a virtual one that has a link (a
 * container's veth); not the idle ifb and dummy ones. */
static bool real_or_up(const char *name)
{
	char path[300], v[8];

	snprintf(path, sizeof(path), "/sys/class/net/%s/device", name);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", name);
	read_line(path, v, sizeof(v));
	return !strcmp(v, "1");
}

/* The Ethernet NICs (type 1 in sysfs), in name order. */
static size_t list_nics(struct nic *nics)
{
	struct dirent **names;
	struct ifaddrs *ifa = NULL, *a;
	char path[300], v[64];
	size_t n = 0;
	int count = scandir("/sys/class/net", &names, NULL, alphasort);

	if (getifaddrs(&ifa))
		ifa = NULL;
	for (int i = 0; i < count; i++) {
		struct nic *c = &nics[n];

		snprintf(path, sizeof(path), "/sys/class/net/%s/type", names[i]->d_name);
		read_line(path, v, sizeof(v));
		if (n < MAX_NICS && !strcmp(v, "1") && strlen(names[i]->d_name) <= IF_NAMESIZE &&
		    real_or_up(names[i]->d_name)) {
			memset(c, 0, sizeof(*c));
			snprintf(c->name, sizeof(c->name), "%.*s", IF_NAMESIZE, names[i]->d_name);
			snprintf(path, sizeof(path), "/sys/class/net/%s/address", c->name);
			read_line(path, c->mac, sizeof(c->mac));
			snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", c->name);
			read_line(path, v, sizeof(v));
			c->link = !strcmp(v, "1");
			snprintf(path, sizeof(path), NET_RUN "/udhcpc.%s.pid", c->name);
			c->dhcp = access(path, F_OK) == 0;
			for (a = ifa; a; a = a->ifa_next) {
				char ip[INET_ADDRSTRLEN];

				if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET ||
				    strcmp(a->ifa_name, c->name) || !a->ifa_netmask)
					continue;
				inet_ntop(AF_INET, &((struct sockaddr_in *)a->ifa_addr)->sin_addr, ip,
					  sizeof(ip));
				snprintf(c->addr + strlen(c->addr), sizeof(c->addr) - strlen(c->addr),
					 "%s%s/%d", c->addr[0] ? " " : "", ip, prefix_bits(a->ifa_netmask));
			}
			n++;
		}
		free(names[i]);
	}
	if (count >= 0)
		free(names);
	if (ifa)
		freeifaddrs(ifa);
	return n;
}

/* "via 10.0.2.2 (eth0)" from /proc/net/route, or "none". */
static void default_route(char *buf, size_t size)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256], dev[IF_NAMESIZE + 1];
	unsigned dest, gw, flags;

	snprintf(buf, size, "none");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%16s %x %x %x", dev, &dest, &gw, &flags) == 4 && !dest &&
		    (flags & 1)) {
			struct in_addr a = {.s_addr = gw};
			char ip[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &a, ip, sizeof(ip));
			snprintf(buf, size, "via %s (%s)", ip, dev);
			break;
		}
	fclose(f);
}

/* The name servers of /etc/resolv.conf, blank-separated, or "none". */
static void name_servers(char *buf, size_t size)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[256], ns[128];

	buf[0] = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "nameserver %127s", ns) == 1)
			snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? " " : "", ns);
	if (f)
		fclose(f);
	if (!buf[0])
		snprintf(buf, size, "none");
}

static void nic_line(const struct nic *c, char *buf, size_t size)
{
	snprintf(buf, size, "%-10.10s %-17.17s %-9s %.28s%s", c->name, c->mac,
		 c->link ? "link up" : "no link", c->addr[0] ? c->addr : "no address",
		 c->dhcp ? " (dhcp)" : "");
}

/* Runs argv with env added, waits; its output is dropped (the screen
 * says what came of it). */
static int run(char *const argv[], char *const env[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return ferr_errno(-errno, "cannot start %s", argv[0]);
	if (!pid) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return ferr_errno(-errno, "waiting for %s", argv[0]);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return ferr(-EIO, "%s failed (exit %d)", argv[0], WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

/* Stops the udhcpc /init (or an earlier Apply) left on nic. */
static void stop_dhcp(const char *nic)
{
	char path[128], pid[32];

	snprintf(path, sizeof(path), NET_RUN "/udhcpc.%s.pid", nic);
	read_line(path, pid, sizeof(pid));
	if (atoi(pid) > 0)
		kill(atoi(pid), SIGTERM);
	unlink(path);
}

static int apply_dhcp(const char *nic)
{
	char pidfile[128];
	char *argv[] = {"udhcpc", "-i", (char *)nic, "-s", NET_SCRIPT, "-p", pidfile,
			"-t", "4", "-T", "2", "-A", "1", "-n", NULL};

	stop_dhcp(nic);
	snprintf(pidfile, sizeof(pidfile), NET_RUN "/udhcpc.%s.pid", nic);
	return run(argv, NULL) ? ferr(-EIO, "%s: no DHCP lease (is the cable in, is a DHCP "
					 "server on this network?)", nic)
			       : 0;
}

/* addr is A.B.C.D/BITS; gw and each of dns an IPv4 address (both may be
 * empty). */
static int apply_static(const char *nic, const char *addr, const char *gw, const char *dns)
{
	char ip[INET_ADDRSTRLEN + 1], e_if[64], e_ip[64], e_mask[32], e_gw[64], e_dns[300], word[64];
	char *argv[] = {NET_SCRIPT, "bound", NULL};
	char *env[] = {e_if, e_ip, e_mask, e_gw, e_dns, NULL};
	struct in_addr a;
	const char *p;
	int bits = -1, n = 0;

	if (!*addr)
		return ferr(-EINVAL, "static needs an address: A.B.C.D/BITS (10.1.2.3/24)");
	if (sscanf(addr, "%15[0-9.]/%d%n", ip, &bits, &n) != 2 || addr[n] || bits < 1 ||
	    bits > 32 || inet_pton(AF_INET, ip, &a) != 1)
		return ferr(-EINVAL, "address %s: expected A.B.C.D/BITS (10.1.2.3/24)", addr);
	if (*gw && inet_pton(AF_INET, gw, &a) != 1)
		return ferr(-EINVAL, "gateway %s: not an IPv4 address", gw);
	for (p = dns; sscanf(p, " %63[^ ,]%n", word, &n) == 1; p += n) {
		if (inet_pton(AF_INET, word, &a) != 1)
			return ferr(-EINVAL, "DNS server %s: not an IPv4 address", word);
		p += strspn(p + n, " ,");
	}
	stop_dhcp(nic);
	snprintf(e_if, sizeof(e_if), "interface=%s", nic);
	snprintf(e_ip, sizeof(e_ip), "ip=%s", ip);
	snprintf(e_mask, sizeof(e_mask), "mask=%d", bits);
	snprintf(e_gw, sizeof(e_gw), "router=%s", gw);
	snprintf(e_dns, sizeof(e_dns), "dns=%s", dns);
	for (char *c = e_dns; *c; c++)
		if (*c == ',')
			*c = ' ';
	return run(argv, env);
}

enum tui_go tui_network(struct tui *t)
{
	struct nic nics[MAX_NICS];
	newtComponent form, list, route, dns, r_dhcp, r_static, e_addr, e_gw, e_dns, apply, back, next,
		co;
	struct newtExitStruct es;
	const char *addr, *gw, *ns;
	char line[128], rt[80], servers[200];
	bool rescue = access(NET_SCRIPT, X_OK) == 0 && access(NET_RUN, W_OK) == 0;
	enum tui_go go = TUI_QUIT;
	size_t n;
	int sel = 0;

	(void)t;
again:
	tui_frame("3/7 Network", rescue ? NULL : " The host's network: shown, not changed");
	n = list_nics(nics);
	default_route(rt, sizeof(rt));
	name_servers(servers, sizeof(servers));
	newtOpenWindow(1, 2, 76, 19, "Network");
	form = newtForm(NULL, NULL, 0);
	list = newtListbox(1, 1, 5, NEWT_FLAG_SCROLL | NEWT_FLAG_BORDER);
	newtListboxSetWidth(list, 70);
	for (size_t i = 0; i < n; i++) {
		nic_line(&nics[i], line, sizeof(line));
		newtListboxAppendEntry(list, line, (void *)i);
	}
	if (!n)
		newtListboxAppendEntry(list, "no Ethernet card found", (void *)0);
	if (sel < (int)n)
		newtListboxSetCurrent(list, sel);
	snprintf(line, sizeof(line), "Default route: %.60s", rt);
	route = newtLabel(1, 6, line);
	snprintf(line, sizeof(line), "Name servers:  %.60s", servers);
	dns = newtLabel(1, 7, line);
	newtFormAddComponents(form, list, route, dns, NULL);
	if (rescue && n) {
		newtFormAddComponent(form, newtLabel(1, 9, "The chosen card:"));
		r_dhcp = newtRadiobutton(18, 9, "DHCP", 1, NULL);
		r_static = newtRadiobutton(28, 9, "Static", 0, r_dhcp);
		newtFormAddComponent(form, newtLabel(1, 10, "Address/bits"));
		e_addr = newtEntry(18, 10, "", 30, &addr, NEWT_FLAG_SCROLL);
		newtFormAddComponent(form, newtLabel(1, 11, "Gateway"));
		e_gw = newtEntry(18, 11, "", 30, &gw, NEWT_FLAG_SCROLL);
		newtFormAddComponent(form, newtLabel(1, 12, "DNS servers"));
		e_dns = newtEntry(18, 12, "", 30, &ns, NEWT_FLAG_SCROLL);
		apply = newtCompactButton(50, 10, "Apply");
		newtFormAddComponents(form, r_dhcp, r_static, e_addr, e_gw, e_dns, apply, NULL);
	} else {
		newtComponent note = newtTextbox(1, 9, 72, 3, NEWT_FLAG_WRAP);

		r_dhcp = r_static = e_addr = e_gw = e_dns = apply = NULL;
		newtTextboxSetText(note, rescue ? "No Ethernet card: only a local path can take the image."
					       : "This is not the rescue system: its network is the "
						 "host's, shown here and not changed.");
		newtFormAddComponent(form, note);
	}
	back = newtCompactButton(57, 17, "Back");
	next = newtCompactButton(65, 17, "Next");
	newtFormAddComponents(form, next, back, NULL);
	newtFormAddHotKey(form, NEWT_KEY_F12);
	for (;;) {
		newtFormRun(form, &es);
		co = es.reason == NEWT_EXIT_COMPONENT ? es.u.co : NULL;
		if (es.reason == NEWT_EXIT_HOTKEY && es.u.key == NEWT_KEY_F12)
			co = next;
		if (co == next || co == back) {
			go = co == next ? TUI_NEXT : TUI_BACK;
		} else if (co && co == apply) {
			size_t i = (size_t)newtListboxGetCurrent(list);
			int err;

			sel = (int)i;
			newtPopHelpLine();
			newtPushHelpLine(" Configuring the network...");
			newtRefresh();
			err = newtRadioGetCurrent(r_dhcp) == r_dhcp
				      ? apply_dhcp(nics[i].name)
				      : apply_static(nics[i].name, addr, gw, ns);
			if (err)
				tui_message("Network", "%s: %s", nics[i].name, ferr_msg());
			go = TUI_NEXT + 100; /* the screen again, with what it did */
		} else if (es.reason != NEWT_EXIT_HOTKEY) {
			continue;
		}
		break;
	}
	newtFormDestroy(form);
	newtPopWindow();
	if ((int)go == TUI_NEXT + 100)
		goto again;
	return go;
}
