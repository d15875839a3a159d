// An LD_PRELOAD library that answers the OFD lock commands of fcntl(2)
// (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW: 36, 37, 38) with the errno
// NO_OFD_ERRNO names (EINVAL, as a kernel before 3.15 answers an unknown
// command; EPERM or ENOSYS, as a seccomp profile may), and passes every other
// call on. seccomp filters a whole system call, and Node itself needs fcntl:
// this refuses only the commands the liveness locks use
// (__test__/redis-sync.test.js). Built by `build.sh no-ofd-locks`.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (cmd == 36 || cmd == 37 || cmd == 38) {
    const char *e = getenv("NO_OFD_ERRNO");
    errno = e && strcmp(e, "EPERM") == 0 ? EPERM : e && strcmp(e, "ENOSYS") == 0 ? ENOSYS : EINVAL;
    return -1;
  }
  static int (*real)(int, int, ...) = 0;
  if (!real) real = (int (*)(int, int, ...))dlsym(RTLD_NEXT, "fcntl");
  return real(fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));
