/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Paths of files in the kernel's own terms, built the way d_path() builds
 * /proc/PID/exe: dentry by dentry, bounded. A file has two names: the process's (up to
 * its root, crossing mounts) and its filesystem's (up to the superblock's root, crossing
 * none), which with the device names it as the host sees it.
 */
#ifndef EXECMOND_PATHS_BPF_H
#define EXECMOND_PATHS_BPF_H

#include "events.bpf.h"

#define PATH_MASK (EXECMOND_PATH_LEN - 1)
#define NAME_MASK 255	   /* NAME_MAX: a component is shorter */
#define PATH_END PATH_MASK /* paths are built backwards, ending here */
#define MAX_PATH_STEPS 48  /* components plus mount crossings walked */

/* A path walk in progress: the path is written right to left ending at PATH_END (a
 * suffix such as " (deleted)" may follow it there); every access is masked into buf.
 * The walk's position lives here, not in registers, so that the walk functions can be
 * global ones the verifier checks once, on their own. */
struct path_scratch {
	__u32 busy;  /* a preempted walk on this CPU still owns the scratch */
	__s32 pos;   /* where the path written so far starts */
	__u32 steps; /* of MAX_PATH_STEPS, taken so far */
	__u32 pad;
	__u64 dentry;	   /* where the walk stands */
	__u64 mnt;	   /* its struct mount */
	__u64 root_dentry; /* the process's root, where a walk in its view ends */
	__u64 root_mnt;	   /* struct vfsmount */
	char buf[2 * EXECMOND_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratches SEC(".maps");

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

/* How far a walk goes. */
enum walk_mode {
	WALK_IN_MOUNT = 0,	/* up to the process's root or the mount's root */
	WALK_TO_SB_ROOT = 1,	/* up to the superblock's root: the in-filesystem path */
	WALK_ACROSS_MOUNTS = 2, /* up to the process's root, crossing mounts: d_path() */
};

/* Where a walk ended. */
enum walk_end {
	WALK_AT_ROOT = 0,	  /* the process's root */
	WALK_AT_MOUNT_ROOT = 1,	  /* the mount's root (WALK_IN_MOUNT) */
	WALK_AT_SB_ROOT = 2,	  /* the superblock's root */
	WALK_OUTSIDE_ROOT = 3,	  /* a mount namespace's root that is not the process's */
	WALK_AT_DISCONNECTED = 4, /* a dentry that is its own parent: a pseudo file (memfd,
				   * anon inode), whose name was written */
	WALK_CUT = 5,		  /* out of room or steps */
};

/* Walks from the scratch's dentry and mount towards the root `mode` names, prepending
 * each component (fs/d_path.c prepend_path(), bounded); leaves the walk's state in the
 * scratch and returns an enum walk_end. */
__noinline int execmond_walk(int mode)
{
	__u32 zero = 0;
	struct path_scratch *s = bpf_map_lookup_elem(&path_scratches, &zero);
	struct dentry *dentry, *root_dentry;
	struct vfsmount *vfsmnt, *root_mnt;
	struct mount *mnt;
	int pos, budget, step, end = WALK_CUT;

	if (!s)
		return WALK_CUT;
	dentry = (struct dentry *)s->dentry;
	mnt = (struct mount *)s->mnt;
	vfsmnt = (void *)mnt + bpf_core_field_offset(struct mount, mnt);
	root_dentry = (struct dentry *)s->root_dentry;
	root_mnt = (struct vfsmount *)s->root_mnt;
	pos = s->pos;
	budget = MAX_PATH_STEPS - (int)s->steps;

	for (step = 0; step < MAX_PATH_STEPS; step++) {
		struct dentry *parent;
		int next;

		if (step >= budget)
			break;
		if (mode != WALK_TO_SB_ROOT) {
			if (dentry == root_dentry && vfsmnt == root_mnt) {
				end = WALK_AT_ROOT;
				break;
			}
			if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
				struct mount *up;

				if (mode == WALK_IN_MOUNT) {
					end = WALK_AT_MOUNT_ROOT;
					break;
				}
				up = BPF_CORE_READ(mnt, mnt_parent);
				if (up == mnt) {
					end = WALK_OUTSIDE_ROOT;
					break;
				}
				dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
				mnt = up;
				vfsmnt = (void *)mnt + bpf_core_field_offset(struct mount, mnt);
				continue;
			}
		}
		if (dentry == BPF_CORE_READ(dentry, d_sb, s_root)) {
			end = WALK_AT_SB_ROOT;
			break;
		}
		parent = BPF_CORE_READ(dentry, d_parent);
		next = execmond_prepend_name((__u64)dentry, pos);
		if (next < 0)
			break;
		pos = next;
		if (parent == dentry) {
			end = WALK_AT_DISCONNECTED;
			break;
		}
		dentry = parent;
	}
	s->dentry = (__u64)dentry;
	s->mnt = (__u64)mnt;
	s->pos = pos;
	s->steps = MAX_PATH_STEPS - budget + step;
	return end;
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

/* Starts a walk at (mnt, dentry) in the view of the process whose root is `root`. */
static __always_inline void start_walk(struct path_scratch *s, struct vfsmount *vfsmnt,
				       struct dentry *dentry, struct path *root)
{
	s->dentry = (__u64)dentry;
	s->mnt = (__u64)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
	s->root_dentry = (__u64)BPF_CORE_READ(root, dentry);
	s->root_mnt = (__u64)BPF_CORE_READ(root, mnt);
	s->pos = PATH_END;
	s->steps = 0;
}

/* Both names of the file that runs: `path` as /proc/PID/exe names it, `fs_path` inside
 * its filesystem. The walks share the part below the file's mount root. Returns flags. */
static __always_inline __u32 name_file(struct path_scratch *s, struct file *file, struct path *root,
				       struct execmond_binary_event *e)
{
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	__u32 flags = 0;
	int end, below_mount, below_steps, path_start, path_end = PATH_END;
	__u64 mount_root;

	start_walk(s, BPF_CORE_READ(file, f_path.mnt), dentry, root);
	end = execmond_walk(WALK_IN_MOUNT);
	below_mount = s->pos;
	below_steps = s->steps;
	mount_root = s->dentry;

	/* d_unlinked() (unhashed, not a root), or no link left (memfd, O_TMPFILE). */
	if ((!BPF_CORE_READ(dentry, d_hash.pprev) && BPF_CORE_READ(dentry, d_parent) != dentry) ||
	    BPF_CORE_READ(file, f_inode, i_nlink) == 0) {
		const char suffix[] = " (deleted)";

		flags |= EXECMOND_BINARY_DELETED;
		__builtin_memcpy(s->buf + PATH_END, suffix, sizeof(suffix) - 1);
		path_end += sizeof(suffix) - 1;
	}

	if (end == WALK_AT_ROOT || end == WALK_AT_MOUNT_ROOT) {
		int fs_end = execmond_walk(WALK_TO_SB_ROOT);

		if (fs_end == WALK_CUT)
			flags |= EXECMOND_BINARY_FS_PATH_TRUNCATED;
		if (!copy_path(e->fs_path, s->buf, s->pos, PATH_END))
			flags |= EXECMOND_BINARY_FS_PATH_TRUNCATED;
		path_start = below_mount;
		if (end == WALK_AT_MOUNT_ROOT) {
			/* Overwrites what the in-filesystem walk added: copied already. */
			s->dentry = mount_root;
			s->pos = below_mount;
			s->steps = below_steps;
			end = execmond_walk(WALK_ACROSS_MOUNTS);
			path_start = s->pos;
		}
	} else {
		/* A pseudo file, or cut: the part walked is all either name has. */
		path_start = below_mount;
		if (!copy_path(e->fs_path, s->buf, below_mount, PATH_END) || end == WALK_CUT)
			flags |= EXECMOND_BINARY_FS_PATH_TRUNCATED;
	}
	if (end == WALK_OUTSIDE_ROOT || end == WALK_AT_DISCONNECTED || end == WALK_AT_SB_ROOT)
		flags |= EXECMOND_BINARY_UNREACHABLE;
	if (end == WALK_CUT)
		flags |= EXECMOND_BINARY_PATH_TRUNCATED;
	if (end == WALK_AT_DISCONNECTED) {
		char head[6] = {};

		/* mm/memfd.c names its files "memfd:" and the name the caller chose. */
		bpf_probe_read_kernel(head, sizeof(head), BPF_CORE_READ(dentry, d_name.name));
		if (head[0] == 'm' && head[1] == 'e' && head[2] == 'm' && head[3] == 'f' &&
		    head[4] == 'd' && head[5] == ':')
			flags |= EXECMOND_BINARY_MEMFD;
	}
	if (!copy_path(e->path, s->buf, path_start, path_end))
		flags |= EXECMOND_BINARY_PATH_TRUNCATED;
	return flags;
}

/* The process's working directory as it names it; false when it was cut or is not
 * under its root. */
static __always_inline bool name_cwd(struct path_scratch *s, struct fs_struct *fs, char *dst)
{
	int end;

	start_walk(s, BPF_CORE_READ(fs, pwd.mnt), BPF_CORE_READ(fs, pwd.dentry), &fs->root);
	end = execmond_walk(WALK_ACROSS_MOUNTS);
	return copy_path(dst, s->buf, s->pos, PATH_END) && end == WALK_AT_ROOT;
}

/* A kernel string into a path field; false when it was 1024 bytes or more. */
static __always_inline bool read_kernel_string(char *dst, const char *src)
{
	long n = bpf_probe_read_kernel_str(dst, EXECMOND_PATH_LEN, src);
	char next = 0;

	if (n < 0) {
		dst[0] = '\0';
		return false;
	}
	if (n < EXECMOND_PATH_LEN)
		return true;
	/* n == LEN also for a string of exactly LEN-1 bytes: look at the byte that was cut. */
	bpf_probe_read_kernel(&next, 1, src + EXECMOND_PATH_LEN - 1);
	return next == 0;
}

#endif /* EXECMOND_PATHS_BPF_H */
