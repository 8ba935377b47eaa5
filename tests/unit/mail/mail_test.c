/* The mailer port: message format (RFC 5322 headers, RFC 2047 subjects, 7bit and
 * quoted-printable bodies), header injection refused, address masking, the outbox backend end
 * to end, and the SMTP backend against a real SMTP server (Python 3.11's smtpd
 * DebuggingServer, skipped when that is not installed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail/mail.h"

static char *fmt(const struct mail_msg *m)
{
	struct err e = ERR_INIT;
	char *out = NULL;
	size_t len = 0;

	if (mail_format("noreply@example.org", "tonearm", m, 1700000000000LL, &out, &len, &e) < 0)
		fail_msg("format: %s", e.msg);
	assert_int_equal(strlen(out), len);
	return out;
}

static void test_format_ascii(void **state)
{
	struct mail_msg m = { .to = "user@example.com", .subject = "Hello there", .text = "line one\nline two" };
	char *s = fmt(&m), *body;

	(void)state;
	assert_non_null(strstr(s, "From: \"tonearm\" <noreply@example.org>\r\n"));
	assert_non_null(strstr(s, "To: <user@example.com>\r\n"));
	assert_non_null(strstr(s, "Subject: Hello there\r\n"));
	assert_non_null(strstr(s, "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"));
	assert_non_null(strstr(s, "Message-ID: <"));
	assert_non_null(strstr(s, "@example.org>\r\n"));
	assert_non_null(strstr(s, "MIME-Version: 1.0\r\n"));
	assert_non_null(strstr(s, "Content-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(strstr(s, "Content-Transfer-Encoding: 7bit\r\n"));
	body = strstr(s, "\r\n\r\n");
	assert_non_null(body);
	assert_string_equal(body + 4, "line one\r\nline two\r\n");
	/* No bare LF anywhere: every line ends in CRLF. */
	for (char *p = s; *p; p++)
		if (*p == '\n')
			assert_true(p > s && p[-1] == '\r');
	free(s);
}

static void test_format_utf8(void **state)
{
	/* 30 two-byte characters: more than one encoded-word, never split inside a character. */
	char subj[128] = "Grüße ";
	struct mail_msg m = { .to = "u@example.com", .subject = subj, .text = "Grüße = ok \nend" };
	char *s, *body, *p;

	(void)state;
	for (size_t i = 0, n = strlen(subj); i < 30; i++, n += 2)
		memcpy(subj + n, "\xc3\xa9", 3);
	s = fmt(&m);
	assert_non_null(strstr(s, "Subject: =?UTF-8?B?R3LDvMOfZSDDqcOpw6nDqcOp"));
	assert_non_null(strstr(s, "?=\r\n =?UTF-8?B?")); /* folded onto a second line */
	for (p = strstr(s, "=?UTF-8?B?"); p; p = strstr(p + 1, "=?UTF-8?B?"))
		assert_true(strchr(p, '?') && strstr(p, "?=") - p <= 75);
	assert_non_null(strstr(s, "Content-Transfer-Encoding: quoted-printable\r\n"));
	body = strstr(s, "\r\n\r\n") + 4;
	/* ü ß as =XX, '=' as =3D, the space before the line end kept as =20. */
	assert_string_equal(body, "Gr=C3=BC=C3=9Fe =3D ok=20\r\nend\r\n");
	free(s);
}

static void test_format_long_qp_lines(void **state)
{
	char text[400];
	struct mail_msg m = { .to = "u@example.com", .subject = "x", .text = text };
	char *s, *line;

	(void)state;
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	memcpy(text, "\xc3\xa9", 2);
	s = fmt(&m);
	line = strstr(s, "\r\n\r\n") + 4;
	for (char *end; (end = strstr(line, "\r\n")); line = end + 2)
		assert_true(end - line <= 76);
	free(s);
}

static void test_header_injection(void **state)
{
	const char *bad_to[] = { "a@b.c\r\nBcc: x@y.z", "a@b.c\nBcc: x@y.z", "a b@c.d", "<a@b.c>", "a@b.c,d@e.f",
				 "nobody", "@b.c", "a@", "" };
	struct err e = ERR_INIT;
	char *out = (char *)1;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_to) / sizeof(bad_to[0]); i++) {
		struct mail_msg m = { .to = bad_to[i], .subject = "s", .text = "t" };

		err_clear(&e);
		assert_int_equal(mail_format("f@example.org", NULL, &m, 0, &out, &len, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
		assert_null(out);
	}
	{
		struct mail_msg m = { .to = "a@b.c", .subject = "hi\r\nBcc: x@y.z", .text = "t" };

		err_clear(&e);
		assert_int_equal(mail_format("f@example.org", NULL, &m, 0, &out, &len, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
	}
	{
		struct mail_msg m = { .to = "a@b.c", .subject = "s", .text = "bad \xff utf-8" };

		err_clear(&e);
		assert_int_equal(mail_format("f@example.org", NULL, &m, 0, &out, &len, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
	}
}

static void test_mask(void **state)
{
	char out[64];

	(void)state;
	mail_addr_mask("user@example.com", out, sizeof(out));
	assert_string_equal(out, "u***@example.com");
	mail_addr_mask("nope", out, sizeof(out));
	assert_string_equal(out, "***");
	mail_addr_mask("x@y.z", out, 4);
	assert_string_equal(out, "x**");
}

static void test_open_errors(void **state)
{
	struct err e = ERR_INIT;
	struct mail_options bad = { .from = "not an address" };

	(void)state;
	assert_null(mail_open("ftp://x", NULL, &e));
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	assert_null(mail_open("outbox://", NULL, &e));
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	assert_null(mail_open("outbox:///tmp/x", &bad, &e));
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	assert_null(mail_open("smtp://", NULL, &e));
	assert_int_equal(e.code, ERR_INVALID);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

static void test_outbox(void **state)
{
	char tmpl[] = "/tmp/ta-mail-XXXXXX", url[512], dir[256], path[512];
	struct err e = ERR_INIT;
	struct mail *m;
	struct mail_msg msg = { .to = "someone@example.net", .subject = "Über", .text = "token: abc123\n", .tag = "t" };
	struct dirent *de;
	DIR *d;
	int n = 0;
	char *content;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s/a/b/outbox", tmpl);
	snprintf(url, sizeof(url), "outbox://%s/", dir);
	m = mail_open(url, &(struct mail_options){ .from = "me@example.org" }, &e);
	assert_non_null(m);
	assert_string_equal(mail_backend_name(m), "outbox");
	assert_string_equal(mail_outbox_dir(m), dir);
	assert_int_equal(mail_send(m, &msg, &e), 0);
	assert_int_equal(mail_send(m, &msg, &e), 0);
	msg.to = "x@y.z\r\nBcc: evil@example.com";
	assert_int_equal(mail_send(m, &msg, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		assert_non_null(strstr(de->d_name, ".eml"));
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		content = read_file(path);
		assert_non_null(content);
		assert_non_null(strstr(content, "To: <someone@example.net>\r\n"));
		assert_non_null(strstr(content, "\r\n\r\ntoken: abc123\r\n"));
		assert_null(strstr(content, "evil"));
		free(content);
		unlink(path);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 2);
	mail_close(m);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpl);
	assert_int_equal(system(path), 0);
}

/* ---- SMTP against a real server ---- */

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void test_smtp(void **state)
{
	char tmpl[] = "/tmp/ta-smtp-XXXXXX", log[256], addr[64], url[128], cmd[512];
	struct err e = ERR_INIT;
	struct mail *m;
	struct mail_msg msg = { .to = "listener@example.com", .subject = "Grüße aus tonearm",
				.text = "Hello,\nyour token: tok-123\n.\nend\n", .tag = "test" };
	int port, status, fd;
	pid_t pid;
	char *out = NULL;

	(void)state;
	if (system("/usr/bin/python3 -c 'import smtpd' >/dev/null 2>&1") != 0)
		skip();
	assert_non_null(mkdtemp(tmpl));
	snprintf(log, sizeof(log), "%s/smtpd.out", tmpl);
	port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl("/usr/bin/python3", "python3", "-u", "-W", "ignore", "-m", "smtpd", "-n", "-c", "DebuggingServer",
		      addr, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !port_open(port); i++)
		usleep(25000);
	assert_true(port_open(port));

	snprintf(url, sizeof(url), "smtp://user:s3cret@127.0.0.1:%d", port);
	m = mail_open(url, &(struct mail_options){ .from = "noreply@example.org", .timeout_ms = 10000 }, &e);
	assert_non_null(m);
	assert_string_equal(mail_backend_name(m), "smtp");
	assert_null(mail_outbox_dir(m));
	/* The server offers no AUTH: libcurl then sends without logging in. */
	if (mail_send(m, &msg, &e) < 0)
		fail_msg("send: %s", e.msg);
	/* Header injection never reaches the wire. */
	msg.to = "a@b.c\r\nRCPT TO:<evil@example.com>";
	assert_int_equal(mail_send(m, &msg, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	mail_close(m);

	/* Required STARTTLS that the server does not offer: refused, not sent in the clear. */
	m = mail_open(url, &(struct mail_options){ .require_tls = true, .timeout_ms = 10000 }, &e);
	assert_non_null(m);
	msg.to = "listener@example.com";
	err_clear(&e);
	assert_int_equal(mail_send(m, &msg, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_null(strstr(e.msg, "s3cret"));
	mail_close(m);

	for (int i = 0; i < 100; i++) {
		free(out);
		out = read_file(log);
		if (out && strstr(out, "MESSAGE ENDS"))
			break;
		usleep(20000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	assert_non_null(out);
	assert_non_null(strstr(out, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(out, "To: <listener@example.com>"));
	assert_non_null(strstr(out, "your token: tok-123"));
	assert_non_null(strstr(out, "Content-Transfer-Encoding: 7bit"));
	assert_non_null(strstr(out, "X-Peer: "));
	/* The lone "." line arrived as a line, not as the end of the DATA (dot-stuffing). */
	assert_non_null(strstr(out, "b'.'\nb'end'"));
	free(out);

	/* Nobody listening: ERR_UNAVAILABLE, quickly. */
	m = mail_open(url, &(struct mail_options){ .timeout_ms = 3000 }, &e);
	assert_non_null(m);
	err_clear(&e);
	assert_int_equal(mail_send(m, &msg, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	mail_close(m);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_ascii),   cmocka_unit_test(test_format_utf8),
		cmocka_unit_test(test_format_long_qp_lines), cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_mask),           cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_outbox),         cmocka_unit_test(test_smtp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
