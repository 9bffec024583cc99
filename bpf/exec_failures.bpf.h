/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Failed execs: an execve/execveat that returns an error to its caller never reaches
 * sched_process_exec. Two ways to see them, chosen at load time:
 *  - fexit on the two system calls' entry points: the path and the error in one
 *    program, and nothing at all for any other system call;
 *  - where the kernel refuses fexit, the system calls' own tracepoints: the path on
 *    entry, the error on exit. Enabling any syscall tracepoint sends every system call
 *    of every task through the kernel's slower tracing path, and attaching needs
 *    tracefs, which the loader mounts if it is missing.
 * The fexit targets are the x86_64 wrappers; userspace retargets them elsewhere.
 */
#ifndef EXECMOND_EXEC_FAILURES_BPF_H
#define EXECMOND_EXEC_FAILURES_BPF_H

#include "events.bpf.h"
#include <bpf/bpf_tracing.h>

/* The path an exec call in flight was given, by thread id, from entry to exit. An entry
 * lives for one system call; a thread killed inside execve leaves one behind, which
 * the LRU recycles. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} exec_calls SEC(".maps");

static __always_inline void remember_exec_call(unsigned long path)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 value = path;

	bpf_map_update_elem(&exec_calls, &tid, &value, BPF_ANY);
}

static __always_inline void report_exec_failure(const char *path, long ret)
{
	struct execmond_exec_failed_event *e;
	long n;

	if (ret >= 0)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EXECMOND_DROP_EXEC_FAILED);
		return;
	}
	fill_header(&e->hdr, EXECMOND_EVENT_EXEC_FAILED,
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

SEC("fexit/__x64_sys_execve")
int BPF_PROG(handle_execve_return, struct pt_regs *regs, long ret)
{
	report_exec_failure((const char *)PT_REGS_PARM1_CORE_SYSCALL(regs), ret);
	return 0;
}

SEC("fexit/__x64_sys_execveat")
int BPF_PROG(handle_execveat_return, struct pt_regs *regs, long ret)
{
	report_exec_failure((const char *)PT_REGS_PARM2_CORE_SYSCALL(regs), ret);
	return 0;
}

static __always_inline void finish_exec_call(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *remembered = bpf_map_lookup_elem(&exec_calls, &tid);
	const char *path;

	if (!remembered)
		return; /* entered before the programs were attached */
	path = (const char *)*remembered;
	bpf_map_delete_elem(&exec_calls, &tid);
	report_exec_failure(path, ret);
}

SEC("tracepoint/syscalls/sys_enter_execve")
int handle_execve_enter(struct trace_event_raw_sys_enter *ctx)
{
	remember_exec_call(ctx->args[0]); /* execve(filename, argv, envp) */
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int handle_execveat_enter(struct trace_event_raw_sys_enter *ctx)
{
	remember_exec_call(ctx->args[1]); /* execveat(dirfd, filename, argv, envp, flags) */
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int handle_execve_exit(struct trace_event_raw_sys_exit *ctx)
{
	finish_exec_call(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int handle_execveat_exit(struct trace_event_raw_sys_exit *ctx)
{
	finish_exec_call(ctx->ret);
	return 0;
}

#endif /* EXECMOND_EXEC_FAILURES_BPF_H */
