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

/* Facts about the file an exec ran (one enum for exec and binary records). */
enum execmond_binary_flags {
	/* Exec: the verdict cache said ALLOWED; no binary record was sent. */
	EXECMOND_BINARY_ALLOWED = 1u << 0,
	/* Exec: the verdict cache said UNEXPECTED (no binary record; ppid, uid, gid and
	 * parent_comm are filled so that the daemon can log it without a walk). */
	EXECMOND_BINARY_UNEXPECTED = 1u << 1,
	/* Exec: the verdict cache said PENDING (the daemon is still judging this file). */
	EXECMOND_BINARY_PENDING = 1u << 2,
	/* Exec: a binary record for this exec (same pid and timestamp) precedes it. */
	EXECMOND_BINARY_RESOLVED = 1u << 3,
	/* The file that runs is an interpreter or handler started by binfmt_script or
	 * binfmt_misc; the caller named another file (script_path). */
	EXECMOND_BINARY_SCRIPT = 1u << 4,
	/* The file has no name left (unlinked, or memfd): `path` ends in " (deleted)". Only
	 * this flag says so: a file may really be called "x (deleted)". */
	EXECMOND_BINARY_DELETED = 1u << 5,
	/* A memfd_create() file: its path is "/memfd:NAME (deleted)". */
	EXECMOND_BINARY_MEMFD = 1u << 6,
	/* `path` did not fit (1024 bytes or more, or deeper than the walk goes). */
	EXECMOND_BINARY_PATH_TRUNCATED = 1u << 7,
	/* `script_path` did not fit (the caller's string was 1024 bytes or more). */
	EXECMOND_BINARY_SCRIPT_TRUNCATED = 1u << 8,
	/* The file is not reachable from the process's root (a mount since detached,
	 * another namespace's, a pseudo file): `path` is as seen from where the walk ended. */
	EXECMOND_BINARY_UNREACHABLE = 1u << 9,
	/* `fs_path` did not fit. */
	EXECMOND_BINARY_FS_PATH_TRUNCATED = 1u << 10,
	/* The file is on overlayfs and comes from its upper layer: written (or copied up)
	 * after the overlay was mounted, e.g. after the container started. */
	EXECMOND_BINARY_OVERLAY_UPPER = 1u << 11,
	/* A hook saw the script's own file: `script` and `script_path` (its fs_path) are
	 * the kernel's, not the caller's string. */
	EXECMOND_BINARY_SCRIPT_SEEN = 1u << 12,
	/* The verdict said loader: argv and cwd are in the binary record. */
	EXECMOND_BINARY_LOADER = 1u << 13,
};

/* Which file an exec ran, and in which view it is judged: the key of the kernel's
 * verdict cache. A rewritten, replaced or renamed file changes its ctime, so (dev, ino,
 * ctime) names one version of one file (within one timestamp tick: see the README). */
struct execmond_binary_id {
	__u64 ino;	/* inode->i_ino */
	__u64 ctime_ns; /* change time, ns since the epoch */
	__u32 dev;	/* inode->i_sb->s_dev, as /proc/PID/mountinfo prints it */
	__u32 view;	/* 0: judged in the host's view; else the inode number of the mount
			 * namespace whose process view judges it (rootful containers) */
};

/* The value of the kernel's verdict cache, written by the daemon only. */
enum execmond_verdict {
	EXECMOND_VERDICT_ALLOWED = 1,	 /* exec record only, flag ALLOWED */
	EXECMOND_VERDICT_UNEXPECTED = 2, /* exec record only, flag UNEXPECTED, with ppid, uid
					  * and parent_comm: counted with no path walk */
	EXECMOND_VERDICT_LOADER = 3,	 /* a dynamic loader: every exec sends a binary
					  * record with argv and cwd */
	EXECMOND_VERDICT_PENDING = 4,	 /* seen, not judged yet: exec record, flag PENDING */
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
	struct execmond_binary_id binary; /* zero unless binaries are judged */
	__u32 binary_flags;		  /* enum execmond_binary_flags */
	__u32 pad0;
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

/* Bits of `struct execmond_exec_context`'s flags. */
enum execmond_context_flags {
	EXECMOND_CTX_USERNS = 1u << 0,		    /* not the initial user namespace */
	EXECMOND_CTX_USERNS_UNPRIVILEGED = 1u << 1, /* a user namespace up its chain was
						     * created by a uid other than 0 */
	EXECMOND_CTX_MNTNS = 1u << 2,		    /* not the host's mount namespace */
	EXECMOND_CTX_CHROOT = 1u << 3,		    /* root != its mount namespace's root */
	EXECMOND_CTX_CWD_TRUNCATED = 1u << 4,	    /* cwd cut, or not under the root */
	EXECMOND_CTX_ARGS_TRUNCATED = 1u << 5,	    /* argv longer than args */
};

/* Where and as whom the process ran: what the daemon's view rule reads. */
struct execmond_exec_context {
	__u32 euid;
	__u32 egid;
	__u32 userns_level; /* 0: the initial user namespace */
	__u32 userns_owner; /* kuid that created the innermost user ns (0 at level 0) */
	__u32 mntns;	    /* the mount namespace's inode number */
	__u32 flags;	    /* enum execmond_context_flags */
};

#define EXECMOND_LOADER_ARGS_LEN 1024

/* What the file an exec ran is, sent just before that exec's record (same pid and
 * timestamp) on a verdict cache miss, for every script, and for LOADER verdicts (which
 * leave path and fs_path empty: the daemon knows the file). Paths are absolute; a cut
 * path keeps its last components and still starts with '/'. Strings end with a NUL. */
struct execmond_binary_event {
	struct execmond_event_header hdr; /* ppid, uid, gid, parent_comm filled */
	struct execmond_binary_id binary; /* the file that runs: for a script, its
					   * interpreter or binfmt_misc handler */
	__u32 binary_flags;		  /* enum execmond_binary_flags */
	__u32 fs_magic;			  /* the file's superblock s_magic */
	struct execmond_exec_context ctx;
	struct execmond_binary_id script; /* SCRIPT_SEEN only: the script's identity */
	__u32 args_size;		  /* LOADER only: bytes of argv in args */
	__u32 pad0;
	/* The file, as the process's /proc/PID/exe names it (process view; context). A
	 * deleted file's ends in " (deleted)". */
	char path[EXECMOND_PATH_LEN];
	/* The file's path inside its own filesystem: dentries up to the superblock's root,
	 * crossing no mount (no " (deleted)" suffix). With binary.dev the daemon names it
	 * as the host sees it. */
	char fs_path[EXECMOND_PATH_LEN];
	/* Scripts: what the caller passed (bprm->filename), not folded; with SCRIPT_SEEN
	 * the script's fs_path instead. */
	char script_path[EXECMOND_PATH_LEN];
	/* Scripts with a relative script_path, and loaders: the caller's working
	 * directory, process view. */
	char cwd[EXECMOND_PATH_LEN];
	char args[EXECMOND_LOADER_ARGS_LEN]; /* LOADER only: argv, NUL-separated */
};

#endif /* EXECMOND_H */
