/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Process lifecycle: one record per successful exec, one per process exit.
 *
 * A lifetime starts at the process's last exec and an exit is named after the name the
 * process exec'd as. The task itself carries both almost always: a process execs within
 * microseconds of its fork (start_boottime) and keeps its name (the leader's comm). Task
 * storage (5.11+) is created only where the task fields would be wrong:
 *  - an exec more than EXEC_AFTER_FORK_NS after the fork (a script that execs its
 *    daemon): the storage holds the exec time and name;
 *  - a thread group leader renaming itself (prctl, /proc/PID/comm): the storage keeps
 *    the name it had before.
 * So a lifetime is exact when storage exists, and starts at most EXEC_AFTER_FORK_NS
 * before the exec otherwise. Without task storage (5.8-5.10) lifetimes run from the
 * fork and the name is the leader's at exit.
 *
 * Exactly one exit per process: where sched_process_exit passes group_dead (6.16+) the
 * kernel tells which thread is the last; elsewhere the candidates claim the exit, with an
 * atomic exchange in task storage where it exists, by inserting into an LRU map otherwise.
 * Userspace autoloads one program of each kind (see daemon/bpf/variant_plan.cpp).
 */
#ifndef EXECMOND_LIFECYCLE_BPF_H
#define EXECMOND_LIFECYCLE_BPF_H

#include "events.bpf.h"
#include "binaries.bpf.h"
#include "script_hook.bpf.h"
#include <bpf/bpf_tracing.h>

#define SIGNAL_GROUP_EXIT 0x00000004 /* include/linux/sched/signal.h, stable since 2.6 */
#define PF_FORKNOEXEC 0x00000040     /* include/linux/sched.h: forked but did not exec */

/* An exec this soon after the fork is timed by the fork: the error bound of a lifetime
 * measured without task storage. */
#define EXEC_AFTER_FORK_NS 1000000ULL

struct process_state {
	__u64 exec_ns;		      /* CLOCK_BOOTTIME the lifetime starts at */
	char comm[EXECMOND_COMM_LEN]; /* the name it exec'd as */
	__u32 exit_reported;	      /* set by the one thread that reports the exit */
	__u32 start_flags;	      /* EXECMOND_START_IS_FORK when exec_ns is the fork's */
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

/* Exits already reported, where the kernel does not say which thread is the last.
 * Threads that exit together may each see the thread group as dead; the first to
 * insert its process here reports it. Entries only need to outlive that race, so the
 * oldest are recycled. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct process_key);
	__type(value, __u8);
} reported_exits SEC(".maps");

/* Forked before the programs were loaded, or never exec'd: the exec that named the
 * process was not seen. Otherwise it came at most EXEC_AFTER_FORK_NS after the fork. */
static __always_inline __u32 fork_start_flags(struct task_struct *leader)
{
	return leader->start_boottime < loaded_ns || (leader->flags & PF_FORKNOEXEC)
		       ? EXECMOND_START_IS_FORK
		       : 0;
}

/* The process's state, if it has any. task->bpf_storage is NULL for a task no map
 * stored anything on: most tasks, and no lookup for them. */
static __always_inline struct process_state *stored_state(struct task_struct *task)
{
	if (!task->bpf_storage)
		return NULL;
	return bpf_task_storage_get(&process_states, task, 0, 0);
}

static __always_inline void emit_exec(struct task_struct *task, struct linux_binprm *bprm,
				      struct script_sighting *seen, __u64 now)
{
	struct execmond_exec_event *e;
	/* The daemon reads the header and the binary's identity: path and argv are for
	 * `execmond trace`. */
	__u64 size = capture_args ? sizeof(*e) : offsetof(struct execmond_exec_event, filename);
	struct execmond_binary_id binary = {};
	__u32 binary_flags = 0;
	bool identity = false;

	if (resolve_binaries) /* first: a binary record precedes its exec's */
		binary_flags = judge_binary(task, bprm, seen, now, &binary, &identity);
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e) {
		count_drop(EXECMOND_DROP_EXEC);
		return;
	}
	fill_header(&e->hdr, EXECMOND_EVENT_EXEC, task, now);
	if (identity)
		fill_identity(&e->hdr, task);
	e->binary = binary;
	e->binary_flags = binary_flags;
	e->pad0 = 0;
	if (capture_args) {
		/* The new image's argv is in place in its memory when this tracepoint fires. */
		struct mm_struct *mm = task->mm;
		unsigned long start = BPF_CORE_READ(mm, arg_start);
		unsigned long len = BPF_CORE_READ(mm, arg_end) - start;

		e->hdr.flags |= read_kernel_path(e->filename, bprm->filename);
		e->args_size = 0;
		e->pad = 0;
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
	struct process_state *state = NULL;

	/* After exec the task is its thread group's leader (de_thread() gave it the fork
	 * time too): its storage is the process's. Existing storage (an earlier exec or
	 * rename) always takes the new exec's time and name. */
	if (now - task->start_boottime > EXEC_AFTER_FORK_NS)
		state = bpf_task_storage_get(&process_states, task, 0,
					     BPF_LOCAL_STORAGE_GET_F_CREATE);
	else
		state = stored_state(task);
	if (state) {
		state->exec_ns = now;
		state->start_flags = 0;
		bpf_probe_read_kernel(&state->comm, sizeof(state->comm), task->comm);
	}
	if (resolve_binaries && script_hook && bprm->interp != bprm->filename) {
		/* A script: send what the hook saw of it, then free it. */
		emit_exec(task, bprm, script_seen(task, bprm), now);
		bpf_task_storage_delete(&script_sightings, task);
		return 0;
	}
	emit_exec(task, bprm, NULL, now);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec_without_storage, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	emit_exec(task, bprm, NULL, bpf_ktime_get_boot_ns());
	return 0;
}

/* Fires before the new name is copied in: task->comm is still the old one. A leader
 * renaming itself keeps its exec'd name in storage; renames by exec itself (in_execve),
 * by other threads, and by a process that never exec'd (it has no exec'd name: its exit
 * is named after what it calls itself then) change nothing an exit reports. */
SEC("tp_btf/task_rename")
int BPF_PROG(handle_rename, struct task_struct *task, const char *comm)
{
	struct process_state *state;

	if (task->group_leader != task || BPF_CORE_READ_BITFIELD(task, in_execve) ||
	    (task->flags & PF_FORKNOEXEC))
		return 0;
	if (stored_state(task))
		return 0; /* holds the exec'd name already */
	state = bpf_task_storage_get(&process_states, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!state)
		return 0;
	/* No storage so far: the exec (if any) came within EXEC_AFTER_FORK_NS of the fork. */
	state->exec_ns = task->start_boottime;
	state->start_flags = fork_start_flags(task);
	bpf_probe_read_kernel(&state->comm, sizeof(state->comm), task->comm);
	return 0;
}

/* What wait(2) will report for the process (kernel/exit.c wait_task_zombie()). */
static __always_inline __u32 wait_status(struct task_struct *task, struct task_struct *leader)
{
	struct signal_struct *signal = task->signal;

	if (signal->flags & SIGNAL_GROUP_EXIT)
		return signal->group_exit_code;
	return leader->exit_code;
}

/* do_exit() decrements signal->live before this tracepoint: the last thread sees zero,
 * and so may threads exiting at the same moment. One of those candidates must report. */
static __always_inline bool group_may_be_dead(struct task_struct *task)
{
	return task->signal->live.counter == 0;
}

/* The claim for processes without task storage: the first candidate to insert the
 * process's key wins, atomically under the bucket lock. */
static __always_inline bool claim_exit_in_map(struct task_struct *task, struct task_struct *leader)
{
	struct process_key key = {};
	__u8 reported = 1;

	key.tgid = task->tgid;
	key.fork_ns = leader->start_boottime;
	return bpf_map_update_elem(&reported_exits, &key, &reported, BPF_NOEXIST) == 0;
}

static __always_inline void emit_exit(struct task_struct *task, struct task_struct *leader,
				      struct process_state *state, __u64 now)
{
	struct execmond_exit_event *e;
	char exec_comm[EXECMOND_COMM_LEN];
	bool named = state && state->exec_ns;
	__u64 start;
	__u32 flags;

	/* Everything from the state up front: no pointer to it lives across the branches
	 * below, which older verifiers could not follow. */
	if (named) {
		start = state->exec_ns;
		flags = state->start_flags;
		__builtin_memcpy(exec_comm, state->comm, sizeof(exec_comm));
	} else {
		start = leader->start_boottime;
		flags = fork_start_flags(leader);
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
	if (named)
		__builtin_memcpy(e->hdr.comm, exec_comm, sizeof(e->hdr.comm));
	else
		bpf_probe_read_kernel(&e->hdr.comm, sizeof(e->hdr.comm), leader->comm);
	e->start_ns = start;
	e->lifetime_ns = now - start;
	e->exit_status = wait_status(task, leader);
	e->pad = 0;
	submit_event(e);
}

/* Kernels that pass group_dead: exactly one thread per process gets true. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_group_exit, struct task_struct *task, bool group_dead)
{
	struct task_struct *leader;

	if (!group_dead)
		return 0;
	leader = task->group_leader;
	/* The leader stays allocated until the whole group is reaped, storage included. */
	emit_exit(task, leader, stored_state(leader), bpf_ktime_get_boot_ns());
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_group_exit_without_storage, struct task_struct *task, bool group_dead)
{
	if (group_dead)
		emit_exit(task, task->group_leader, NULL, bpf_ktime_get_boot_ns());
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	struct task_struct *leader = task->group_leader;
	struct process_state *state;

	if (!group_may_be_dead(task))
		return 0;
	state = stored_state(leader);
	/* A process with storage claims its exit with one atomic exchange (BPF atomics:
	 * 5.12); one without, in the map. */
	if (state ? __sync_lock_test_and_set(&state->exit_reported, 1) != 0
		  : !claim_exit_in_map(task, leader))
		return 0;
	emit_exit(task, leader, state, bpf_ktime_get_boot_ns());
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit_without_storage, struct task_struct *task)
{
	struct task_struct *leader = task->group_leader;

	if (group_may_be_dead(task) && claim_exit_in_map(task, leader))
		emit_exit(task, leader, NULL, bpf_ktime_get_boot_ns());
	return 0;
}

#endif /* EXECMOND_LIFECYCLE_BPF_H */
