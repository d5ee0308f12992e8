/* Attack: get a fresh (privileged) namespace, or join another one. unshare(CLONE_NEWUSER) would make us
 * root with full capabilities in a new user namespace: the first step of most container escapes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int escaped;
#define TRY(what, call) do { errno = 0; long r_ = (long)(call); \
    if (r_ < 0) printf("BLOCKED: %s: %s\n", what, strerror(errno)); \
    else { printf("ESCAPED: %s succeeded (%ld)\n", what, r_); escaped = 1; } } while (0)
/* for a value computed earlier, with the errno saved right after it */
#define REPORT(what, r, e) do { if ((r) < 0) printf("BLOCKED: %s: %s\n", what, strerror(e)); \
    else { printf("ESCAPED: %s succeeded (%ld)\n", what, (long)(r)); escaped = 1; } } while (0)

static char stack[65536];
static int child(void *arg) { (void)arg; return 0; }

int main(void) {
    TRY("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
    TRY("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
    TRY("unshare(CLONE_NEWNET)", unshare(CLONE_NEWNET));
    TRY("unshare(CLONE_NEWCGROUP)", unshare(CLONE_NEWCGROUP));
    int fd = open("/proc/1/ns/mnt", O_RDONLY);
    if (fd >= 0) { printf("ESCAPED: opened /proc/1/ns/mnt\n"); escaped = 1; close(fd); }
    else printf("BLOCKED: open /proc/1/ns/mnt: %s\n", strerror(errno));
    fd = open("/proc/self/ns/user", O_RDONLY);
    TRY("setns(own user ns)", setns(fd, 0));
    long pid = clone(child, stack + sizeof stack, CLONE_NEWUSER | SIGCHLD, NULL);
    int e = errno;
    REPORT("clone(CLONE_NEWUSER)", pid, e);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    pid = clone(child, stack + sizeof stack, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, NULL);
    e = errno;
    REPORT("clone(CLONE_NEWPID|CLONE_NEWNS)", pid, e);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    struct clone_args ca; memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_NEWUSER; ca.exit_signal = SIGCHLD;
    pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0) _exit(0);
    e = errno;
    REPORT("clone3(CLONE_NEWUSER)", pid, e);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    printf("VERDICT: %s\n", escaped ? "ESCAPED" : "BLOCKED");
    return escaped;
}
