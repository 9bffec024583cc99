/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Process lifecycle: one record per successful exec, one per process exit.
 *
 * Two variants of each program exist; userspace autoloads one pair:
 *  - with task storage (kernel >= 5.11): each exec stores its time and name on the
 *    process, so a lifetime runs from the last exec and an exit is attributed to
 *    the name the process exec'd as;
 *  - without (5.8 - 5.10): the lifetime runs from the process's fork, the name is
 *    the group leader's.
 */
#ifndef EXECMOND_LIFECYCLE_BPF_H
#define EXECMOND_LIFECYCLE_BPF_H

#include "events.bpf.h"
#include "binaries.bpf.h"
#include <bpf/bpf_tracing.h>

#define SIGNAL_GROUP_EXIT 0x00000004 /* include/linux/sched/signal.h, stable since 2.6 */

struct process_state {
	__u64 exec_ns;		      /* CLOCK_BOOTTIME of the process's last exec */
	char comm[EXECMOND_COMM_LEN]; /* the name it exec'd as */
	__u32 exit_reported;	      /* set by the one thread that reports the exit */
	__u32 pad;
};

/* Per-process state lives and dies with the task: no map a fork storm can fill. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct process_state);
} process_states SEC(".maps");

/* Process identity: a tgid is reused, a tgid with its fork time is not. */
struct process_key {
	__u32 tgid;
	__u32 pad;
	__u64 fork_ns;
};

/* Exits already reported. Threads that exit together may each see the thread group
 * as dead (below); the first to insert its process here reports it. Entries only
 * need to outlive that race, so the oldest are recycled. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct process_key);
	__type(value, __u8);
} reported_exits SEC(".maps");

static __always_inline void emit_exec(struct task_struct *task, struct linux_binprm *bprm,
				      __u64 now)
{
	struct execmond_exec_event *e;
	__u64 size = capture_args ? sizeof(*e) : offsetof(struct execmond_exec_event, args);
	struct execmond_binary_id binary = {};

	if (resolve_binaries) /* first: a binary record precedes its exec's */
		identify_binary(task, bprm, now, &binary);
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e) {
		count_drop(EXECMOND_DROP_EXEC);
		return;
	}
	fill_header(&e->hdr, EXECMOND_EVENT_EXEC, task, now);
	e->binary = binary;
	e->hdr.flags |= read_kernel_path(e->filename, BPF_CORE_READ(bprm, filename));
	e->args_size = 0;
	e->pad = 0;
	if (capture_args) {
		/* The new image's argv is in place in its memory when this tracepoint fires. */
		struct mm_struct *mm = BPF_CORE_READ(task, mm);
		unsigned long start = BPF_CORE_READ(mm, arg_start);
		unsigned long len = BPF_CORE_READ(mm, arg_end) - start;

		if (len > EXECMOND_ARGS_LEN) {
			len = EXECMOND_ARGS_LEN;
			e->hdr.flags |= EXECMOND_ARGS_TRUNCATED;
		}
		barrier_var(len);
		if (len > 0 && len <= EXECMOND_ARGS_LEN &&
		    bpf_probe_read_user(e->args, len, (const void *)start) == 0)
			e->args_size = len;
	}
	submit_event(e);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 now = bpf_ktime_get_boot_ns();
	/* After exec the task is its thread group's leader: its storage is the process's. */
	struct process_state *state =
		bpf_task_storage_get(&process_states, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (state) {
		state->exec_ns = now;
		BPF_CORE_READ_STR_INTO(&state->comm, task, comm);
	}
	emit_exec(task, bprm, now);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec_without_storage, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	emit_exec(task, bprm, bpf_ktime_get_boot_ns());
	return 0;
}

/* What wait(2) will report for the process (kernel/exit.c wait_task_zombie()). */
static __always_inline __u32 wait_status(struct task_struct *task, struct task_struct *leader)
{
	struct signal_struct *signal = BPF_CORE_READ(task, signal);

	if (BPF_CORE_READ(signal, flags) & SIGNAL_GROUP_EXIT)
		return BPF_CORE_READ(signal, group_exit_code);
	return BPF_CORE_READ(leader, exit_code);
}

/* do_exit() decrements signal->live before this tracepoint: the last thread sees zero,
 * and so may threads exiting at the same moment. One of those candidates must report. */
static __always_inline bool group_may_be_dead(struct task_struct *task)
{
	return BPF_CORE_READ(task, signal, live.counter) == 0;
}

/* The claim for processes without task storage: the first candidate to insert the
 * process's key wins, atomically under the bucket lock. */
static __always_inline bool claim_exit_in_map(struct task_struct *task, struct task_struct *leader)
{
	struct process_key key = {};
	__u8 reported = 1;

	key.tgid = BPF_CORE_READ(task, tgid);
	key.fork_ns = BPF_CORE_READ(leader, start_boottime);
	return bpf_map_update_elem(&reported_exits, &key, &reported, BPF_NOEXIST) == 0;
}

static __always_inline void emit_exit(struct task_struct *task, struct task_struct *leader,
				      struct process_state *state, __u64 now)
{
	struct execmond_exit_event *e;
	__u64 start = state ? state->exec_ns : 0;
	__u32 flags = 0;

	if (!start) {
		start = BPF_CORE_READ(leader, start_boottime);
		flags = EXECMOND_START_IS_FORK;
	}
	if (now - start < min_duration_ns)
		return;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EXECMOND_DROP_EXIT);
		return;
	}
	fill_header(&e->hdr, EXECMOND_EVENT_EXIT, task, now);
	e->hdr.flags = flags;
	/* The exiting thread may have renamed itself: report the name the process had. */
	if (state && state->exec_ns)
		__builtin_memcpy(e->hdr.comm, state->comm, sizeof(e->hdr.comm));
	else
		BPF_CORE_READ_STR_INTO(&e->hdr.comm, leader, comm);
	e->start_ns = start;
	e->lifetime_ns = now - start;
	e->exit_status = wait_status(task, leader);
	e->pad = 0;
	submit_event(e);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	struct task_struct *leader = task->group_leader;
	struct process_state *state;

	if (!group_may_be_dead(task))
		return 0;
	/* The leader stays allocated until the whole group is reaped, storage included. */
	state = bpf_task_storage_get(&process_states, leader, 0, 0);
	/* A process seen exec'ing claims its exit with one atomic exchange (BPF atomics:
	 * 5.12); one that was not (older than the daemon, or forked without exec) in the map. */
	if (state ? __sync_lock_test_and_set(&state->exit_reported, 1) != 0
		  : !claim_exit_in_map(task, leader))
		return 0;
	emit_exit(task, leader, state, bpf_ktime_get_boot_ns());
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit_without_storage, struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	if (group_may_be_dead(task) && claim_exit_in_map(task, leader))
		emit_exit(task, leader, NULL, bpf_ktime_get_boot_ns());
	return 0;
}

#endif /* EXECMOND_LIFECYCLE_BPF_H */
