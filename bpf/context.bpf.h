/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where and as whom a process runs: its user namespaces, its mount namespace and root,
 * and from them the view its execs are judged in (DESIGN-identity.md). Per exec only a
 * few loads and a compare in the common case; walks only outside the initial user
 * namespace, once for the host's mount namespace, or for binary records.
 */
#ifndef EXECMOND_CONTEXT_BPF_H
#define EXECMOND_CONTEXT_BPF_H

#include "events.bpf.h"

#define MAX_USERNS_LEVEL 32 /* kernel/user_namespace.c refuses deeper nesting */
#define MAX_ANCESTORS 64    /* processes walked up to PID 1, once */
#define MAX_ROOT_STACK 8    /* mounts stacked on a namespace's root */

/* The host's mount namespace, PID 1's: the inode number of /proc/1/ns/mnt, written by
 * the daemon before load. Where it could not read it (no ptrace access to PID 1), the
 * first exec learns it by walking its ancestors up to PID 1. While it is 0, every mount
 * namespace is a view of its own, so that no verdict is shared between two of them. */
volatile __u32 host_mntns = 0;

/* 1 when a user namespace from `ns_addr` up to the initial one was created by a uid
 * other than 0 (unshare -U, rootless containers): such a process's view is a user's
 * choice. Global: checked once by the verifier, called only outside the initial user
 * namespace. */
__noinline int execmond_userns_unprivileged(__u64 ns_addr)
{
	struct user_namespace *ns = (struct user_namespace *)ns_addr;
	int level;

	for (level = 0; level <= MAX_USERNS_LEVEL; level++) {
		if (!ns || BPF_CORE_READ(ns, level) == 0)
			return 0;
		if (BPF_CORE_READ(ns, owner.val) != 0)
			return 1;
		ns = BPF_CORE_READ(ns, parent);
	}
	return 1; /* deeper than the kernel allows: not to be trusted */
}

/* Sets host_mntns from PID 1 (the global pid), an ancestor of every process but the
 * kernel's own helpers, whose chain ends at the idle task, which has the same initial
 * mount namespace. Global: runs until one exec has found it. */
__noinline int execmond_learn_host_mntns(__u64 task_addr)
{
	struct task_struct *task = (struct task_struct *)task_addr;
	int depth;

	for (depth = 0; depth < MAX_ANCESTORS && task; depth++) {
		struct task_struct *parent = BPF_CORE_READ(task, real_parent);

		if (BPF_CORE_READ(task, pid) == 1 || parent == task) {
			__u32 inum = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);

			if (inum)
				host_mntns = inum;
			return 0;
		}
		task = parent;
	}
	return 0; /* a deeper tree: the next exec tries again */
}

/* The view an exec is judged in (DESIGN-identity.md): the host's (0) when a user
 * namespace up the chain is a user's, or in the host's mount namespace; else the mount
 * namespace's own (a container whose runtime runs as root). */
static __always_inline __u32 judging_view(struct task_struct *task)
{
	const struct cred *cred = task->cred;
	__u32 mntns = task->nsproxy->mnt_ns->ns.inum;

	if (cred->user_ns->level != 0 &&
	    execmond_userns_unprivileged((__u64)BPF_CORE_READ(cred, user_ns)))
		return 0;
	if (!host_mntns)
		execmond_learn_host_mntns((__u64)bpf_get_current_task());
	return host_mntns && mntns == host_mntns ? 0 : mntns;
}

/* 1 when the root at (root_mnt, root_dentry) is its mount namespace's: the mount at
 * the top of the stack on the namespace's root mount (fs/namespace.c current_chrooted()).
 * The initial namespace's root mount is the initramfs's rootfs, with the real root
 * mounted over it. Walked downwards from the root, bounded; global: checked once. */
__noinline int execmond_root_is_namespace_root(__u64 root_mnt, __u64 root_dentry, __u64 ns_root)
{
	struct mount *mnt = (void *)root_mnt - bpf_core_field_offset(struct mount, mnt);
	int depth;

	if ((struct dentry *)root_dentry != BPF_CORE_READ(mnt, mnt.mnt_root))
		return 0;
	for (depth = 0; depth < MAX_ROOT_STACK; depth++) {
		struct mount *parent;

		if ((__u64)mnt == ns_root)
			return 1;
		parent = BPF_CORE_READ(mnt, mnt_parent);
		/* Mounted on its parent's root, or it is not on the root's stack. */
		if (parent == mnt ||
		    BPF_CORE_READ(mnt, mnt_mountpoint) != BPF_CORE_READ(parent, mnt.mnt_root))
			return 0;
		mnt = parent;
	}
	return 0;
}

/* Where and as whom the process runs. */
static __always_inline void fill_context(struct task_struct *task, struct fs_struct *fs,
					 struct execmond_exec_context *ctx)
{
	const struct cred *cred = task->cred;
	struct user_namespace *userns = cred->user_ns;
	struct mnt_namespace *mntns = task->nsproxy->mnt_ns;
	__u32 flags = 0;

	ctx->euid = cred->euid.val;
	ctx->egid = cred->egid.val;
	ctx->userns_level = userns->level;
	ctx->userns_owner = userns->owner.val;
	ctx->mntns = mntns->ns.inum;
	if (ctx->userns_level != 0) {
		flags |= EXECMOND_CTX_USERNS;
		if (execmond_userns_unprivileged((__u64)BPF_CORE_READ(cred, user_ns)))
			flags |= EXECMOND_CTX_USERNS_UNPRIVILEGED;
	}
	if (!host_mntns || ctx->mntns != host_mntns)
		flags |= EXECMOND_CTX_MNTNS;
	if (!execmond_root_is_namespace_root((__u64)BPF_CORE_READ(fs, root.mnt),
					     (__u64)BPF_CORE_READ(fs, root.dentry),
					     (__u64)BPF_CORE_READ(mntns, root)))
		flags |= EXECMOND_CTX_CHROOT;
	ctx->flags = flags;
}

#endif /* EXECMOND_CONTEXT_BPF_H */
