/* Attack: remount the world. mount proc/sysfs/cgroup/tmpfs, bind the root elsewhere, umount /, pivot_root,
 * chroot, and the new mount API (fsopen, open_tree, move_mount, mount_setattr, fspick).
 * Every call must fail; the sandbox must log each denial. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int escaped;
#define TRY(what, call) do { errno = 0; long r_ = (long)(call); \
    if (r_ < 0) printf("BLOCKED: %s: %s\n", what, strerror(errno)); \
    else { printf("ESCAPED: %s succeeded (%ld)\n", what, r_); escaped = 1; } } while (0)

int main(void) {
    mkdir("/tmp/m", 0755);
    mkdir("/tmp/newroot", 0755);
    TRY("mount sysfs", mount("sysfs", "/tmp/m", "sysfs", 0, NULL));
    TRY("mount proc", mount("proc", "/tmp/m", "proc", 0, NULL));
    TRY("mount cgroup (v1 memory)", mount("cgroup", "/tmp/m", "cgroup", 0, "memory"));
    TRY("mount tmpfs", mount("tmpfs", "/tmp/m", "tmpfs", 0, NULL));
    TRY("bind mount /", mount("/", "/tmp/m", NULL, MS_BIND | MS_REC, NULL));
    TRY("remount / rw,suid", mount(NULL, "/", NULL, MS_REMOUNT, NULL));
    TRY("umount2 /proc (detach)", umount2("/proc", MNT_DETACH));
    TRY("pivot_root", syscall(SYS_pivot_root, "/tmp/newroot", "/tmp/newroot"));
    TRY("chroot", chroot("/tmp/newroot"));
    TRY("fsopen(tmpfs)", syscall(SYS_fsopen, "tmpfs", 0));
    TRY("fspick(/)", syscall(SYS_fspick, AT_FDCWD, "/", 0));
    TRY("open_tree(/, clone)", syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */));
    TRY("move_mount", syscall(SYS_move_mount, AT_FDCWD, "/proc", AT_FDCWD, "/tmp/m", 0));
    TRY("mount_setattr", syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, NULL, 0));
    /* chroot-breakout classic: chdir("..") past the root must stay at /. */
    char cwd[256];
    for (int i = 0; i < 64; i++) if (chdir("..") < 0) break;
    if (getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") != 0) { printf("ESCAPED: cd .. left / (%s)\n", cwd); escaped = 1; }
    else printf("BLOCKED: cd .. x64 stays at /\n");
    printf("VERDICT: %s\n", escaped ? "ESCAPED" : "BLOCKED");
    return escaped;
}
