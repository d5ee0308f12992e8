/* Attack: inspect or hijack another process. ptrace(ATTACH) a sibling, PTRACE_TRACEME, read its memory
 * with process_vm_readv, and grab the init's fds with pidfd_getfd (the init talks to the host). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int escaped;
#define TRY(what, call) do { errno = 0; long r_ = (long)(call); \
    if (r_ < 0) printf("BLOCKED: %s: %s\n", what, strerror(errno)); \
    else { printf("ESCAPED: %s succeeded (%ld)\n", what, r_); escaped = 1; } } while (0)

static char secret[32] = "victim-memory";

int main(void) {
    pid_t victim = fork();
    if (victim == 0) { pause(); _exit(0); }
    usleep(50000);
    TRY("ptrace(PTRACE_ATTACH, sibling)", ptrace(PTRACE_ATTACH, victim, 0, 0));
    TRY("ptrace(PTRACE_SEIZE, init)", ptrace(PTRACE_SEIZE, 1, 0, 0));
    char buf[32];
    struct iovec local = {buf, sizeof buf}, remote = {secret, sizeof secret};
    TRY("process_vm_readv(sibling)", process_vm_readv(victim, &local, 1, &remote, 1, 0));
    TRY("process_vm_writev(sibling)", process_vm_writev(victim, &local, 1, &remote, 1, 0));
    int pidfd = (int)syscall(SYS_pidfd_open, 1, 0);
    if (pidfd >= 0) {
        for (int fd = 0; fd < 3; fd++) {
            char what[64]; snprintf(what, sizeof what, "pidfd_getfd(init, fd %d)", fd);
            TRY(what, syscall(SYS_pidfd_getfd, pidfd, fd, 0));
        }
    } else printf("BLOCKED: pidfd_open(1): %s\n", strerror(errno));
    pid_t t = fork();
    if (t == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) == 0) { printf("ESCAPED: PTRACE_TRACEME succeeded\n"); _exit(1); }
        printf("BLOCKED: PTRACE_TRACEME: %s\n", strerror(errno)); _exit(0);
    }
    int st; waitpid(t, &st, 0);
    if (WEXITSTATUS(st)) escaped = 1;
    kill(victim, SIGKILL); waitpid(victim, NULL, 0);
    printf("VERDICT: %s\n", escaped ? "ESCAPED" : "BLOCKED");
    return escaped;
}
