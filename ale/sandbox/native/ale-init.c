/*
 * ale-init: zygote, launcher and PID 1 of ALE sandboxes.
 *
 * The Python runtime (ale/sandbox/runtime.py) starts `ale-init --zygote DEVDIR` once, as root, with a
 * SOCK_SEQPACKET socket on fd 0. The zygote mounts, in a mount namespace of its own, one read-only
 * device tmpfs on DEVDIR that every sandbox's /dev binds. For each sandbox it forks a launcher (no
 * exec: cheap) with a fresh control socket on its stdin/stdout, and hands the runtime that socket.
 * The launcher:
 *   0. creates the sandbox's cgroups and writes their limits (as the runtime told it);
 *   1. (host namespaces) enters a private mount namespace, mounts a size-limited tmpfs on the
 *      scratch dir, an overlay (image layers read-only, upper layer in that tmpfs) on scratch/root,
 *      and the shared /dev read-only on it;
 *   2. clones the sandbox init into new user, pid, mount, uts, ipc (and, unless --host-net, net)
 *      namespaces, maps uid/gid 0..65535 inside to uid-base.. outside, moves it into the cgroups;
 *   3. exits: the zygote (a subreaper) adopts the init and reports its death, so a live sandbox is
 *      one task on the host (the runtime counts a launch done once the launcher is gone too);
 *   4. (init, inside) mounts /proc, a devpts and a /dev/shm tmpfs, pivots into the overlay, brings
 *      up loopback, drops every capability, sets no_new_privs, installs the seccomp filter (denied calls are
 *      answered EPERM by this init through a user-notification listener, and reported as events),
 *      then serves the control protocol: spawn processes (pipes or a pty), stream their output,
 *      forward stdin, signal process groups, reap, report exits.
 *
 * Frames, both ways: u32 length (of what follows, little endian), u8 type, u32 id, payload.
 * Kept deliberately dumb: timeouts, output caps, sessions and policy live in Python.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { F_READY = 1, F_SPAWN = 2, F_STARTED = 3, F_OUT = 4, F_EXIT = 5, F_IN = 6, F_CLOSEIN = 7,
       F_KILL = 8, F_EVENT = 9, F_ERROR = 10, F_PID = 11, F_RESIZE = 12, F_CTL = 13, F_STATUS = 14 };
enum { SPAWN_PTY = 1, SPAWN_STDIN = 2, SPAWN_CTL = 4, SPAWN_WINSIZE = 8 };
/* SPAWN_WINSIZE: the pty's first window size (u16 rows, u16 cols) follows the spawn header, so the process
 * never sees another one (a resize sent after the spawn could arrive after its first `stty size`). */
/* SPAWN_CTL: the process also gets a private control socket on this fd (a session's shell reads its
 * commands there and reports each one's exit status there). What arrives on it is forwarded as
 * F_STATUS only when the kernel says it was sent by that very process (SO_PASSCRED): children that
 * inherit a copy, or anything else in the sandbox, cannot forge a status. */
#define CTL_FD 100

/* ---------- framing ---------- */

static int write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

static void send_frame(uint8_t type, uint32_t id, const void *payload, uint32_t len) {
    char hdr[9];
    uint32_t total = len + 5;
    memcpy(hdr, &total, 4); hdr[4] = (char)type; memcpy(hdr + 5, &id, 4);
    /* one writev: frames from the launcher, the intermediate and the init never interleave */
    struct iovec iov[2] = {{hdr, 9}, {(void *)payload, len}};
    ssize_t w = writev(1, iov, len ? 2 : 1);
    if (w < 0) _exit(0);  /* host gone */
    if ((size_t)w < 9) { if (write_all(1, hdr + w, 9 - (size_t)w) < 0) _exit(0); w = 9; }
    if (len && (size_t)w < 9 + len && write_all(1, (const char *)payload + (w - 9), len - (size_t)(w - 9)) < 0) _exit(0);
}

static void vsend_text(uint8_t type, uint32_t id, const char *fmt, va_list ap) {
    char buf[512];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    send_frame(type, id, buf, n < 0 ? 0 : (uint32_t)(n >= (int)sizeof buf ? (int)sizeof buf - 1 : n));
}

static void send_text(uint8_t type, uint32_t id, const char *fmt, ...) {
    va_list ap; va_start(ap, fmt);
    vsend_text(type, id, fmt, ap);
    va_end(ap);
}

/* Errors go to the host as one F_ERROR frame on the control channel (fd 1) while it is open. */
static void fail(const char *fmt, ...) {
    va_list ap; va_start(ap, fmt);
    vsend_text(F_ERROR, 0, fmt, ap);
    va_end(ap);
    _exit(125);
}

static void die(const char *what) { fail("ale-init: %s: %s", what, strerror(errno)); }

/* ---------- launcher side ---------- */

static const char *zygote_dev;  /* the shared device tmpfs (see make_dev) */

struct opts {
    const char *scratch, *lower, *hostname, *workdir;
    long long disk;
    unsigned long long keep_caps;
    long run_uid, run_gid;
    unsigned uid_base;
    unsigned owner_uid;        /* creates (owns) the user namespace: per-user kernel budgets are charged to it */
    int host_net;
    const char *seccomp;       /* the filter program (struct sock_filter[]), sent with the request */
    size_t seccomp_len;
    const char *cgroups[8];    /* cgroup dirs the init joins */
    int ncgroups;
    const char *cg_ops[24];    /* "mkdir DIR" or "PATH=VALUE" writes, in order, before the init starts */
    int ncg_ops;
};

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write_all(fd, text, strlen(text)) < 0) die(path);
    close(fd);
}

static void mount_rootfs(const struct opts *o) {
    char buf[4096], upper[1024], work[1024], root[1024];
    if (unshare(CLONE_NEWNS) < 0) die("unshare(mount)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private");
    long long inodes = o->disk / 2048 < 16384 ? 16384 : o->disk / 2048;
    snprintf(buf, sizeof buf, "size=%lld,nr_inodes=%lld,mode=0755", o->disk, inodes);
    if (mount("ale-scratch", o->scratch, "tmpfs", MS_NOSUID | MS_NODEV, buf) < 0) die("mount scratch tmpfs");
    snprintf(upper, sizeof upper, "%s/upper", o->scratch);
    snprintf(work, sizeof work, "%s/work", o->scratch);
    snprintf(root, sizeof root, "%s/root", o->scratch);
    if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(root, 0755) < 0) die("mkdir scratch dirs");
    /* The upper root inherits the image root's owner: sandbox root. */
    if (chown(upper, o->uid_base, o->uid_base) < 0) die("chown upper");
    /* The sandbox sees these options in /proc/self/mountinfo: give them short relative names (links
     * l0, l1, ... to the layers, from the scratch dir) so no host path or layer id shows there. */
    if (chdir(o->scratch) < 0) die("chdir scratch");
    size_t off = (size_t)snprintf(buf, sizeof buf, "lowerdir=");
    const char *l = o->lower;
    for (int i = 0; *l; i++) {
        const char *end = strchr(l, ':');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        char target[1024], name[16];
        snprintf(target, sizeof target, "%.*s", (int)len, l);
        snprintf(name, sizeof name, "l%d", i);
        if (symlink(target, name) < 0) die("layer link");
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", i ? ":" : "", name);
        if (off >= sizeof buf) fail("ale-init: too many layers");
        l = end ? end + 1 : l + len;
    }
    snprintf(buf + off, sizeof buf - off, ",upperdir=upper,workdir=work");
    if (mount("ale-root", root, "overlay", 0, buf) < 0) die("mount overlay");
    /* /dev: a read-only bind of the zygote's one device tmpfs, shared by every sandbox. A superblock
     * per sandbox (a /dev tmpfs and its device nodes' tmpfs) made every memory cgroup on the host
     * bigger (the kernel sizes each one's shrinker table by the number of superblocks there are) and
     * every cgroup removal slower (it walks every superblock's LRU lists). Made here, as host root,
     * the bind's read-only, nosuid and noexec flags are locked in the sandbox's namespaces. */
    char dev[1100];
    snprintf(dev, sizeof dev, "%s/dev", root);
    if (mkdir(dev, 0755) == 0 && chown(dev, o->uid_base, o->uid_base) < 0) die("chown /dev");
    if (mount(zygote_dev, dev, NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, dev, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0) die("bind /dev");
}

/* ---------- init side: namespace setup ---------- */

static void setup_inside(const struct opts *o) {
    char root[1024], p[1200];
    snprintf(root, sizeof root, "%s/root", o->scratch);
    if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0) die("become sandbox root");
    /* We are in the sandbox's cgroups by now: a cgroup namespace rooted here hides the host's paths. */
    if (unshare(CLONE_NEWCGROUP) < 0) die("unshare(cgroup)");
    /* Per-user kernel budgets are shared by every sandbox (one owner uid): keep each one's share small. */
    struct rlimit sigpending = {4096, 4096}, msgqueue = {1 << 20, 1 << 20};
    setrlimit(RLIMIT_SIGPENDING, &sigpending);
    setrlimit(RLIMIT_MSGQUEUE, &msgqueue);
    if (sethostname(o->hostname, strlen(o->hostname)) < 0) die("sethostname");
    if (!o->host_net) {  /* loopback up; the new namespace has no other interface and no route */
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {0};
        strcpy(ifr.ifr_name, "lo");
        if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("lo flags");
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("lo up");
        close(s);
    }
    /* Mounts inherited from the launcher are locked in our user namespace, and pivot_root refuses a
     * locked new root: bind the overlay (with /dev on it) onto itself to get a mount of our own. */
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind root");
    snprintf(p, sizeof p, "%s/proc", root); mkdir(p, 0555);
    if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("mount proc");
    snprintf(p, sizeof p, "%s/dev/pts", root);
    if (mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
        die("mount devpts");
    /* /dev/shm has room of its own: with / full, programs still have their shared memory (and a
     * place to write) */
    snprintf(p, sizeof p, "%s/dev/shm", root);
    if (mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777") < 0) die("mount shm");
    /* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only the image. */
    if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root");
    if (umount2(".", MNT_DETACH) < 0) die("detach old root");
    if (chdir("/") < 0) die("chdir /");
    /* Workdir: created as sandbox root if missing. */
    char wd[1024]; snprintf(wd, sizeof wd, "%s", o->workdir);
    for (char *s = wd + 1; *s; s++) if (*s == '/') { *s = 0; mkdir(wd, 0755); *s = '/'; }
    mkdir(wd, 0755);
}

/* Every capability is dropped unless `keep` (a bit mask, --keep-caps) names it. Kept ones are only
 * effective inside the sandbox's own user namespace (over its own files and processes), as root's
 * are inside a rootless container; with no_new_privs an exec can never gain more than `keep`. */
static void drop_privileges(unsigned long long keep, long uid, long gid) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
    for (int cap = 0; cap <= 63; cap++)
        if (!(keep >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) die("drop bounding cap");
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (uid > 0) {  /* the image's USER: becoming it clears every capability by itself */
        if (setgroups(0, NULL) < 0 || setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0 ||
            setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) die("become the image's user");
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) die("dumpable");
        return;
    }
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{0}};
    d[0].effective = d[0].permitted = (uint32_t)keep;
    d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
    if (syscall(SYS_capset, &h, d) < 0) die("capset");
    /* Not dumpable: sandbox processes (same uid) cannot open /proc/1/fd and forge control frames. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) die("dumpable");
}

static int install_seccomp(const struct opts *o) {
    if (o->seccomp_len == 0 || o->seccomp_len % sizeof(struct sock_filter) ||
        o->seccomp_len / sizeof(struct sock_filter) > 4096) fail("ale-init: bad seccomp program (%zu bytes)", o->seccomp_len);
    struct sock_fprog prog = {(unsigned short)(o->seccomp_len / sizeof(struct sock_filter)), (struct sock_filter *)o->seccomp};
    int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (listener < 0) die("install seccomp filter");
    fcntl(listener, F_SETFD, FD_CLOEXEC);
    return listener;
}

/* ---------- init side: the control loop ---------- */

#define MAXPROC 256
struct proc {
    uint32_t id;
    pid_t pid;
    int out, err, in;          /* -1 when closed; with a pty, out == in == master, err == -1 */
    int pty, exited, status;
    int ctl;                   /* SPAWN_CTL: our end of its control socket, else -1 */
    char *cbuf; size_t clen;   /* F_CTL bytes not yet written to ctl (it is non-blocking) */
};
static struct proc procs[MAXPROC];
static int nprocs;

static struct proc *find_proc(uint32_t id) {
    for (int i = 0; i < nprocs; i++) if (procs[i].id == id) return &procs[i];
    return NULL;
}

static void drain(struct proc *p, int *fdp, uint8_t stream) {
    char buf[65536 + 1];
    buf[0] = (char)stream;
    for (;;) {
        ssize_t n = read(*fdp, buf + 1, sizeof buf - 1);
        if (n > 0) { send_frame(F_OUT, p->id, buf, (uint32_t)n + 1); continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        /* EOF, or EIO on a pty master once the slave side is gone */
        if (*fdp == p->in) p->in = -1;
        close(*fdp); *fdp = -1;
        return;
    }
}

static void close_ctl(struct proc *p) {
    if (p->ctl >= 0) close(p->ctl);
    p->ctl = -1;
    free(p->cbuf); p->cbuf = NULL; p->clen = 0;
}

static void ctl_flush(struct proc *p) {
    while (p->ctl >= 0 && p->clen > 0) {
        ssize_t w = send(p->ctl, p->cbuf, p->clen, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) { if (errno == EINTR) continue; if (errno != EAGAIN) close_ctl(p); return; }
        memmove(p->cbuf, p->cbuf + w, p->clen - (size_t)w); p->clen -= (size_t)w;
    }
}

static void ctl_queue(struct proc *p, const char *data, uint32_t len) {
    if (p->ctl < 0 || len == 0) return;
    if (p->clen + len > (64u << 20)) return;  /* the host bounds commands far below this */
    char *nb = realloc(p->cbuf, p->clen + len);
    if (!nb) return;
    p->cbuf = nb; memcpy(p->cbuf + p->clen, data, len); p->clen += len;
    ctl_flush(p);
}

/* Statuses from the process itself only: the kernel attaches the sender's pid to each message and
 * never merges messages of different senders into one read. */
static void ctl_read(struct proc *p) {
    char buf[4096];
    for (;;) {
        union { char b[CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr align; } u;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
        ssize_t n = recvmsg(p->ctl, &mh, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) { close_ctl(p); return; }
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        struct ucred cr = {0};
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) memcpy(&cr, CMSG_DATA(c), sizeof cr);
        if (cr.pid == p->pid) send_frame(F_STATUS, p->id, buf, (uint32_t)n);
    }
}

static void finish_if_done(int i) {
    struct proc *p = &procs[i];
    if (!p->exited) return;
    /* The main process is gone: forward what is buffered, then drop the pipes (background children
     * that still hold them get EPIPE, as after `docker exec`). */
    if (p->out >= 0) drain(p, &p->out, 1);
    if (p->err >= 0) drain(p, &p->err, 2);
    if (p->out >= 0) { if (p->in == p->out) p->in = -1; close(p->out); }
    if (p->err >= 0) close(p->err);
    if (p->in >= 0) close(p->in);
    if (p->ctl >= 0) ctl_read(p);  /* the last status, sent just before it exited */
    close_ctl(p);
    int32_t st = p->status;
    send_frame(F_EXIT, p->id, &st, 4);
    procs[i] = procs[--nprocs];
}

static void spawn(uint32_t id, const char *pl, uint32_t len) {
    /* payload: u32 flags, u32 argc, u32 envc, [u16 rows, u16 cols: SPAWN_WINSIZE], cwd\0, argv\0 x argc, env\0 x envc */
    if (len < 12 || nprocs >= MAXPROC || find_proc(id)) { send_text(F_ERROR, id, "bad spawn request"); return; }
    uint32_t flags, argc, envc;
    memcpy(&flags, pl, 4); memcpy(&argc, pl + 4, 4); memcpy(&envc, pl + 8, 4);
    if (argc == 0 || argc > 4096 || envc > 4096) { send_text(F_ERROR, id, "bad argc/envc"); return; }
    struct winsize ws = {.ws_row = 40, .ws_col = 200};
    uint32_t head = 12;
    if (flags & SPAWN_WINSIZE) {
        uint16_t rc[2];
        if (len < 16) { send_text(F_ERROR, id, "bad spawn request"); return; }
        memcpy(rc, pl + 12, 4);
        if (rc[0] && rc[1]) { ws.ws_row = rc[0]; ws.ws_col = rc[1]; }
        head = 16;
    }
    const char *s = pl + head, *end = pl + len;
    char **argv = calloc(argc + 1, sizeof *argv), **envp = calloc(envc + 1, sizeof *envp);
    const char *cwd = s;
    int ok = 1;
    #define NEXT(dst) do { const char *z = memchr(s, 0, (size_t)(end - s)); if (!z) { ok = 0; break; } dst = (char *)s; s = z + 1; } while (0)
    NEXT(cwd);
    for (uint32_t k = 0; ok && k < argc; k++) NEXT(argv[k]);
    for (uint32_t k = 0; ok && k < envc; k++) NEXT(envp[k]);
    #undef NEXT
    if (!ok) { send_text(F_ERROR, id, "truncated spawn request"); free(argv); free(envp); return; }

    int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1}, ctl[2] = {-1, -1}, master = -1, slave = -1;
    int pty = flags & SPAWN_PTY;
    if (flags & SPAWN_CTL) {
        int one = 1;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0 ||
            setsockopt(ctl[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) {
            send_text(F_ERROR, id, "control socket: %s", strerror(errno)); goto out;
        }
    }
    if (pty) {
        if (openpty(&master, &slave, NULL, NULL, &ws) < 0) { send_text(F_ERROR, id, "openpty: %s", strerror(errno)); goto out; }
        fcntl(master, F_SETFD, FD_CLOEXEC);
    } else if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0) {
        send_text(F_ERROR, id, "pipe: %s", strerror(errno)); goto out;
    }
    pid_t pid = fork();
    if (pid < 0) { send_text(F_ERROR, id, "fork: %s", strerror(errno)); goto out; }
    if (pid == 0) {
        sigset_t none; sigemptyset(&none); sigprocmask(SIG_SETMASK, &none, NULL);
        /* every disposition to default: an ignored SIGINT/SIGHUP inherited from whoever started the
           service (nohup, `cmd &`) would otherwise survive exec, and Ctrl-C or hang-up would not work */
        for (int s = 1; s < _NSIG; s++) signal(s, SIG_DFL);
        setsid();  /* own session and process group: the host kills the whole group */
        if (pty) {
            ioctl(slave, TIOCSCTTY, 0);
            dup2(slave, 0); dup2(slave, 1); dup2(slave, 2);
        } else {
            int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
            dup2(flags & SPAWN_STDIN ? in[0] : null, 0); dup2(out[1], 1); dup2(err[1], 2);
        }
        if (ctl[1] >= 0 && (ctl[1] == CTL_FD ? fcntl(CTL_FD, F_SETFD, 0) : dup2(ctl[1], CTL_FD)) < 0) _exit(127);
        if (chdir(cwd) < 0) { dprintf(2, "ale-init: cannot cd to %s: %s\n", cwd, strerror(errno)); _exit(127); }
        environ = envp;
        execvp(argv[0], argv);
        dprintf(2, "ale-init: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    struct proc *p = &procs[nprocs++];
    memset(p, 0, sizeof *p);
    p->id = id; p->pid = pid; p->pty = pty; p->err = -1; p->ctl = -1;
    if (ctl[0] >= 0) {
        close(ctl[1]); ctl[1] = -1;
        p->ctl = ctl[0]; ctl[0] = -1;
        fcntl(p->ctl, F_SETFL, O_NONBLOCK);
    }
    if (pty) {
        close(slave); slave = -1;
        p->out = p->in = master; master = -1;
        fcntl(p->out, F_SETFL, O_NONBLOCK);
    } else {
        close(out[1]); close(err[1]); close(in[0]);
        p->out = out[0]; p->err = err[0];
        if (flags & SPAWN_STDIN) p->in = in[1]; else { close(in[1]); p->in = -1; }
        fcntl(p->out, F_SETFL, O_NONBLOCK); fcntl(p->err, F_SETFL, O_NONBLOCK);
        out[0] = err[0] = in[1] = -1;
    }
    int32_t hpid = pid;
    send_frame(F_STARTED, id, &hpid, 4);
    free(argv); free(envp);
    return;
out:
    for (int k = 0; k < 2; k++) {
        if (out[k] >= 0) close(out[k]);
        if (err[k] >= 0) close(err[k]);
        if (in[k] >= 0) close(in[k]);
        if (ctl[k] >= 0) close(ctl[k]);
    }
    if (master >= 0) close(master);
    if (slave >= 0) close(slave);
    free(argv); free(envp);
}

static void handle_request(uint8_t type, uint32_t id, const char *pl, uint32_t len) {
    struct proc *p = type == F_SPAWN ? NULL : find_proc(id);
    switch (type) {
    case F_SPAWN: spawn(id, pl, len); break;
    case F_IN:
        /* Blocking write on purpose: the host sends small inputs; a full pipe means the child is
         * not reading, and the host's own timeout then kills it, which unblocks us (EPIPE). */
        if (p && p->in >= 0) {
            int fl = fcntl(p->in, F_GETFL);
            fcntl(p->in, F_SETFL, fl & ~O_NONBLOCK);
            write_all(p->in, pl, len);
            fcntl(p->in, F_SETFL, fl);
        }
        break;
    case F_CTL:
        if (p) ctl_queue(p, pl, len);
        break;
    case F_CLOSEIN:
        if (p && p->in >= 0 && !p->pty) { close(p->in); p->in = -1; }
        break;
    case F_KILL: {
        int32_t sig = SIGKILL;
        if (len >= 4) memcpy(&sig, pl, 4);
        if (p && kill(-p->pid, sig) < 0) kill(p->pid, sig);
        break;
    }
    case F_RESIZE:
        if (p && p->pty && len >= 4) {
            uint16_t rc[2]; memcpy(rc, pl, 4);
            struct winsize ws = {.ws_row = rc[0], .ws_col = rc[1]};
            ioctl(p->out, TIOCSWINSZ, &ws);
        }
        break;
    default: send_text(F_ERROR, id, "unknown frame type %d", type);
    }
}

/* Events are rate-limited here, at the source: a sandbox looping on a denied call must not turn
 * into a flood of frames the host has to parse. Past EVENTS_PER_SEC in one second, events are only
 * counted, and the count is reported once the next second starts. */
#define EVENTS_PER_SEC 50  /* per kind: flooding one kind cannot hide another */
enum { EV_DENIED, EV_NETWORK, EV_KINDS };
static const char *ev_names[EV_KINDS] = {"denied_syscall", "network_attempt"};
static time_t ev_second;
static unsigned ev_sent[EV_KINDS], ev_suppressed[EV_KINDS];

static int events_pending(void) { return ev_suppressed[EV_DENIED] || ev_suppressed[EV_NETWORK]; }

/* Start a new second if the clock moved; report what the last one suppressed, per kind. */
static void events_tick(void) {
    time_t now = time(NULL);
    if (now == ev_second) return;
    if (events_pending())
        send_text(F_EVENT, 0, "{\"kind\":\"events_suppressed\",\"%s\":%u,\"%s\":%u}", ev_names[EV_DENIED],
                  ev_suppressed[EV_DENIED], ev_names[EV_NETWORK], ev_suppressed[EV_NETWORK]);
    ev_second = now;
    memset(ev_sent, 0, sizeof ev_sent);
    memset(ev_suppressed, 0, sizeof ev_suppressed);
}

static int event_allowed(int kind) {
    events_tick();
    if (ev_sent[kind] < EVENTS_PER_SEC) { ev_sent[kind]++; return 1; }
    ev_suppressed[kind]++;
    return 0;
}

/* The non-loopback IPv4/IPv6 address at `ptr` in the process's memory, as "a.b.c.d:port", or "". */
static void peer_at(int listener, const struct seccomp_notif *req, uint64_t ptr, char *addr, size_t size) {
    char path[64];
    unsigned char sa[32] = {0};
    addr[0] = 0;
    if (!ptr) return;
    snprintf(path, sizeof path, "/proc/%d/mem", req->pid);
    int mem = open(path, O_RDONLY | O_CLOEXEC);
    if (mem < 0) return;
    ssize_t n = pread(mem, sa, sizeof sa, (off_t)ptr);
    close(mem);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) != 0 || n < 8) return;
    uint16_t fam; memcpy(&fam, sa, 2);
    if (fam == AF_INET) {
        struct sockaddr_in in; memcpy(&in, sa, sizeof in);
        if ((ntohl(in.sin_addr.s_addr) >> 24) != 127)
            snprintf(addr, size, "%s:%d", inet_ntoa(in.sin_addr), ntohs(in.sin_port));
    } else if (fam == AF_INET6 && n >= 24) {
        struct sockaddr_in6 in6; memcpy(&in6, sa, sizeof in6 < sizeof sa ? sizeof in6 : sizeof sa);
        if (!IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr)) {
            char b[64]; inet_ntop(AF_INET6, &in6.sin6_addr, b, sizeof b);
            snprintf(addr, size, "[%s]:%d", b, ntohs(in6.sin6_port));
        }
    }
}

static void handle_notification(int listener) {
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    int nr = req.data.nr;
    if (req.data.arch != AUDIT_ARCH_X86_64 || (nr & 0x40000000)) {
        /* A foreign ABI (i386 int 0x80, x32): never run, the process is killed (SIGSYS), and recorded. */
        const char *abi = req.data.arch == AUDIT_ARCH_I386 ? "i386" : req.data.arch == AUDIT_ARCH_X86_64 ? "x32" : "foreign";
        kill(req.pid, SIGSYS);
        resp.error = -ENOSYS;
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        if (event_allowed(EV_DENIED))
            send_text(F_EVENT, 0, "{\"kind\":\"denied_syscall\",\"pid\":%d,\"nr\":%d,\"arch\":%u,\"abi\":\"%s\"}",
                      req.pid, nr & ~0x40000000, req.data.arch, abi);
        return;
    }
    if (nr == SYS_connect || nr == SYS_sendto || nr == SYS_sendmsg) {
        /* Observed, not decided here: the network namespace itself enforces the policy. */
        char addr[128] = "";
        uint64_t ptr = nr == SYS_connect ? req.data.args[1] : nr == SYS_sendto ? req.data.args[4] : 0;
        if (nr == SYS_sendmsg) {  /* struct msghdr starts with msg_name */
            char path[64]; snprintf(path, sizeof path, "/proc/%d/mem", req.pid);
            int mem = open(path, O_RDONLY | O_CLOEXEC);
            if (mem >= 0) {
                if (pread(mem, &ptr, sizeof ptr, (off_t)req.data.args[1]) != sizeof ptr) ptr = 0;
                close(mem);
            }
        }
        peer_at(listener, &req, ptr, addr, sizeof addr);
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        const char *via = nr == SYS_connect ? "connect" : nr == SYS_sendto ? "sendto" : "sendmsg";
        if (addr[0] && event_allowed(EV_NETWORK))
            send_text(F_EVENT, 0, "{\"kind\":\"network_attempt\",\"pid\":%d,\"address\":\"%s\",\"via\":\"%s\"}",
                      req.pid, addr, via);
        return;
    }
    resp.error = -EPERM;
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    if (event_allowed(EV_DENIED)) send_text(F_EVENT, 0, "{\"kind\":\"denied_syscall\",\"pid\":%d,\"nr\":%d,\"arch\":%u}", req.pid, nr, req.data.arch);
}

static void serve(int listener) {
    sigset_t mask; sigemptyset(&mask); sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) die("signalfd");
    send_frame(F_READY, 0, NULL, 0);

    static char rbuf[1 << 20];
    size_t rlen = 0;
    struct pollfd pfd[3 + 3 * MAXPROC];
    for (;;) {
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = listener, .events = POLLIN};
        for (int i = 0; i < nprocs; i++) {
            pfd[n++] = (struct pollfd){.fd = procs[i].out, .events = POLLIN};
            pfd[n++] = (struct pollfd){.fd = procs[i].err, .events = POLLIN};
            pfd[n++] = (struct pollfd){.fd = procs[i].ctl, .events = POLLIN | (procs[i].clen ? POLLOUT : 0)};
        }
        /* wake up at least once a second while a suppressed-events summary is owed */
        if (poll(pfd, (nfds_t)n, events_pending() ? 1000 : -1) < 0) { if (errno == EINTR) continue; die("poll"); }
        events_tick();
        if (pfd[0].revents) {
            ssize_t r = read(0, rbuf + rlen, sizeof rbuf - rlen);
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) _exit(0);  /* host closed: sandbox ends */
            if (r > 0) rlen += (size_t)r;
            size_t off = 0;
            while (rlen - off >= 9) {
                uint32_t total; memcpy(&total, rbuf + off, 4);
                if (total < 5 || total > sizeof rbuf - 4) _exit(0);  /* protocol error: fail closed */
                if (rlen - off < 4 + total) break;
                uint32_t id; memcpy(&id, rbuf + off + 5, 4);
                handle_request((uint8_t)rbuf[off + 4], id, rbuf + off + 9, total - 5);
                off += 4 + total;
            }
            memmove(rbuf, rbuf + off, rlen - off); rlen -= off;
        }
        if (pfd[2].revents & POLLIN) handle_notification(listener);
        /* output before exits, so a process's last bytes precede its EXIT frame */
        for (int k = 3, i = 0; i < nprocs; i++, k += 3) {
            if (pfd[k].revents && procs[i].out >= 0) drain(&procs[i], &procs[i].out, 1);
            if (pfd[k + 1].revents && procs[i].err >= 0) drain(&procs[i], &procs[i].err, 2);
            if (pfd[k + 2].revents & POLLOUT) ctl_flush(&procs[i]);
            if (pfd[k + 2].revents & (POLLIN | POLLHUP | POLLERR) && procs[i].ctl >= 0) ctl_read(&procs[i]);
        }
        if (pfd[1].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) > 0) {}
            int st; pid_t pid;
            while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {  /* PID 1 reaps every orphan too */
                for (int i = 0; i < nprocs; i++)
                    if (procs[i].pid == pid) { procs[i].exited = 1; procs[i].status = st; }
            }
        }
        for (int i = nprocs - 1; i >= 0; i--) finish_if_done(i);
    }
}

/* ---------- the launcher: one sandbox ---------- */

static int parse_opts(int argc, char **argv, struct opts *o) {
    *o = (struct opts){.hostname = "sandbox", .workdir = "/workspace", .disk = 1LL << 30, .uid_base = 100000};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--host-net")) { o->host_net = 1; continue; }
        if (!v) fail("ale-init: %s needs a value", a);
        i++;
        if (!strcmp(a, "--scratch")) o->scratch = v;
        else if (!strcmp(a, "--lower")) o->lower = v;
        else if (!strcmp(a, "--hostname")) o->hostname = v;
        else if (!strcmp(a, "--workdir")) o->workdir = v;
        else if (!strcmp(a, "--disk")) o->disk = atoll(v);
        else if (!strcmp(a, "--uid-base")) o->uid_base = (unsigned)atol(v);
        else if (!strcmp(a, "--owner-uid")) o->owner_uid = (unsigned)atol(v);
        else if (!strcmp(a, "--keep-caps")) o->keep_caps = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--user")) { if (sscanf(v, "%ld:%ld", &o->run_uid, &o->run_gid) != 2 || o->run_uid < 0 ||
                                              o->run_uid > 65535 || o->run_gid < 0 || o->run_gid > 65535)
                                              fail("ale-init: --user needs UID:GID in 0..65535"); }
        else if (!strcmp(a, "--cgroup") && o->ncgroups < 8) o->cgroups[o->ncgroups++] = v;
        else if (!strcmp(a, "--cg-op") && o->ncg_ops < 24) o->cg_ops[o->ncg_ops++] = v;
        else fail("ale-init: unknown option %s", a);
    }
    if (!o->owner_uid) o->owner_uid = o->uid_base;
    if (!o->scratch || !o->lower || o->workdir[0] != '/')
        fail("ale-init: a launch needs --scratch DIR --lower L1[:L2...] [--disk BYTES] [--hostname H] [--workdir /DIR] "
             "[--uid-base N] [--cg-op 'mkdir DIR'|PATH=VALUE]... [--cgroup DIR]... [--host-net]");
    return 0;
}

/* The sandbox's cgroups: made and limited here, in parallel with other launches, not by the runtime. */
static void make_cgroups(const struct opts *o) {
    char path[1024];
    for (int i = 0; i < o->ncg_ops; i++) {
        const char *op = o->cg_ops[i], *eq = strchr(op, '=');
        if (!strncmp(op, "mkdir ", 6)) {
            if (mkdir(op + 6, 0755) < 0 && errno != EEXIST) die(op + 6);
        } else if (eq && (size_t)(eq - op) < sizeof path) {
            memcpy(path, op, (size_t)(eq - op)); path[eq - op] = 0;
            write_file(path, eq + 1);
        } else fail("ale-init: bad cgroup op %s", op);
    }
}

/* Runs in a child of the zygote, with the control socket on fd 0 and 1. Exits once the init runs:
 * the zygote (a subreaper) adopts the init, so a live sandbox is one task on the host (pivot_root
 * walks every task on the host, and each task has its page tables, stack and mount namespace). */
static int launch(struct opts *o, uint32_t tag, int handoff) {
    setsid();  /* out of the runtime's process group: a Ctrl-C meant for it is not ours */
    prctl(PR_SET_PDEATHSIG, SIGKILL);  /* the sandbox never outlives the zygote (nor so the runtime) */
    if (getppid() == 1) _exit(125);
    make_cgroups(o);
    mount_rootfs(o);
    /* The host reaches the upper layer through this fd once our mount namespace is gone. */
    int scratch = open(o->scratch, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (scratch < 0) die("open scratch");

    int sync[2], pidpipe[2];
    if (pipe2(sync, O_CLOEXEC) < 0 || pipe2(pidpipe, O_CLOEXEC) < 0) die("pipe");
    int flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (o->host_net ? 0 : CLONE_NEWNET);
    /* The user namespace is created by an intermediate process running as an unprivileged owner uid
     * of this sandbox's own (--owner-uid), so the namespace (and the per-user kernel counters its
     * processes are charged to: inotify instances and watches, user namespaces, ...) belong to that
     * uid: never host root's, never another sandbox's. When it exits, the init is the zygote's. */
    pid_t mid = fork();
    if (mid < 0) die("fork");
    if (mid == 0) {
        if (setgroups(0, NULL) < 0 || setresgid(o->owner_uid, o->owner_uid, o->owner_uid) < 0 ||
            setresuid(o->owner_uid, o->owner_uid, o->owner_uid) < 0) die("drop to the owner uid");
        pid_t child = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
        if (child < 0) die("clone");
        if (child == 0) {
            close(sync[1]); close(pidpipe[0]); close(pidpipe[1]); close(scratch); close(handoff);
            char c;
            if (read(sync[0], &c, 1) != 1) _exit(125);  /* launcher died before mapping us */
            close(sync[0]);
            prctl(PR_SET_PDEATHSIG, SIGKILL);  /* our parent is the zygote now */
            setup_inside(o);
            drop_privileges(o->keep_caps, o->run_uid, o->run_gid);
            int listener = install_seccomp(o);
            if (chdir(o->workdir) < 0) die("chdir workdir");
            serve(listener);
            _exit(0);
        }
        /* Tell the zygote which sandbox its next orphan is, while the init is still our child (so the
         * zygote cannot reap it before it knows): tag, launcher pid, init pid, and the scratch fd. */
        int32_t msg[3] = {(int32_t)tag, (int32_t)getppid(), (int32_t)child};
        struct iovec iov = {msg, sizeof msg};
        union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &scratch, sizeof(int));
        if (sendmsg(handoff, &mh, MSG_NOSIGNAL) != sizeof msg) { kill(child, SIGKILL); die("hand the init to the zygote"); }
        int32_t cp = child;
        _exit(write(pidpipe[1], &cp, 4) == 4 ? 0 : 125);
    }
    close(pidpipe[1]); close(scratch); close(handoff);
    int mst;
    while (waitpid(mid, &mst, 0) < 0 && errno == EINTR) {}
    int32_t child32 = -1;
    if (!WIFEXITED(mst) || WEXITSTATUS(mst) != 0 || read(pidpipe[0], &child32, 4) != 4)
        _exit(125);  /* the intermediate already reported why */
    close(pidpipe[0]);
    pid_t child = child32;
    close(sync[0]);
    char path[128], map[64];
    snprintf(map, sizeof map, "0 %u 65536\n", o->uid_base);
    snprintf(path, sizeof path, "/proc/%d/uid_map", child); write_file(path, map);
    snprintf(path, sizeof path, "/proc/%d/gid_map", child); write_file(path, map);
    char pidtxt[32];
    snprintf(pidtxt, sizeof pidtxt, "%d\n", child);
    for (int i = 0; i < o->ncgroups; i++) {
        snprintf(path, sizeof path, "%.100s/cgroup.procs", o->cgroups[i]);
        write_file(path, pidtxt);
    }
    int32_t cp = child;
    send_frame(F_PID, 0, &cp, 4);
    if (write(sync[1], "g", 1) != 1) die("release child");
    return 0;  /* our exit closes sync[1]: the init goes on */
}

/* ---------- the zygote: forks launchers for the runtime, adopts their inits ----------
 *
 * Started once per runtime with a SOCK_SEQPACKET socket on fd 0 and the path of an empty directory,
 * where it mounts (in a mount namespace of its own) the device tmpfs every sandbox's /dev binds.
 * Forking this small process is far cheaper than the runtime spawning a program (whose fork copies a
 * big fd table and page tables). It is a subreaper: each init becomes its child when the launcher's
 * intermediate exits, so it reaps every init and reports its death.
 * Request: u32 tag, u32 n, n bytes of NUL-terminated launcher options, then the seccomp program;
 * or u32 pid, u32 0: reap that init (the runtime saw its control socket close).
 * Replies (16 bytes: u32 kind, u32 tag, i32 pid, i32 value):
 *   kind 1 started: with SCM_RIGHTS [control socket, pidfd of the launcher]
 *   kind 2 exited: value = wait status of the sandbox's init (or of its launcher, when it failed
 *          before the init ran)
 *   kind 3 failed: value = errno of the failed fork/socketpair
 *   kind 4 handed off: pid = the init's host pid; SCM_RIGHTS [pidfd of the init, scratch dir (O_PATH)]
 *   kind 5 the launcher that handed its init over is gone (reaped)
 */
#define HANDED (1u << 31)  /* in tag_of: a launcher whose init is handed over (tags stay below it) */
/* pid (up to PID_MAX_LIMIT) -> the sandbox whose death it reports. Wiped on fork: launchers and
 * inits never copy its page tables (each init's would grow with the pids the zygote has seen). */
static uint32_t *tag_of;

/* Reaping by pid, never waitpid(-1) per SIGCHLD: that walks every child, and every live sandbox's
 * init is one (with 3000 alive it cost ~1 ms per create). `watch` holds the launchers (few at a
 * time) and the inits the runtime saw die (their control socket closed: a reap request), each
 * checked on SIGCHLD; a full sweep every SWEEP_S catches anything else (an init killed while its
 * control socket stays open elsewhere, an intermediate orphaned by a dead launcher). */
#define SWEEP_S 2
#define WATCH_MAX (1 << 14)
/* In a mapping wiped on fork, as tag_of, count included: a page the zygote writes after forking an
 * init (a heap, a .bss variable) stays a private copy in that init, 4 KiB more per live sandbox. */
static struct { int n; pid_t pid[WATCH_MAX]; } *watch;

static void watch_add(pid_t pid) {  /* full: the sweep reaps it instead (within SWEEP_S) */
    for (int i = 0; i < watch->n; i++)
        if (watch->pid[i] == pid) return;
    if (watch->n < WATCH_MAX) watch->pid[watch->n++] = pid;
}

static void zygote_reply(uint32_t kind, uint32_t tag, int32_t pid, int32_t value, const int *fds, int nfds) {
    int32_t msg[4] = {(int32_t)kind, (int32_t)tag, pid, value};
    struct iovec iov = {msg, sizeof msg};
    union { char buf[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr align; } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds) {
        mh.msg_control = u.buf; mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
    }
    while (sendmsg(0, &mh, MSG_NOSIGNAL) < 0) {
        if (errno != EINTR) _exit(0);  /* runtime gone */
    }
}

static void zygote_launch(char *req, size_t n, const sigset_t *oldmask, int sfd, int handoff[2]) {
    uint32_t tag, len;
    if (n < 8) return;
    memcpy(&tag, req, 4); memcpy(&len, req + 4, 4);
    if (len > n - 8 || len == 0 || req[8 + len - 1]) { zygote_reply(3, tag, 0, EINVAL, NULL, 0); return; }
    char *argv[64]; int argc = 0;
    for (char *p = req + 8; p < req + 8 + len && argc < 64; p += strlen(p) + 1) argv[argc++] = p;
    int ctrl[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctrl) < 0) { zygote_reply(3, tag, 0, errno, NULL, 0); return; }
    pid_t pid = fork();
    if (pid < 0) { int e = errno; close(ctrl[0]); close(ctrl[1]); zygote_reply(3, tag, 0, e, NULL, 0); return; }
    if (pid == 0) {
        /* fd 0 was the zygote's socket: replaced by the control channel, as is fd 1 */
        if (dup2(ctrl[1], 0) < 0 || dup2(ctrl[1], 1) < 0) _exit(125);
        close(ctrl[0]); close(ctrl[1]); close(sfd); close(handoff[0]);
        sigprocmask(SIG_SETMASK, oldmask, NULL);
        struct opts o;
        parse_opts(argc, argv, &o);
        o.seccomp = req + 8 + len; o.seccomp_len = n - 8 - len;
        _exit(launch(&o, tag, handoff[1]));
    }
    tag_of[pid] = tag;
    watch_add(pid);
    close(ctrl[1]);
    int fds[2] = {ctrl[0], (int)syscall(SYS_pidfd_open, pid, 0)};
    zygote_reply(1, tag, pid, 0, fds, fds[1] >= 0 ? 2 : 1);
    close(ctrl[0]);
    if (fds[1] >= 0) close(fds[1]);
}

/* Hand-offs from intermediates: from now on the init's death is the sandbox's, not the launcher's. */
static void zygote_adopt(int handoff) {
    for (;;) {
        int32_t msg[3];
        struct iovec iov = {msg, sizeof msg};
        union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
        ssize_t r = recvmsg(handoff, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return;
        int scratch = -1;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&scratch, CMSG_DATA(c), sizeof(int));
        pid_t launcher = msg[1], init = msg[2];
        if (r != sizeof msg || scratch < 0 || launcher <= 0 || launcher >= (1 << 22) || init <= 0 || init >= (1 << 22) ||
            tag_of[launcher] != (uint32_t)msg[0] || (tag_of[launcher] & HANDED)) {
            if (scratch >= 0) close(scratch);
            continue;
        }
        tag_of[init] = tag_of[launcher];
        tag_of[launcher] |= HANDED;  /* its exit only says it is gone: the init's says how the sandbox ended */
        /* Not reaped before we reap it (it is our child or our future child): the pid is the init's. */
        int fds[2] = {(int)syscall(SYS_pidfd_open, init, 0), scratch};
        if (fds[0] >= 0) zygote_reply(4, tag_of[init], init, 0, fds, 2);
        else kill(init, SIGKILL);  /* cannot happen; never leave a sandbox the runtime cannot stop */
        if (fds[0] >= 0) close(fds[0]);
        close(scratch);
    }
}

/* Reap `pid` if it is a dead child of ours, and tell the runtime whose death it was. Returns
 * waitpid's answer (-1 with ECHILD: not our child, or not yet: an init whose intermediate lives). */
static pid_t zygote_reap(pid_t pid, int handoff) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r <= 0) return r;
    /* An intermediate queues its hand-off before it exits, so before its launcher exits and before
     * the init can be ours to reap: read it before deciding whose death this is. */
    zygote_adopt(handoff);
    for (int i = 0; i < watch->n; i++)
        if (watch->pid[i] == r) { watch->pid[i] = watch->pid[--watch->n]; break; }
    uint32_t tag = r < (1 << 22) ? tag_of[r] : 0;
    if (tag) { tag_of[r] = 0; zygote_reply(tag & HANDED ? 5 : 2, tag & ~HANDED, r, st, NULL, 0); }
    return r;
}

/* The device tmpfs behind every sandbox's /dev, in the zygote's own mount namespace (launchers
 * inherit it; it goes with the zygote): the nodes a sandbox may use, read-only. */
static void make_dev(const char *dir) {
    char p[1200];
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("zygote mount namespace");
    if (mount("ale-dev", dir, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=4k,nr_inodes=64,mode=0755") < 0) die("mount dev");
    static const struct { const char *name; unsigned maj, min; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, nodes[i].name);
        if (mknod(p, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0 || chmod(p, 0666) < 0) die(p);
    }
    const char *links[][2] = {{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                              {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
    for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, links[i][1]);
        if (symlink(links[i][0], p) < 0) die("dev symlink");
    }
    snprintf(p, sizeof p, "%s/pts", dir);  /* mount points: each sandbox's devpts and its shm */
    if (mkdir(p, 0755) < 0) die("mkdir dev/pts");
    snprintf(p, sizeof p, "%s/shm", dir);
    if (mkdir(p, 01777) < 0 || chmod(p, 01777) < 0) die("mkdir dev/shm");
    if (mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "size=4k,nr_inodes=64,mode=0755") < 0)
        die("read-only dev");
    zygote_dev = dir;
}

static int zygote(const char *dev) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  /* dies with the runtime's thread that started it */
    if (getppid() == 1) return 0;
    make_dev(dev);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) die("subreaper");
    tag_of = mmap(NULL, sizeof *tag_of << 22, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (tag_of == MAP_FAILED || madvise(tag_of, sizeof *tag_of << 22, MADV_WIPEONFORK) < 0) die("pid table");
    watch = mmap(NULL, sizeof *watch, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (watch == MAP_FAILED || madvise(watch, sizeof *watch, MADV_WIPEONFORK) < 0) die("watch list");
    signal(SIGPIPE, SIG_IGN);
    int handoff[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, handoff) < 0) die("handoff socket");
    sigset_t mask, old; sigemptyset(&mask); sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, &old);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) die("signalfd");
    static char req[1 << 18];
    time_t last_sweep = time(NULL);
    for (;;) {
        struct pollfd pfd[3] = {{.fd = 0, .events = POLLIN}, {.fd = sfd, .events = POLLIN}, {.fd = handoff[0], .events = POLLIN}};
        if (poll(pfd, 3, SWEEP_S * 1000) < 0) { if (errno == EINTR) continue; die("poll"); }
        zygote_adopt(handoff[0]);
        if (pfd[1].revents) {  /* reap before launching: pid reuse can never confuse the runtime */
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) > 0) {}
            for (int i = watch->n - 1; i >= 0; i--)  /* backwards: a reaped pid's slot takes the last one */
                if (i < watch->n) zygote_reap(watch->pid[i], handoff[0]);
        }
        if (time(NULL) - last_sweep >= SWEEP_S) {
            last_sweep = time(NULL);
            while (zygote_reap(-1, handoff[0]) > 0) {}
            for (int i = watch->n - 1; i >= 0; i--)  /* requests for pids that are not (or no longer) ours */
                if (i < watch->n && zygote_reap(watch->pid[i], handoff[0]) < 0) watch->pid[i] = watch->pid[--watch->n];
        }
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(0, req, sizeof req, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) return 0;  /* runtime gone: sandboxes die */
            uint32_t pid, len;
            if (r == 8 && (memcpy(&pid, req, 4), memcpy(&len, req + 4, 4), len == 0)) {  /* a reap request */
                if (pid > 0 && pid < (1 << 22) && zygote_reap((pid_t)pid, handoff[0]) <= 0) watch_add((pid_t)pid);
            } else if (r > 0) zygote_launch(req, (size_t)r, &old, sfd, handoff);
        }
    }
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--zygote")) {
        char *dev = strdup(argv[2]);
        /* Every launcher and init is a fork of ours and shows our command line (in the sandbox: as
         * /proc/1/cmdline): no host path in it. */
        char *end = argv[2] + strlen(argv[2]);
        memset(argv[0], 0, (size_t)(end - argv[0]));
        snprintf(argv[0], (size_t)(end - argv[0]), "ale-init");
        return dev ? zygote(dev) : 1;
    }
    fprintf(stderr, "usage: ale-init --zygote DEVDIR  (started by ale/sandbox/runtime.py with a SOCK_SEQPACKET socket on fd 0)\n");
    return 2;
}
