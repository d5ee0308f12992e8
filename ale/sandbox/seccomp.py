"""The sandbox's seccomp program, built as raw classic BPF (no libseccomp needed).

Denied calls are not answered by the kernel: they return SECCOMP_RET_USER_NOTIF, and the sandbox's
init (ale-init) answers EPERM and reports a `denied_syscall` event. So every denial is both
enforced and visible. `socket(AF_VSOCK)` is denied too (a channel to the hypervisor that no network namespace confines).
`connect`, `sendmsg` and `sendto` with a destination are also routed through the listener when network
watching is on, but only observed (the call continues; the network namespace enforces the policy).
Foreign ABIs (i386 `int 0x80`, x32) go to the listener too: the init kills the process (SIGSYS),
answers ENOSYS and records a `denied_syscall` event with its `abi`.
"""

from __future__ import annotations

import os
import struct

# x86-64 syscall numbers. Other architectures are refused with a clear error (see build_filter).
DENIED_SYSCALLS: dict[str, int] = {
    "ptrace": 101, "syslog": 103, "uselib": 134, "vhangup": 153, "pivot_root": 155, "_sysctl": 156,
    "adjtimex": 159, "chroot": 161, "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166,
    "swapon": 167, "swapoff": 168, "reboot": 169, "iopl": 172, "ioperm": 173, "create_module": 174,
    "init_module": 175, "delete_module": 176, "get_kernel_syms": 177, "query_module": 178,
    "quotactl": 179, "nfsservctl": 180, "lookup_dcookie": 212, "clock_settime": 227, "kexec_load": 246,
    "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272, "perf_event_open": 298,
    "fanotify_init": 300, "name_to_handle_at": 303, "open_by_handle_at": 304, "clock_adjtime": 305,
    "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "finit_module": 313,
    "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
}
SYSCALL_NAMES = {nr: name for name, nr in DENIED_SYSCALLS.items()}
_CLONE, _CLONE3, _CONNECT, _SOCKET, _SENDTO, _SENDMSG = 56, 435, 42, 41, 44, 46
_AF_VSOCK = 40  # vsock talks to the hypervisor, outside any network namespace
SYSCALL_NAMES[_CLONE] = "clone (namespace flags)"
SYSCALL_NAMES[_SOCKET] = "socket (AF_VSOCK)"
# CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME: a new namespace is a way out.
_CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80

_AUDIT_ARCH_X86_64 = 0xC000003E
_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _NOTIFY, _ERRNO = 0x7FFF0000, 0x7FC00000, 0x00050000
_ENOSYS = 38


def build_filter(watch_network: bool = True) -> bytes:
    """Return the BPF program (array of struct sock_filter) for x86-64."""
    if os.uname().machine != "x86_64":  # not platform.machine(): that import costs `ale sandbox run` ~2 ms
        raise RuntimeError(f"ALE's seccomp filter is written for x86_64, not {os.uname().machine}")
    # Instructions with symbolic jump targets, resolved below. (code, true_label, false_label, k)
    prog: list[tuple[int, str | None, str | None, int]] = [
        (_LD_ABS, None, None, 4),                       # seccomp_data.arch
        (_JEQ, None, "notify", _AUDIT_ARCH_X86_64),     # i386 (int 0x80): the init kills and records it
        (_LD_ABS, None, None, 0),                       # seccomp_data.nr
        (_JGE, "notify", None, 0x40000000),             # x32 ABI: likewise
        (_JEQ, "enosys", None, _CLONE3),                # libc falls back to clone(), whose flags we can see
        (_JEQ, "clone", None, _CLONE),
        (_JEQ, "socket", None, _SOCKET),
    ]
    if watch_network:
        prog += [(_JEQ, "notify", None, _CONNECT), (_JEQ, "notify", None, _SENDMSG), (_JEQ, "sendto", None, _SENDTO)]
    prog += [(_JEQ, "notify", None, nr) for nr in sorted(DENIED_SYSCALLS.values())]
    prog.append((_RET, None, None, _ALLOW))
    labels = {"clone": len(prog)}
    prog += [(_LD_ABS, None, None, 16),                 # args[0], low 32 bits on little endian
             (_JSET, "notify", None, _CLONE_NS_FLAGS),
             (_RET, None, None, _ALLOW)]
    labels["socket"] = len(prog)
    prog += [(_LD_ABS, None, None, 16),                 # socket(domain, ...)
             (_JEQ, "notify", None, _AF_VSOCK),
             (_RET, None, None, _ALLOW)]
    labels["sendto"] = len(prog)                     # sendto with a destination (UDP): observed
    prog += [(_LD_ABS, None, None, 48),                 # args[4] (dest_addr), low half
             (_JEQ, None, "notify", 0),
             (_LD_ABS, None, None, 52),                 # high half
             (_JEQ, None, "notify", 0),
             (_RET, None, None, _ALLOW)]
    labels["notify"] = len(prog); prog.append((_RET, None, None, _NOTIFY))
    labels["enosys"] = len(prog); prog.append((_RET, None, None, _ERRNO | _ENOSYS))

    out = bytearray()
    for i, (code, jt, jf, k) in enumerate(prog):
        rel = [labels[t] - i - 1 if t else 0 for t in (jt, jf)]
        assert all(0 <= r < 256 for r in rel), "BPF jump out of range"
        out += struct.pack("=HBBI", code, rel[0], rel[1], k)
    return bytes(out)
