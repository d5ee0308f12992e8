/* Attack: gain privileges through exec. A setuid-root binary (or one with file capabilities) is the
 * classic way up; with no_new_privs and an empty bounding set, exec must grant nothing. Also: change
 * uid/gid, give files away with chown. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static int escaped;
#define TRY(what, call) do { errno = 0; long r_ = (long)(call); \
    if (r_ < 0) printf("BLOCKED: %s: %s\n", what, strerror(errno)); \
    else { printf("ESCAPED: %s succeeded (%ld)\n", what, r_); escaped = 1; } } while (0)

static int report_caps(void) {  /* in the exec'd setuid copy */
    FILE *f = fopen("/proc/self/status", "r");
    char line[256]; int bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "CapEff:", 7) || !strncmp(line, "CapPrm:", 7))
            if (!strstr(line, "0000000000000000")) { printf("ESCAPED: setuid exec gained %s", line); bad = 1; }
    }
    if (!bad) printf("BLOCKED: setuid-root exec gained no capability\n");
    return bad;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "child")) return report_caps();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s /tmp/suid && chmod 4755 /tmp/suid", argv[0]);
    if (system(cmd) != 0) { printf("setup failed\n"); return 2; }
    pid_t p = fork();
    if (p == 0) { execl("/tmp/suid", "suid", "child", (char *)NULL); _exit(3); }
    int st; waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) escaped = 1;
    /* file capabilities: cap_sys_admin+ep in the v2 xattr format */
    unsigned int capdata[5] = {0x02000001, 1u << 21, 0, 0, 0};
    TRY("setxattr security.capability", setxattr("/tmp/suid", "security.capability", capdata, sizeof capdata, 0));
    TRY("setuid(1000)", setuid(1000));
    TRY("setgid(1000)", setgid(1000));
    TRY("setgroups([0])", setgroups(1, (gid_t[]){0}));
    TRY("chown /tmp/suid to 1000", chown("/tmp/suid", 1000, 1000));
    printf("VERDICT: %s\n", escaped ? "ESCAPED" : "BLOCKED");
    return escaped;
}
