/* The TLS client against `openssl s_server` with certificates made here by
 * openssl: the right CA and name pass; an unknown CA, a wrong name, and an
 * IP address the certificate does not list (mbedtls 2.28 does not check IP
 * SANs: our callback does) are refused; --insecure connects anyway. A
 * server that speaks only TLS 1.0 is refused, unless --insecure. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sink/http.h"
#include "tap.h"
#include "testsh.h"
#include "util/err.h"

static char dir[192];

/* CA, CA2, a server certificate for s3.test and 127.0.0.1, and one for
 * s3.test only. */
static int make_certs(void)
{
	return sh("cd %s && exec >openssl.log 2>&1 && "
		  "for ca in ca ca2; do openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
		  "-subj /CN=ferry-test-$ca -keyout $ca.key -out $ca.pem || exit 1; done && "
		  "for s in both:DNS:s3.test,IP:127.0.0.1 name:DNS:s3.test; do n=${s%%%%:*}; "
		  "openssl req -newkey rsa:2048 -nodes -subj /CN=s3.test -keyout $n.key -out $n.csr "
		  "&& printf 'subjectAltName=%%s\\n' \"${s#*:}\" > $n.ext && "
		  "openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
		  "-extfile $n.ext -out $n.pem || exit 1; done",
		  dir);
}

/* Starts s_server with cert NAME (and more s_server options, args) on a
 * free port, its files named after tag; returns the port. */
static unsigned serve(const char *tag, const char *name, const char *args, pid_t *pid)
{
	static int tries;

	for (int left = 20; left > 0; left--, tries++) {
		unsigned port = 20000 + (unsigned)(getpid() * 7 + tries * 131) % 30000;
		char pidfile[300];
		FILE *f;

		snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", dir, tag);
		sh("cd %s && (openssl s_server -quiet -www -accept 127.0.0.1:%u -cert %s.pem "
		   "-key %s.key %s >%s.log 2>&1 & echo $! > %s)", dir, port, name, name, args, tag,
		   pidfile);
		for (int i = 0; i < 50; i++) {
			if (sh_try("ss -ltnp 2>/dev/null | grep '127.0.0.1:%u ' | grep -q \"pid=$(cat %s),\"",
			       port, pidfile) == 0) {
				f = fopen(pidfile, "r");
				if (f && fscanf(f, "%d", pid) == 1) {
					tries++;
					fclose(f);
					return port;
				}
				if (f)
					fclose(f);
			}
			usleep(100000);
		}
		f = fopen(pidfile, "r");
		if (f && fscanf(f, "%d", pid) == 1)
			kill(*pid, SIGTERM);
		if (f)
			fclose(f);
	}
	return 0;
}

/* Connects as host (to 127.0.0.1) with CA file ca ("" for none); on
 * success, GETs / and returns the status. Else the negative error. */
static int try(const char *host, unsigned port, const char *ca, bool insecure)
{
	char cafile[300];
	struct http_opts o = {.insecure = insecure, .timeout_ms = 10000};
	struct http_conn c;
	struct http_response r;
	int err;

	snprintf(cafile, sizeof(cafile), "%s/%s", dir, ca);
	o.ca_file = cafile;
	if (!http_is_ip(host))
		o.connect_ip = "127.0.0.1";
	err = http_open(&c, host, port, true, &o);
	if (err)
		return err;
	err = http_request(&c, "GET", "/", NULL, 0, NULL, 0, &r);
	http_close(&c);
	if (!err) {
		err = r.status;
		if (r.body.len == 0 || !strstr(r.body.s, "s_server"))
			err = -EPROTO;
	}
	http_response_release(&r);
	return err;
}

int main(void)
{
	pid_t both_pid = 0, name_pid = 0, old_pid = 0;
	unsigned both, name, old;
	struct http_conn c;
	struct http_opts o = {0};

	tap_plan(16);
	if (!tap_scratch(dir, sizeof(dir), "http"))
		return 1;
	if (!ok(make_certs() == 0, "test CA and certificates made with openssl")) {
		sh("cat %s/openssl.log", dir);
		return 1;
	}
	both = serve("both", "both", "", &both_pid);
	name = serve("name", "name", "", &name_pid);
	/* OpenSSL 3 speaks TLS 1.0 only at security level 0. */
	old = serve("old", "both", "-tls1 -cipher DEFAULT@SECLEVEL=0", &old_pid);
	if (!ok(both && name && old, "three openssl s_server instances listen (ports %u, %u, %u)",
		both, name, old))
		goto out;

	is_int(try("127.0.0.1", both, "ca.pem", false), 200,
	       "by IP address: the certificate lists it (our IP SAN check), GET / answers 200");
	is_int(try("s3.test", both, "ca.pem", false), 200,
	       "by name with --resolve: SNI and the DNS name are checked");
	is_int(try("wrong.test", both, "ca.pem", false), -EPERM, "a name the certificate lacks");
	ok(strstr(ferr_msg(), "not valid for wrong.test") != NULL, "says so: %s", ferr_msg());
	is_int(try("127.0.0.1", name, "ca.pem", false), -EPERM,
	       "an IP address the certificate does not list");
	is_int(try("s3.test", name, "ca.pem", false), 200, "that certificate by its name");
	is_int(try("s3.test", both, "ca2.pem", false), -EPERM, "an unknown CA");
	ok(strstr(ferr_msg(), "not trusted") != NULL, "says so: %s", ferr_msg());
	is_int(try("wrong.test", both, "ca2.pem", true), 200, "--insecure connects anyway");
	is_int(try("s3.test", both, "missing.pem", false), -EINVAL, "a CA file that is not there");
	is_int(try("127.0.0.1", old, "ca.pem", false), -EPROTO, "a server with TLS 1.0 only");
	ok(strstr(ferr_msg(), "offers no TLS 1.2 or newer") != NULL, "says so: %s", ferr_msg());
	is_int(try("127.0.0.1", old, "ca.pem", true), 200, "--insecure accepts it");
	o.ca_file = "/nonexistent";
	o.insecure = true;
	ok(http_open(&c, "127.0.0.1", 1, true, &o) < 0 && strstr(ferr_msg(), "127.0.0.1:1"),
	   "a refused connection names host and port: %s", ferr_msg());
out:
	if (both_pid)
		kill(both_pid, SIGTERM);
	if (name_pid)
		kill(name_pid, SIGTERM);
	if (old_pid)
		kill(old_pid, SIGTERM);
	sh("rm -rf %s", dir);
	return tap_failed ? 1 : 0;
}
