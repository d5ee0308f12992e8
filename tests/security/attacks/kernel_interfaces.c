/* Attack: reach large kernel attack surfaces that container escapes have used: eBPF, perf events,
 * io_uring, userfaultfd (race widening), fanotify, the kernel log, the keyrings, swap and quotas. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int escaped;
#define TRY(what, call) do { errno = 0; long r_ = (long)(call); \
    if (r_ < 0) printf("BLOCKED: %s: %s\n", what, strerror(errno)); \
    else { printf("ESCAPED: %s succeeded (%ld)\n", what, r_); escaped = 1; } } while (0)

int main(void) {
    union bpf_attr attr; memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY; attr.key_size = 4; attr.value_size = 4; attr.max_entries = 1;
    TRY("bpf(BPF_MAP_CREATE)", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
    struct perf_event_attr pe; memset(&pe, 0, sizeof pe);
    pe.type = PERF_TYPE_SOFTWARE; pe.size = sizeof pe; pe.config = PERF_COUNT_SW_CPU_CLOCK;
    TRY("perf_event_open(any cpu)", syscall(SYS_perf_event_open, &pe, -1, 0, -1, 0));
    char params[120] = {0};
    TRY("io_uring_setup", syscall(SYS_io_uring_setup, 8, params));
    TRY("userfaultfd", syscall(SYS_userfaultfd, 0));
    TRY("fanotify_init", syscall(SYS_fanotify_init, 0, 0));
    char logbuf[256];
    TRY("syslog(READ_ALL) (dmesg)", syscall(SYS_syslog, 3, logbuf, sizeof logbuf));
    TRY("add_key(user)", syscall(SYS_add_key, "user", "ale-sec", "x", 1, -2 /* session keyring */));
    TRY("keyctl(GET_KEYRING_ID)", syscall(SYS_keyctl, 0, -4 /* user keyring */, 0));
    TRY("request_key", syscall(SYS_request_key, "user", "ale-sec", NULL, -2));
    TRY("swapon(/dev/null)", syscall(SYS_swapon, "/dev/null", 0));
    TRY("acct(/tmp/acct)", syscall(SYS_acct, "/tmp/acct"));
    TRY("iopl(3)", syscall(SYS_iopl, 3));
    TRY("ioperm(0x80)", syscall(SYS_ioperm, 0x80, 1, 1));
    printf("VERDICT: %s\n", escaped ? "ESCAPED" : "BLOCKED");
    return escaped;
}
