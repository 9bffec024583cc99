/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which binary an exec ran, and what the daemon said about it. At sched_process_exec,
 * bprm->file is the file that really runs: for a script, its interpreter (the kernel has
 * already closed the script). Its identity (device, inode, change time) and the view it
 * is judged in form the key of binary_verdicts, the daemon's verdicts:
 *  - ALLOWED, PENDING: the exec record carries a flag, nothing else is done;
 *  - UNEXPECTED: the exec record also carries the parent and the ids (the daemon counts
 *    and logs it from its own cache, with no path walk);
 *  - LOADER: a binary record with argv and cwd (the program the loader runs is named
 *    there);
 *  - no verdict: a binary record with both names of the file (as the process sees it,
 *    and inside its own filesystem) and the exec context the view rule reads.
 * Every script sends a binary record: the interpreter's identity and names, and the
 * caller's string for the script (or, where the hook in script_hook.bpf.h saw it, the
 * script's own identity and path).
 */
#ifndef EXECMOND_BINARIES_BPF_H
#define EXECMOND_BINARIES_BPF_H

#include "context.bpf.h"
#include "paths.bpf.h"

/* Written by userspace at any time (.bss, not .rodata): reload turns it on and off.
 * Off, execs cost nothing more than before. */
volatile bool resolve_binaries = false;

/* The daemon's verdicts, keyed by identity and view. Only userspace writes, and only
 * after judging that exact key in that view: a verdict reached in one view is never
 * found by an exec judged in another. The least recently used are forgotten (the daemon
 * judges them again). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct execmond_binary_id);
	__type(value, __u32); /* enum execmond_verdict */
} binary_verdicts SEC(".maps");

#define CTIME_NSEC_MASK 0x3fffffff /* 6.13+ keeps I_CTIME_QUERIED in bit 31 */
#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* struct inode's change time across kernels: i_ctime before 6.6, __i_ctime until 6.10,
 * i_ctime_sec and i_ctime_nsec since 6.11. */
struct inode___ctime_timespec {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));
struct inode___ctime_private {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));
struct inode___ctime_split {
	time64_t i_ctime_sec;
	u32 i_ctime_nsec;
} __attribute__((preserve_access_index));

/* overlayfs's inode (fs/overlayfs/ovl.h): the VFS inode, then the upper dentry, since
 * 4.13. overlayfs is often a module, whose BTF only exists once it is loaded. */
struct ovl_inode___execmond {
	struct inode vfs_inode;
	struct dentry *__upperdentry;
} __attribute__((preserve_access_index));

static __always_inline __u64 inode_ctime_ns(struct inode *inode)
{
	__s64 sec = 0;
	__u64 nsec = 0;

	/* Direct loads through the tracepoint's typed pointers, relocated by CO-RE: no
	 * helper call on the path every allowed exec takes. */
	if (bpf_core_field_exists(struct inode___ctime_split, i_ctime_sec)) {
		struct inode___ctime_split *i = (void *)inode;

		sec = i->i_ctime_sec;
		nsec = i->i_ctime_nsec & CTIME_NSEC_MASK;
	} else if (bpf_core_field_exists(struct inode___ctime_private, __i_ctime)) {
		struct inode___ctime_private *i = (void *)inode;

		sec = i->__i_ctime.tv_sec;
		nsec = i->__i_ctime.tv_nsec;
	} else {
		struct inode___ctime_timespec *i = (void *)inode;

		sec = i->i_ctime.tv_sec;
		nsec = i->i_ctime.tv_nsec;
	}
	return (__u64)sec * 1000000000ull + nsec;
}

static __always_inline void read_binary_id(struct task_struct *task, struct file *file,
					   struct execmond_binary_id *id)
{
	struct inode *inode = file->f_inode;

	id->ino = inode->i_ino;
	id->ctime_ns = inode_ctime_ns(inode);
	id->dev = inode->i_sb->s_dev;
	id->view = judging_view(task);
}

/* Whether the overlayfs file `inode` has an upper dentry: written or copied up since the
 * overlay was mounted (Falco's proc.is_exe_upper_layer). */
static __always_inline bool overlay_upper(struct inode *inode)
{
	struct dentry *upper = NULL;
	__u64 offset = bpf_core_type_size(struct inode);

	if (bpf_core_field_exists(struct ovl_inode___execmond, __upperdentry))
		offset = bpf_core_field_offset(struct ovl_inode___execmond, __upperdentry) -
			 bpf_core_field_offset(struct ovl_inode___execmond, vfs_inode);
	bpf_probe_read_kernel(&upper, sizeof(upper), (void *)inode + offset);
	return upper != NULL;
}

/* What a binary record carries besides the file's names. */
enum binary_record_kind {
	RECORD_NAMES = 1 << 0,	/* path and fs_path: a cache miss, or a script */
	RECORD_SCRIPT = 1 << 1, /* script_path, and cwd when it is relative */
	RECORD_LOADER = 1 << 2, /* argv and cwd */
};

/* A script's own identity and in-filesystem path, as script_hook.bpf.h saw it. */
struct script_sighting {
	__u64 exec_id; /* the task's self_exec_id when seen: the exec it belongs to */
	__u32 valid;
	__u32 flags; /* EXECMOND_BINARY_SCRIPT_TRUNCATED when fs_path was cut */
	struct execmond_binary_id id;
	char fs_path[EXECMOND_PATH_LEN];
};

/* What send_binary() sends besides the task's facts (a subprogram takes five
 * arguments at most). */
struct binary_request {
	struct execmond_binary_id id;
	__u64 now;  /* the exec's timestamp: its exec record has the same */
	__u32 kind; /* enum binary_record_kind */
	__u32 pad;
};

/* Sends the binary record of this exec; returns the flags its exec record gets. A
 * subprogram, verified once in its caller's context. */
static __noinline __u32 send_binary(struct task_struct *task, struct linux_binprm *bprm,
				    struct binary_request *request, struct script_sighting *seen)
{
	__u32 kind = request->kind;
	__u32 zero = 0;
	struct path_scratch *s = bpf_map_lookup_elem(&path_scratches, &zero);
	struct execmond_binary_event *e;
	struct file *file = bprm->file;
	struct inode *inode = file->f_inode;
	struct fs_struct *fs = task->fs;
	__u32 flags = 0, ctx_flags = 0;
	bool need_cwd = false;

	if (!s)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EXECMOND_DROP_BINARY);
		return 0;
	}
	fill_header(&e->hdr, EXECMOND_EVENT_BINARY, task, request->now);
	/* Its parent and user go into the unexpected-exec log line. */
	fill_identity(&e->hdr, task);
	e->binary = request->id;
	e->fs_magic = inode->i_sb->s_magic;
	fill_context(task, fs, &e->ctx);
	__builtin_memset(&e->script, 0, sizeof(e->script));
	e->args_size = 0;
	e->pad0 = 0;
	e->path[0] = '\0';
	e->fs_path[0] = '\0';
	e->script_path[0] = '\0';
	e->cwd[0] = '\0';
	if (kind & RECORD_SCRIPT)
		flags |= EXECMOND_BINARY_SCRIPT;
	if (kind & RECORD_LOADER)
		flags |= EXECMOND_BINARY_LOADER;
	if (e->fs_magic == OVERLAYFS_SUPER_MAGIC && overlay_upper(inode))
		flags |= EXECMOND_BINARY_OVERLAY_UPPER;

	if (kind & RECORD_SCRIPT) {
		if (seen) {
			e->script = seen->id;
			flags |= EXECMOND_BINARY_SCRIPT_SEEN | seen->flags;
			bpf_probe_read_kernel(e->script_path, sizeof(e->script_path),
					      seen->fs_path);
		} else {
			const char *filename = bprm->filename;
			char first = 0;

			if (!read_kernel_string(e->script_path, filename))
				flags |= EXECMOND_BINARY_SCRIPT_TRUNCATED;
			bpf_probe_read_kernel(&first, 1, filename);
			need_cwd = first != '/';
		}
	}
	if (kind & RECORD_LOADER) {
		struct mm_struct *mm = task->mm;
		unsigned long start = BPF_CORE_READ(mm, arg_start);
		unsigned long len = BPF_CORE_READ(mm, arg_end) - start;

		/* The new image's argv is in place in its memory when this tracepoint fires. */
		if (len > EXECMOND_LOADER_ARGS_LEN) {
			len = EXECMOND_LOADER_ARGS_LEN;
			ctx_flags |= EXECMOND_CTX_ARGS_TRUNCATED;
		}
		barrier_var(len);
		if (len > 0 && len <= EXECMOND_LOADER_ARGS_LEN &&
		    bpf_probe_read_user(e->args, len, (const void *)start) == 0)
			e->args_size = len;
		need_cwd = true;
	}

	/* Per CPU, so only preemption can interleave two walks (no atomics before 5.12). */
	if (s->busy) {
		/* An exec preempted mid-walk on this CPU still owns the scratch. */
		if (kind & RECORD_NAMES)
			flags |= EXECMOND_BINARY_PATH_TRUNCATED | EXECMOND_BINARY_FS_PATH_TRUNCATED;
		if (need_cwd)
			ctx_flags |= EXECMOND_CTX_CWD_TRUNCATED;
	} else {
		s->busy = 1;
		if (kind & RECORD_NAMES)
			flags |= name_file(s, file, &fs->root, e);
		if (need_cwd && !name_cwd(s, fs, e->cwd))
			ctx_flags |= EXECMOND_CTX_CWD_TRUNCATED;
		s->busy = 0;
	}
	e->binary_flags = flags;
	e->ctx.flags |= ctx_flags;
	/* Rare, and the daemon must look at the process while it lives: wake it now. */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return flags | EXECMOND_BINARY_RESOLVED;
}

/* What the exec record says about the binary this exec runs; `identity` is set when it
 * must carry the parent and the ids. */
static __always_inline __u32 judge_binary(struct task_struct *task, struct linux_binprm *bprm,
					  struct script_sighting *seen, __u64 now,
					  struct execmond_binary_id *id, bool *identity)
{
	/* binfmt_script and binfmt_misc point interp at the interpreter they load. */
	bool script = bprm->interp != bprm->filename;
	struct binary_request request;
	__u32 *cached, verdict = 0, kind = RECORD_NAMES;

	read_binary_id(task, bprm->file, id);
	cached = bpf_map_lookup_elem(&binary_verdicts, id);
	if (cached)
		verdict = *cached;
	if (script)
		kind |= RECORD_SCRIPT;
	else if (verdict == EXECMOND_VERDICT_ALLOWED)
		return EXECMOND_BINARY_ALLOWED;
	else if (verdict == EXECMOND_VERDICT_PENDING)
		return EXECMOND_BINARY_PENDING;
	else if (verdict == EXECMOND_VERDICT_UNEXPECTED) {
		*identity = true;
		return EXECMOND_BINARY_UNEXPECTED;
	}
	if (verdict == EXECMOND_VERDICT_LOADER) {
		kind |= RECORD_LOADER;
		if (!script) /* the daemon knows the loader: only what it runs is new */
			kind &= ~RECORD_NAMES;
	}
	request.id = *id;
	request.now = now;
	request.kind = kind;
	request.pad = 0;
	return send_binary(task, bprm, &request, seen);
}

#endif /* EXECMOND_BINARIES_BPF_H */