/**
 * The seccomp profile every container gets: allow by default, refuse with
 * EPERM the system calls Docker's and Garden's default profiles refuse to
 * unprivileged containers (kernel modules, mounts, namespaces, keyrings,
 * ptrace, clock changes, reboot, BPF, perf, userfaultfd...). clone3 answers
 * ENOSYS so libcs fall back to clone, whose namespace flags are then refused.
 * `runc spec` ships no seccomp section; this is that starting point made safe.
 */
const DENIED = [
  "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module", "finit_module",
  "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl",
  "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount", "mount_setattr", "move_mount",
  "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root",
  "process_vm_readv", "process_vm_writev", "ptrace", "query_module", "quotactl", "reboot", "request_key",
  "set_mempolicy", "setns", "settimeofday", "stime", "swapoff", "swapon", "syslog", "sysfs", "_sysctl", "umount",
  "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old",
];

/** CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME */
const NAMESPACE_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080];

export function defaultSeccomp(): Record<string, unknown> {
  const archs = process.arch === "arm64" ? ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"] : ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: archs,
    syscalls: [
      { names: DENIED, action: "SCMP_ACT_ERRNO", errnoRet: 1 },
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
      // clone with a namespace flag (one rule per flag: conditions within a rule are ANDed); flags are argument 0 on x86_64 and arm64.
      ...NAMESPACE_FLAGS.map((flag) => ({ names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [{ index: 0, value: flag, valueTwo: flag, op: "SCMP_CMP_MASKED_EQ" }] })),
    ],
  };
}
