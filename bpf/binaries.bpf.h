/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which binary an exec ran. At sched_process_exec, bprm->file is the file that really
 * runs: for a script, its interpreter (the kernel has already closed the script). Its
 * identity (device, inode, change time) goes into every exec record. A binary whose
 * identity userspace has written into allowed_binaries costs one lookup more; any other
 * exec, and every script, first sends a binary record with the resolved path, built the
 * way d_path() builds /proc/PID/exe: dentry by dentry up to the process's root,
 * crossing mounts.
 */
#ifndef EXECMOND_BINARIES_BPF_H
#define EXECMOND_BINARIES_BPF_H

#include "events.bpf.h"

/* Written by userspace at any time (.bss, not .rodata): reload turns it on and off.
 * Off, execs cost nothing more than before. */
volatile bool resolve_binaries = false;

/* Binaries the daemon's allow-list admits, keyed by their identity with flags 0. Only
 * userspace inserts, and only allowed files: an unexpected binary is resolved on every
 * exec, so that each one carries its path. The least recently used are forgotten. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct execmond_binary_id);
	__type(value, __u8);
} allowed_binaries SEC(".maps");

#define PATH_MASK (EXECMOND_PATH_LEN - 1)
#define NAME_MASK 255		   /* NAME_MAX: a component is shorter */
#define PATH_END PATH_MASK	   /* paths are built backwards, ending here */
#define MAX_PATH_STEPS 48	   /* components plus mount crossings walked */
#define CTIME_NSEC_MASK 0x3fffffff /* 6.13+ keeps I_CTIME_QUERIED in bit 31 */

/* Paths are written right to left ending at PATH_END, then a suffix or the script's
 * name left to right from there; every access is masked into this buffer. */
struct path_scratch {
	__u32 busy; /* a preempted walk on this CPU still owns buf */
	char buf[2 * EXECMOND_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratches SEC(".maps");

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

static __always_inline void read_binary_id(struct file *file, struct execmond_binary_id *id)
{
	struct inode *inode = file->f_inode;

	id->ino = inode->i_ino;
	id->ctime_ns = inode_ctime_ns(inode);
	id->dev = inode->i_sb->s_dev;
	id->flags = 0;
}

/* Prepends "/name" of the dentry at `dentry_addr` to the path in this CPU's scratch that
 * starts at `pos`; returns the new start, or -1 when it does not fit.
 *
 * A global function, so the verifier checks it once on its own and its callers see only
 * an unknown return value: with the precise position inside the path walk's loop, 5.10's
 * verifier explored every combination of branches across iterations and gave up (E2BIG). */
__noinline int execmond_prepend_name(__u64 dentry_addr, int pos)
{
	struct dentry *dentry = (struct dentry *)dentry_addr;
	__u32 zero = 0;
	struct path_scratch *scratch = bpf_map_lookup_elem(&path_scratches, &zero);
	__u32 len;
	const unsigned char *name;

	if (!scratch || pos > PATH_END)
		return -1;
	len = BPF_CORE_READ(dentry, d_name.len) & NAME_MASK;
	name = BPF_CORE_READ(dentry, d_name.name);
	if (pos < (int)len + 1)
		return -1;
	pos -= len;
	bpf_probe_read_kernel(scratch->buf + (pos & PATH_MASK), len, name);
	pos -= 1;
	scratch->buf[pos & PATH_MASK] = '/';
	return pos;
}

/* Writes the path of (mnt, dentry) as the process with root `root` names it, ending at
 * PATH_END in this CPU's scratch; returns where it starts. d_path()'s walk
 * (fs/d_path.c prepend_path()), bounded. */
static __noinline int prepend_path(struct vfsmount *vfsmnt, struct dentry *dentry,
				   struct path *root, __u32 *flags)
{
	struct mount *mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	struct vfsmount *root_mnt = BPF_CORE_READ(root, mnt);
	struct dentry *root_dentry = BPF_CORE_READ(root, dentry);
	int pos = PATH_END, next = 0;
	int step;

	for (step = 0; step < MAX_PATH_STEPS; step++) {
		struct dentry *parent;

		if (dentry == root_dentry && vfsmnt == root_mnt)
			break;
		if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

			if (up == mnt) { /* a namespace's root, not ours */
				*flags |= EXECMOND_BINARY_UNREACHABLE;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vfsmnt = (void *)mnt + bpf_core_field_offset(struct mount, mnt);
			continue;
		}
		parent = BPF_CORE_READ(dentry, d_parent);
		next = execmond_prepend_name((__u64)dentry, pos);
		if (next < 0)
			break;
		pos = next;
		if (parent == dentry) { /* a pseudo file's own root: memfd, anon inode */
			*flags |= EXECMOND_BINARY_UNREACHABLE;
			break;
		}
		dentry = parent;
	}
	/* Cut: the components written so far, the ones nearest the file, remain. */
	if (step == MAX_PATH_STEPS || next < 0)
		*flags |= EXECMOND_BINARY_PATH_TRUNCATED;
	return pos;
}

/* Copies scratch[start, end) to dst as a string; false when it was cut. */
static __always_inline bool copy_path(char *dst, const char *buf, int start, int end)
{
	int len = end - start;
	bool whole = true;

	if (len <= 0) {
		dst[0] = '/';
		dst[1] = '\0';
		return true;
	}
	if (len > PATH_MASK) {
		len = PATH_MASK;
		whole = false;
	}
	bpf_probe_read_kernel(dst, len & PATH_MASK, buf + (start & PATH_MASK));
	dst[len & PATH_MASK] = '\0';
	return whole;
}

/* The file that runs, as /proc/PID/exe names it. */
static __always_inline void resolve_binary(struct task_struct *task, struct file *file,
					   struct execmond_binary_event *e, char *buf)
{
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	__u32 flags = 0;
	int start, end = PATH_END;

	start = prepend_path(BPF_CORE_READ(file, f_path.mnt), dentry, &fs->root, &flags);
	/* d_unlinked() (unhashed, not a root), or no link left (memfd, O_TMPFILE). */
	if ((!BPF_CORE_READ(dentry, d_hash.pprev) && BPF_CORE_READ(dentry, d_parent) != dentry) ||
	    BPF_CORE_READ(file, f_inode, i_nlink) == 0) {
		flags |= EXECMOND_BINARY_DELETED;
		const char suffix[] = " (deleted)";

		__builtin_memcpy(buf + PATH_END, suffix, sizeof(suffix) - 1);
		end += sizeof(suffix) - 1;
	}
	if (flags & EXECMOND_BINARY_UNREACHABLE) {
		char head[6] = {};

		/* mm/memfd.c names its files "memfd:" and the name the caller chose. */
		bpf_probe_read_kernel(head, sizeof(head), BPF_CORE_READ(dentry, d_name.name));
		if (head[0] == 'm' && head[1] == 'e' && head[2] == 'm' && head[3] == 'f' &&
		    head[4] == 'd' && head[5] == ':')
			flags |= EXECMOND_BINARY_MEMFD;
	}
	if (!copy_path(e->path, buf, start, end))
		flags |= EXECMOND_BINARY_PATH_TRUNCATED;
	e->binary.flags |= flags;
}

/* A script's path: what the caller passed, made absolute against its working directory
 * (the daemon folds "." and ".."). */
static __always_inline void resolve_script(struct task_struct *task, const char *filename,
					   struct execmond_binary_event *e, char *buf)
{
	__u32 flags = 0;
	int start = PATH_END, end;
	long n;
	char first = 0;

	bpf_probe_read_kernel(&first, 1, filename);
	if (first != '/') {
		struct fs_struct *fs = BPF_CORE_READ(task, fs);

		start = prepend_path(BPF_CORE_READ(fs, pwd.mnt), BPF_CORE_READ(fs, pwd.dentry),
				     &fs->root, &flags);
		buf[PATH_END] = '/';
		n = bpf_probe_read_kernel_str(buf + PATH_END + 1, PATH_MASK, filename);
		end = PATH_END + 1 + (n > 0 ? n - 1 : 0);
	} else {
		n = bpf_probe_read_kernel_str(buf + PATH_END, EXECMOND_PATH_LEN, filename);
		end = PATH_END + (n > 0 ? n - 1 : 0);
	}
	if (!copy_path(e->script, buf, start, end) || flags) /* cut, or a cwd outside the root */
		e->binary.flags |= EXECMOND_BINARY_SCRIPT_TRUNCATED;
}

/* Sends the binary record of this exec; returns the flags its exec record gets. */
static __always_inline __u32 send_binary(struct task_struct *task, struct linux_binprm *bprm,
					 struct execmond_binary_id *id, bool script, __u64 now)
{
	__u32 zero = 0;
	struct path_scratch *scratch = bpf_map_lookup_elem(&path_scratches, &zero);
	struct execmond_binary_event *e;
	__u32 flags;

	if (!scratch)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EXECMOND_DROP_BINARY);
		return 0;
	}
	fill_header(&e->hdr, EXECMOND_EVENT_BINARY, task, now);
	/* Its parent and user go into the unexpected-exec log line. */
	fill_identity(&e->hdr, task);
	e->binary = *id;
	e->script[0] = '\0';
	/* Per CPU, so only preemption can interleave two walks (no atomics before 5.12). */
	if (scratch->busy) {
		/* An exec preempted mid-walk on this CPU still owns the buffer. */
		e->binary.flags |= EXECMOND_BINARY_PATH_TRUNCATED;
		e->path[0] = '\0';
	} else {
		scratch->busy = 1;
		resolve_binary(task, BPF_CORE_READ(bprm, file), e, scratch->buf);
		if (script)
			resolve_script(task, BPF_CORE_READ(bprm, filename), e, scratch->buf);
		scratch->busy = 0;
	}
	flags = e->binary.flags | EXECMOND_BINARY_RESOLVED;
	submit_event(e);
	return flags;
}

/* The identity of the binary this exec runs, for its exec record. */
static __always_inline void identify_binary(struct task_struct *task, struct linux_binprm *bprm,
					    __u64 now, struct execmond_binary_id *id)
{
	/* binfmt_script and binfmt_misc point interp at the interpreter they load. */
	bool script = bprm->interp != bprm->filename;

	read_binary_id(bprm->file, id);
	if (!script && bpf_map_lookup_elem(&allowed_binaries, id)) {
		id->flags = EXECMOND_BINARY_ALLOWED;
		return;
	}
	if (script)
		id->flags = EXECMOND_BINARY_SCRIPT;
	id->flags = send_binary(task, bprm, id, script, now);
}

#endif /* EXECMOND_BINARIES_BPF_H */
