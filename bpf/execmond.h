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
#define EXECMOND_PATH_LEN 1024	  /* resolved paths: longer ones are cut and flagged */

enum execmond_event_type {
	EXECMOND_EVENT_EXEC = 1,
	EXECMOND_EVENT_EXIT = 2,
	EXECMOND_EVENT_EXEC_FAILED = 3,
	EXECMOND_EVENT_BINARY = 4,
};

/* Bits of `flags` in the records below. */
enum execmond_event_flags {
	EXECMOND_FILENAME_TRUNCATED = 1u << 0,
	EXECMOND_ARGS_TRUNCATED = 1u << 1,
	/* Exit: the lifetime starts at the process's fork, because its exec was not seen
	 * (it predates the daemon, never exec'd, or the kernel lacks task storage). */
	EXECMOND_START_IS_FORK = 1u << 2,
};

/* Bits of `struct execmond_binary_id`'s flags. */
enum execmond_binary_flags {
	/* Exec: the identity is in allowed_binaries and no binary record was sent. */
	EXECMOND_BINARY_ALLOWED = 1u << 0,
	/* Exec: a binary record with this identity was sent just before it. */
	EXECMOND_BINARY_RESOLVED = 1u << 1,
	/* The file that runs is an interpreter started by binfmt_script or binfmt_misc. */
	EXECMOND_BINARY_SCRIPT = 1u << 2,
	/* The file has no name left (unlinked, or memfd): its path ends in " (deleted)". */
	EXECMOND_BINARY_DELETED = 1u << 3,
	/* A memfd_create() file: its path is "/memfd:NAME (deleted)". */
	EXECMOND_BINARY_MEMFD = 1u << 4,
	/* The path, or the script's, did not fit (or was deeper than the walk goes). */
	EXECMOND_BINARY_PATH_TRUNCATED = 1u << 5,
	EXECMOND_BINARY_SCRIPT_TRUNCATED = 1u << 6,
	/* The file is outside the process's root (a mount since detached, another
	 * namespace's): the path is as seen from the mount it belongs to. */
	EXECMOND_BINARY_UNREACHABLE = 1u << 7,
};

/* Which file an exec ran: the kernel's identity of it. A rewritten, replaced or renamed
 * file changes its ctime, so (dev, ino, ctime) names one version of one file. */
struct execmond_binary_id {
	__u64 ino;
	__u64 ctime_ns; /* change time, ns since the epoch */
	__u32 dev;	/* the superblock's s_dev, as the kernel encodes it */
	__u32 flags;	/* enum execmond_binary_flags */
};

/* Indexes of the per-CPU `dropped_events` counters: a record the ring buffer had no
 * room for. */
enum execmond_drop_reason {
	EXECMOND_DROP_EXEC = 0,
	EXECMOND_DROP_EXIT = 1,
	EXECMOND_DROP_EXEC_FAILED = 2,
	EXECMOND_DROP_BINARY = 3,
	EXECMOND_DROP_REASONS = 4,
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
	__u64 cgroup_id; /* the task's cgroup v2 id: its directory's inode number */
};

/* A successful exec, seen at sched_process_exec: `comm` is the name after exec. The
 * path and argv are reserved and filled only when the object is loaded with
 * capture_args set (`execmond trace`); the daemon's records end before `filename`. */
struct execmond_exec_event {
	struct execmond_event_header hdr;
	struct execmond_binary_id binary; /* zero unless binaries are resolved */
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

/* The resolved path of the file an exec ran, sent just before that exec's record (same
 * pid and timestamp) when its identity is not in allowed_binaries. Paths are absolute as
 * seen from the process's root, like /proc/PID/exe; a cut path keeps its last
 * components and still starts with '/'. */
struct execmond_binary_event {
	struct execmond_event_header hdr;
	struct execmond_binary_id binary;
	char path[EXECMOND_PATH_LEN]; /* the file that runs: for a script, its interpreter */
	/* Scripts only: the path the caller gave, made absolute against its working
	 * directory (symlinks in it are not followed: the kernel has closed that file). */
	char script[EXECMOND_PATH_LEN];
};

#endif /* EXECMOND_H */
