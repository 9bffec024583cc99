/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Failed execs: an execve/execveat that returns an error to its caller never reaches
 * sched_process_exec. One pair of programs is loaded, the first the kernel allows of:
 *  - fexit on the two system calls' entry points: arguments and result in one program,
 *    nothing at all for any other system call;
 *  - kretprobe on the same functions (kernels without BTF for them, such as Debian's
 *    5.10): the result, and the arguments from the caller's saved registers;
 *  - the system calls' exit tracepoints, the arguments from the saved registers too.
 *    Enabling any syscall tracepoint sends every system call of every task through the
 *    kernel's slower tracing path, and attaching needs tracefs.
 * The fexit and kprobe targets are the architecture's system call wrappers, which take
 * the user registers (__x64_sys_* on x86_64, __arm64_sys_* on arm64); the loader names
 * the same ones (daemon/bpf/kernel_features.cpp). libbpf's *_SYSCALL register macros
 * read the first argument where each architecture keeps it: di on x86_64, orig_x0 on
 * arm64 (x0 is overwritten with the return value).
 */
#ifndef EXECMOND_EXEC_FAILURES_BPF_H
#define EXECMOND_EXEC_FAILURES_BPF_H

#include "events.bpf.h"
#include <bpf/bpf_tracing.h>

#if defined(__TARGET_ARCH_x86)
#define EXECMOND_SYSCALL_WRAPPER(name) "__x64_sys_" #name
#elif defined(__TARGET_ARCH_arm64)
#define EXECMOND_SYSCALL_WRAPPER(name) "__arm64_sys_" #name
#else
#error "execmond's BPF object is built with -D__TARGET_ARCH_x86 or -D__TARGET_ARCH_arm64"
#endif

/* x86_64 and arm64 (4 KiB pages, as Debian and the major distributions build it) keep
 * the user registers at the very top of the task's kernel stack (task_pt_regs();
 * THREAD_SIZE is 16 KiB on both without KASAN, no padding above them). */
#define EXECMOND_THREAD_SIZE (4096 << 2)

/* The registers the current task entered the system call with. A failed exec returns
 * before replacing anything, so they still hold its arguments. */
static __always_inline struct pt_regs *syscall_regs(void)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf()); /* 5.15 */
	/* Before 5.15 (dead code after it, removed by the verifier). */
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	void *stack = BPF_CORE_READ(task, stack);

	/* The running kernel's sizeof(struct pt_regs), relocated at load: arm64's has grown
	 * and shrunk across releases. */
	return (struct pt_regs *)(stack + EXECMOND_THREAD_SIZE -
				  bpf_core_type_size(struct pt_regs));
}

static __always_inline void report_exec_failure(const char *path, long ret)
{
	struct execmond_exec_failed_event *e;
	long n;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EXECMOND_DROP_EXEC_FAILED);
		return;
	}
	fill_header_probed(&e->hdr, EXECMOND_EVENT_EXEC_FAILED,
			   (struct task_struct *)bpf_get_current_task(), bpf_ktime_get_boot_ns());
	e->error = -ret;
	e->pad = 0;
	/* The caller's memory is intact: a failed exec returns before replacing it. */
	n = bpf_probe_read_user_str(e->filename, sizeof(e->filename), path);
	if (n < 0) {
		e->filename[0] = '\0';
	} else if (n == sizeof(e->filename)) {
		char next = 0;

		bpf_probe_read_user(&next, 1, path + sizeof(e->filename) - 1);
		if (next)
			e->hdr.flags |= EXECMOND_FILENAME_TRUNCATED;
	}
	submit_event(e);
}

SEC("fexit/" EXECMOND_SYSCALL_WRAPPER(execve))
int BPF_PROG(handle_execve_return, struct pt_regs *regs, long ret)
{
	if (ret < 0)
		report_exec_failure((const char *)PT_REGS_PARM1_CORE_SYSCALL(regs), ret);
	return 0;
}

SEC("fexit/" EXECMOND_SYSCALL_WRAPPER(execveat))
int BPF_PROG(handle_execveat_return, struct pt_regs *regs, long ret)
{
	if (ret < 0)
		report_exec_failure((const char *)PT_REGS_PARM2_CORE_SYSCALL(regs), ret);
	return 0;
}

/* Attached by userspace, to the architecture's wrapper. */
SEC("kretprobe")
int BPF_KRETPROBE(handle_execve_kretprobe, long ret)
{
	if (ret < 0)
		report_exec_failure((const char *)PT_REGS_PARM1_CORE_SYSCALL(syscall_regs()), ret);
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(handle_execveat_kretprobe, long ret)
{
	if (ret < 0)
		report_exec_failure((const char *)PT_REGS_PARM2_CORE_SYSCALL(syscall_regs()), ret);
	return 0;
}

/* One program per system call, at its exit only: no entry program, no map. */
SEC("tracepoint/syscalls/sys_exit_execve")
int handle_execve_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		report_exec_failure((const char *)PT_REGS_PARM1_CORE_SYSCALL(syscall_regs()),
				    ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int handle_execveat_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		report_exec_failure((const char *)PT_REGS_PARM2_CORE_SYSCALL(syscall_regs()),
				    ctx->ret);
	return 0;
}

#endif /* EXECMOND_EXEC_FAILURES_BPF_H */
