/*
 * seccomp-exec: run a command under a seccomp filter that answers chosen
 * system calls with an errno, as container runtimes' profiles do (ENOSYS
 * for calls they do not know, or EPERM in older ones), to emulate kernels
 * and sandboxes without io_uring or futex_waitv (scripts/kernel-matrix.sh).
 *
 *   seccomp-exec [--errno ENOSYS|EPERM|EINVAL|EACCES|N] --deny NAME[,NAME..]
 *                [--allow-if-arg1-zero] -- COMMAND [ARG..]
 *   seccomp-exec --probe
 *
 * NAME is io_uring_setup, io_uring_enter, io_uring_register, futex_waitv
 * (the same numbers on x86-64 and aarch64) or a number. The filter applies
 * on x86-64 and aarch64 (native ABI); other calls run as usual. With
 * --allow-if-arg1-zero a denied call whose second argument is 0 runs
 * anyway: futex_waitv's probe (nr_futexes = 0) passes, real waits fail.
 * --probe makes each known call with harmless arguments, and getppid, and
 * prints "name result" lines (the errno name, or "ok"), to test the filter.
 *
 * Built by scripts/seccomp/build.sh into target/. Needs only a C compiler
 * and libc: the kernel's constants are spelled out below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* linux/filter.h, linux/seccomp.h, linux/audit.h */
struct sock_filter {
	uint16_t code;
	uint8_t jt;
	uint8_t jf;
	uint32_t k;
};
struct sock_fprog {
	unsigned short len;
	struct sock_filter *filter;
};
#define BPF_LD_W_ABS 0x20 /* BPF_LD | BPF_W | BPF_ABS */
#define BPF_JEQ_K 0x15 /* BPF_JMP | BPF_JEQ | BPF_K */
#define BPF_RET_K 0x06 /* BPF_RET | BPF_K */
#define SECCOMP_MODE_FILTER 2
#define SECCOMP_RET_ALLOW 0x7fff0000u
#define SECCOMP_RET_ERRNO 0x00050000u
#define AUDIT_ARCH_X86_64 0xc000003eu
#define AUDIT_ARCH_AARCH64 0xc00000b7u
#ifndef PR_SET_NO_NEW_PRIVS
#define PR_SET_NO_NEW_PRIVS 38
#endif
#ifndef PR_SET_SECCOMP
#define PR_SET_SECCOMP 22
#endif
/* struct seccomp_data: int nr; u32 arch; u64 ip; u64 args[6]; (little-endian) */
#define OFF_NR 0
#define OFF_ARCH 4
#define OFF_ARG1_LO 24
#define OFF_ARG1_HI 28

static const struct {
	const char *name;
	long nr;
} SYSCALLS[] = {
	{"io_uring_setup", 425},
	{"io_uring_enter", 426},
	{"io_uring_register", 427},
	{"futex_waitv", 449},
};
#define NSYSCALLS (sizeof SYSCALLS / sizeof SYSCALLS[0])

static const struct {
	const char *name;
	int value;
} ERRNOS[] = {
	{"ENOSYS", ENOSYS}, {"EPERM", EPERM},   {"EINVAL", EINVAL},
	{"EACCES", EACCES}, {"EFAULT", EFAULT}, {"EBADF", EBADF},
};
#define NERRNOS (sizeof ERRNOS / sizeof ERRNOS[0])

#define MAX_DENY 32

static void usage(void)
{
	fprintf(stderr, "usage: seccomp-exec [--errno NAME|N] --deny NAME[,NAME..] [--allow-if-arg1-zero] -- COMMAND [ARG..]\n"
			"       seccomp-exec --probe\n");
	exit(2);
}

static long parse_number(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	return v;
}

static long syscall_number(const char *name)
{
	for (size_t i = 0; i < NSYSCALLS; i++)
		if (strcmp(SYSCALLS[i].name, name) == 0)
			return SYSCALLS[i].nr;
	return parse_number(name);
}

static int errno_value(const char *name)
{
	for (size_t i = 0; i < NERRNOS; i++)
		if (strcmp(ERRNOS[i].name, name) == 0)
			return ERRNOS[i].value;
	long v = parse_number(name);
	return v > 0 && v < 4096 ? (int)v : -1;
}

static const char *errno_name(int e)
{
	static char buf[16];
	for (size_t i = 0; i < NERRNOS; i++)
		if (ERRNOS[i].value == e)
			return ERRNOS[i].name;
	snprintf(buf, sizeof buf, "errno%d", e);
	return buf;
}

static void report(const char *name, long r)
{
	if (r < 0)
		printf("%s %s\n", name, errno_name(errno));
	else
		printf("%s ok\n", name);
}

/* Each call fails at once on an unfiltered kernel that has it (a null
 * pointer, a bad descriptor, no entries): never ENOSYS, EPERM. */
static int probe(void)
{
	report("io_uring_setup", syscall(425, 0L, NULL));
	report("io_uring_enter", syscall(426, -1L, 0L, 0L, 0L, NULL, 0L));
	report("io_uring_register", syscall(427, -1L, 0L, NULL, 0L));
	report("futex_waitv", syscall(449, NULL, 0L, 0L, NULL, 1L /* CLOCK_MONOTONIC */));
	report("getppid", syscall(SYS_getppid));
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	long deny[MAX_DENY];
	size_t ndeny = 0;
	int err = ENOSYS;
	int allow_arg1_zero = 0;
	int i;

	if (argc == 2 && strcmp(argv[1], "--probe") == 0)
		return probe();
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "--errno") == 0 && i + 1 < argc) {
			err = errno_value(argv[++i]);
			if (err < 0) {
				fprintf(stderr, "seccomp-exec: unknown errno %s\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--deny") == 0 && i + 1 < argc) {
			char *list = argv[++i];
			for (char *name = strtok(list, ","); name != NULL; name = strtok(NULL, ",")) {
				long nr = syscall_number(name);
				if (nr < 0 || ndeny == MAX_DENY) {
					fprintf(stderr, "seccomp-exec: unknown system call %s (or too many)\n", name);
					return 2;
				}
				deny[ndeny++] = nr;
			}
		} else if (strcmp(argv[i], "--allow-if-arg1-zero") == 0) {
			allow_arg1_zero = 1;
		} else {
			usage();
		}
	}
	if (i >= argc || ndeny == 0)
		usage();

	/* arch check; nr; one jeq per denied call to DENY; ALLOW; DENY. */
	struct sock_filter prog[8 + MAX_DENY + 6];
	size_t n = 0;
	size_t allow = 4 + ndeny; /* index of RET ALLOW */
	prog[n++] = (struct sock_filter){BPF_LD_W_ABS, 0, 0, OFF_ARCH};
	prog[n++] = (struct sock_filter){BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64};
	prog[n++] = (struct sock_filter){BPF_JEQ_K, 0, (uint8_t)(allow - 3), AUDIT_ARCH_AARCH64};
	prog[n++] = (struct sock_filter){BPF_LD_W_ABS, 0, 0, OFF_NR};
	for (size_t k = 0; k < ndeny; k++) {
		/* jt: to DENY, at allow + 1 */
		prog[n] = (struct sock_filter){BPF_JEQ_K, (uint8_t)(allow + 1 - (n + 1)), 0, (uint32_t)deny[k]};
		n++;
	}
	prog[n++] = (struct sock_filter){BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW};
	if (allow_arg1_zero) {
		/* DENY: both halves of args[1] zero -> ALLOW (at n + 4), else ERR (at n + 5). */
		prog[n++] = (struct sock_filter){BPF_LD_W_ABS, 0, 0, OFF_ARG1_LO};
		prog[n] = (struct sock_filter){BPF_JEQ_K, 0, 3, 0};
		n++;
		prog[n++] = (struct sock_filter){BPF_LD_W_ABS, 0, 0, OFF_ARG1_HI};
		prog[n] = (struct sock_filter){BPF_JEQ_K, 0, 1, 0};
		n++;
		prog[n++] = (struct sock_filter){BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW};
	}
	prog[n++] = (struct sock_filter){BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | (uint32_t)err};

	struct sock_fprog fprog = {(unsigned short)n, prog};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		perror("seccomp-exec: prctl(PR_SET_NO_NEW_PRIVS)");
		return 1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
		perror("seccomp-exec: prctl(PR_SET_SECCOMP)");
		return 1;
	}
	execvp(argv[i], &argv[i]);
	fprintf(stderr, "seccomp-exec: cannot run %s: %s\n", argv[i], strerror(errno));
	return 127;
}
