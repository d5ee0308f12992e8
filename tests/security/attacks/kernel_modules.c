/* Attack: run code in the host kernel. Load a module (init_module / finit_module), remove one, or boot a
 * new kernel (kexec_load / kexec_file_load). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int escaped;
#define TRY(what, call) do { errno = 0; long r_ = (long)(call); \
    if (r_ < 0) printf("BLOCKED: %s: %s\n", what, strerror(errno)); \
    else { printf("ESCAPED: %s succeeded (%ld)\n", what, r_); escaped = 1; } } while (0)

int main(void) {
    static char image[4096] = "\177ELF";  /* not a real module: the call must be refused before parsing */
    TRY("init_module", syscall(SYS_init_module, image, sizeof image, ""));
    int fd = open("/bin/true", O_RDONLY);
    TRY("finit_module(/bin/true)", syscall(SYS_finit_module, fd, "", 0));
    TRY("delete_module(overlay)", syscall(SYS_delete_module, "overlay", O_NONBLOCK));
    TRY("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
    TRY("kexec_file_load", syscall(SYS_kexec_file_load, fd, fd, 1, "", 0));
    /* The usual user-space route: modprobe via the kernel's module autoloader path in /proc/sys. */
    int mp = open("/proc/sys/kernel/modprobe", O_WRONLY);
    if (mp >= 0) { printf("ESCAPED: /proc/sys/kernel/modprobe is writable\n"); escaped = 1; }
    else printf("BLOCKED: open /proc/sys/kernel/modprobe for writing: %s\n", strerror(errno));
    printf("VERDICT: %s\n", escaped ? "ESCAPED" : "BLOCKED");
    return escaped;
}
