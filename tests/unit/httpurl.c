/* URLs, proxies and --resolve for the upload sinks: http_url_parse,
 * http_proxy_parse, http_proxy_env (https_proxy, no_proxy) and
 * sink_http_opts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sink/http.h"
#include "sink/sink.h"
#include "tap.h"
#include "util/err.h"

static void url_cases(void)
{
	struct http_url u;

	is_int(http_url_parse(&u, "https://cos.ap-guangzhou.myqcloud.com/b/k?x=1", "t", NULL), 0,
	       "an https URL");
	ok(u.tls && u.port == 443 && !u.port_given && !strcmp(u.host, "cos.ap-guangzhou.myqcloud.com")
	   && !strcmp(u.rest, "/b/k?x=1"), "its parts: TLS, 443, host, rest %s", u.rest);
	is_int(http_url_parse(&u, "http://[::1]:8080", "t", NULL), 0, "an IPv6 address and a port");
	ok(!u.tls && u.port == 8080 && u.port_given && !strcmp(u.host, "::1") && !*u.rest,
	   "without brackets, port 8080, no rest");
	is_int(http_url_parse(&u, "http://user:pw@proxy.lan:3129/", "proxy", NULL), 0,
	       "a user part");
	ok(u.user && u.user_len == 7 && !strncmp(u.user, "user:pw", 7) && !strcmp(u.host, "proxy.lan"),
	   "user:pw before the host");
	is_int(http_url_parse(&u, "ftp://x/y", "--endpoint", NULL), -EINVAL, "ftp:// is refused");
	ok(strstr(ferr_msg(), "--endpoint: not an http:// or https:// URL") != NULL, "says so: %s",
	   ferr_msg());
	is_int(http_url_parse(&u, "https://host:99999/", "t", NULL), -EINVAL, "a port past 65535");
	is_int(http_url_parse(&u, "https://:80/", "t", NULL), -EINVAL, "no host");
	is_int(http_url_parse(&u, "https://[::1/", "t", NULL), -EINVAL, "an unclosed [");
	is_int(http_url_parse(&u, "proxy.lan:8080", "proxy", "http"), 0, "no scheme: the bare one");
	ok(!u.tls && u.port == 8080 && !strcmp(u.host, "proxy.lan"), "proxy.lan, 8080");
}

static void proxy_cases(void)
{
	struct http_proxy p;

	is_int(http_proxy_parse(&p, "http://squid.lan"), 0, "a proxy without a port");
	is_int(p.port, 3128, "gets squid's 3128, as curl assumes");
	ok(!p.auth[0], "and no Proxy-Authorization");
	is_int(http_proxy_parse(&p, "http://ferry:s3cret@10.0.0.1:8080/"), 0, "a proxy with a user");
	is_str(p.auth, "ZmVycnk6czNjcmV0", "Basic credentials are base64 of user:password");
	ok(p.port == 8080 && !strcmp(p.host, "10.0.0.1"), "host 10.0.0.1, port 8080");
	is_int(http_proxy_parse(&p, "10.0.0.2:3129"), 0, "host:port without a scheme");
	ok(p.port == 3129 && !strcmp(p.host, "10.0.0.2"), "is http://10.0.0.2:3129");
	is_int(http_proxy_parse(&p, "https://squid.lan"), -EINVAL, "an https:// proxy is refused");
	is_int(http_proxy_parse(&p, "http://squid.lan/path"), -EINVAL, "a path is refused");
	is_int(http_proxy_parse(&p, "http://onlyuser@squid.lan"), -EINVAL,
	       "a user without a password is refused");
	ok(!strstr(ferr_msg(), "onlyuser"), "without showing it: %s", ferr_msg());
	is_int(http_proxy_parse(&p, "http://u:topsecret@squid.lan:0"), -EINVAL, "port 0");
	ok(!strstr(ferr_msg(), "topsecret"), "the password is not in the message: %s", ferr_msg());
	/* The userinfo runs to the last '@': any character in a password. */
	is_int(http_proxy_parse(&p, "ferry:p a'ss/w@rd@10.0.0.3:3130"), 0,
	       "a password with a blank, a quote, a '/' and an '@', without a scheme");
	is_str(p.auth, "ZmVycnk6cCBhJ3NzL3dAcmQ=", "all of it is the password");
	ok(p.port == 3130 && !strcmp(p.host, "10.0.0.3"), "host 10.0.0.3, port 3130");
	is_int(http_proxy_parse(&p, "http://u:w@rd@squid.lan:0"), -EINVAL, "port 0 again");
	ok(!strstr(ferr_msg(), "rd@"), "no part of the password is taken for the host: %s",
	   ferr_msg());
}

static const char *env_for(const char *https_proxy, const char *no_proxy, const char *host)
{
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	if (https_proxy)
		setenv("https_proxy", https_proxy, 1);
	if (no_proxy)
		setenv("no_proxy", no_proxy, 1);
	return http_proxy_env(true, host);
}

static void env_cases(void)
{
	const char *v;

	ok(env_for(NULL, NULL, "s3.test") == NULL, "no https_proxy: direct");
	v = env_for("http://p:3128", NULL, "s3.test");
	ok(v && !strcmp(v, "http://p:3128"), "https_proxy is taken");
	ok(env_for("http://p:3128", "s3.test", "s3.test") == NULL, "no_proxy names the host");
	ok(env_for("http://p:3128", "example.com, .s3.test", "b.s3.test") == NULL,
	   "no_proxy .s3.test covers b.s3.test");
	ok(env_for("http://p:3128", "s3.test", "b.s3.test") == NULL,
	   "no_proxy s3.test covers b.s3.test too (curl's rule)");
	ok(env_for("http://p:3128", "s3.test", "nots3.test") != NULL,
	   "but not nots3.test");
	ok(env_for("http://p:3128", "*", "anything") == NULL, "no_proxy * covers everything");
	env_for(NULL, NULL, "s3.test");
	setenv("HTTPS_PROXY", "http://q:1", 1);
	v = http_proxy_env(true, "s3.test");
	ok(v && !strcmp(v, "http://q:1"), "HTTPS_PROXY in capitals too");
	setenv("HTTP_PROXY", "http://r:1", 1);
	ok(http_proxy_env(false, "s3.test") == NULL,
	   "HTTP_PROXY is ignored for http:// (a CGI could set it: httpoxy)");
	unsetenv("HTTPS_PROXY");
	unsetenv("HTTP_PROXY");
}

static void resolve_cases(void)
{
	struct sink_opts o;
	struct http_opts h;
	struct http_proxy px;

	memset(&o, 0, sizeof(o));
	snprintf(o.resolve_host, sizeof(o.resolve_host), "s3.test");
	snprintf(o.resolve_ip, sizeof(o.resolve_ip), "127.0.0.1");
	o.no_proxy = true;
	is_int(sink_http_opts(&o, "s3.test", true, &h, &px), 0, "--resolve for the host itself");
	is_str(h.connect_ip, "127.0.0.1", "connects to the address given");
	is_int(sink_http_opts(&o, "ferry-test.s3.test", true, &h, &px), 0,
	       "and for BUCKET.host (virtual-host addressing)");
	is_int(sink_http_opts(&o, "evils3.test", true, &h, &px), -EINVAL,
	       "not for a host that only ends the same");
	is_int(sink_http_opts(&o, "other.example", true, &h, &px), -EINVAL, "nor another host");
	ok(strstr(ferr_msg(), "--resolve s3.test: the target's host is other.example") != NULL,
	   "says so: %s", ferr_msg());
	o.resolve_host[0] = '\0';
	o.no_proxy = false;
	o.proxy = "http://u:p@px.lan:8080";
	is_int(sink_http_opts(&o, "s3.test", true, &h, &px), 0, "--proxy");
	ok(h.proxy == &px && px.port == 8080 && !strcmp(px.host, "px.lan"), "is used");
}

int main(void)
{
	tap_plan(49);
	url_cases();
	proxy_cases();
	env_cases();
	resolve_cases();
	return tap_done();
}
