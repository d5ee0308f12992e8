/* Attack: take the host down or skew its clock: reboot(2) (power off / restart / enable Ctrl-Alt-Del),
 * settimeofday, clock_settime, adjtimex. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

static int escaped;
#define TRY(what, call) do { errno = 0; long r_ = (long)(call); \
    if (r_ < 0) printf("BLOCKED: %s: %s\n", what, strerror(errno)); \
    else { printf("ESCAPED: %s succeeded (%ld)\n", what, r_); escaped = 1; } } while (0)

int main(void) {
    /* CAD_OFF is harmless even if it were allowed; never try POWER_OFF for real: the call would stop the VM. */
    TRY("reboot(CAD_OFF)", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL));
    struct timeval tv; gettimeofday(&tv, NULL);
    TRY("settimeofday(now)", settimeofday(&tv, NULL));
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);
    TRY("clock_settime(now)", clock_settime(CLOCK_REALTIME, &ts));
    struct timex tx; memset(&tx, 0, sizeof tx); tx.modes = ADJ_OFFSET_SINGLESHOT; tx.offset = 0;
    TRY("adjtimex(ADJ_OFFSET_SINGLESHOT)", adjtimex(&tx));
    printf("VERDICT: %s\n", escaped ? "ESCAPED" : "BLOCKED");
    return escaped;
}
