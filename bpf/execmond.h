/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Event records shared by the BPF programs and the daemon.
 *
 * Fixed-width types and explicit padding only: the daemon static_asserts every size
 * and offset it reads, so a change here that is not mirrored there fails to compile.
 */
#ifndef EXECMOND_H
#define EXECMOND_H

#define EXECMOND_COMM_LEN 16	  /* TASK_COMM_LEN */
#define EXECMOND_FILENAME_LEN 256 /* longer paths are cut and flagged */
#define EXECMOND_ARGS_LEN 4096	  /* argv bytes captured for `execmond trace` */

enum execmond_event_type {
	EXECMOND_EVENT_EXEC = 1,
	EXECMOND_EVENT_EXIT = 2,
	EXECMOND_EVENT_EXEC_FAILED = 3,
};

/* Bits of `flags` in the records below. */
enum execmond_event_flags {
	EXECMOND_FILENAME_TRUNCATED = 1u << 0,
	EXECMOND_ARGS_TRUNCATED = 1u << 1,
	/* Exit: the lifetime starts at the process's fork, because its exec was not seen
	 * (it predates the daemon, never exec'd, or the kernel lacks task storage). */
	EXECMOND_START_IS_FORK = 1u << 2,
};

/* Indexes of the per-CPU `dropped_events` counters: a record the ring buffer had no
 * room for. */
enum execmond_drop_reason {
	EXECMOND_DROP_EXEC = 0,
	EXECMOND_DROP_EXIT = 1,
	EXECMOND_DROP_EXEC_FAILED = 2,
	EXECMOND_DROP_REASONS = 3,
};

/* Common head of every record: the reader dispatches on `type`. The daemon's exec and
 * exit records carry zero in ppid, uid, gid and parent_comm: only `execmond trace`
 * (capture_args) asks the kernel for them. */
struct execmond_event_header {
	__u32 type;	    /* enum execmond_event_type */
	__u32 flags;	    /* enum execmond_event_flags */
	__u64 timestamp_ns; /* CLOCK_BOOTTIME of the event */
	__u32 pid;	    /* thread group id, as seen from the initial pid namespace */
	__u32 ppid;	    /* real parent's thread group id */
	__u32 uid;	    /* real uid */
	__u32 gid;	    /* real gid */
	char comm[EXECMOND_COMM_LEN];
	char parent_comm[EXECMOND_COMM_LEN];
};

/* A successful exec, seen at sched_process_exec: `comm` is the name after exec. The
 * path and argv are reserved and filled only when the object is loaded with
 * capture_args set (`execmond trace`); the daemon's records end before `filename`. */
struct execmond_exec_event {
	struct execmond_event_header hdr;
	char filename[EXECMOND_FILENAME_LEN];
	__u32 args_size; /* bytes of NUL-separated argv in args */
	__u32 pad;
	char args[EXECMOND_ARGS_LEN];
};

/* A process (thread group) ended: emitted once, by its last exiting thread. `comm` is
 * the name the process exec'd as; `timestamp_ns` the exit. */
struct execmond_exit_event {
	struct execmond_event_header hdr;
	/* CLOCK_BOOTTIME of its last exec, or of its fork: when the exec came within 1 ms
	 * of the fork (no task storage needed) or was not seen (START_IS_FORK). */
	__u64 start_ns;
	__u64 lifetime_ns; /* timestamp_ns - start_ns */
	__u32 exit_status; /* as wait(2) reports it: code << 8, or signal | 0x80 core */
	__u32 pad;
};

/* An execve/execveat that returned an error to its caller. `comm` is the caller's. */
struct execmond_exec_failed_event {
	struct execmond_event_header hdr;
	__s32 error; /* positive errno */
	__u32 pad;
	char filename[EXECMOND_FILENAME_LEN]; /* the path tried */
};

#endif /* EXECMOND_H */
