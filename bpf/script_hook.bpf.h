/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The script's own file. By sched_process_exec the kernel has closed a script and runs
 * its interpreter; the caller's string for it may lead anywhere (symlinks, "..", a
 * directory descriptor). security_bprm_check, the LSM hook, sees each level of an exec
 * with bprm->file open and its first bytes in bprm->buf: at the first level, a file
 * that is not ELF is what the caller named. Its identity and in-filesystem path are kept
 * in the task's storage until the exec's tracepoint, which sends them (SCRIPT_SEEN) and
 * deletes them.
 *
 * Loaded where fentry attaches and task storage exists (Debian 12 and 13); elsewhere
 * scripts are resolved in userspace. An ELF exec costs the trampoline, four byte loads
 * and, only for a task that has storage at all, one lookup.
 */
#ifndef EXECMOND_SCRIPT_HOOK_BPF_H
#define EXECMOND_SCRIPT_HOOK_BPF_H

#include "binaries.bpf.h"
#include <bpf/bpf_tracing.h>

/* Set by userspace between open and load: handle_bprm_check is loaded. */
const volatile bool script_hook = false;

/* What the hook saw, per task: created at a script's first level, deleted by the exec's
 * tracepoint. A sighting whose exec failed stays until the task's next exec replaces
 * or invalidates it, or the task ends. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct script_sighting);
} script_sightings SEC(".maps");

static __always_inline bool is_elf(struct linux_binprm *bprm)
{
	return bprm->buf[0] == 0x7f && bprm->buf[1] == 'E' && bprm->buf[2] == 'L' &&
	       bprm->buf[3] == 'F';
}

SEC("fentry/security_bprm_check")
int BPF_PROG(handle_bprm_check, struct linux_binprm *bprm)
{
	struct task_struct *task;
	struct script_sighting *seen;
	struct path_scratch *s;
	struct file *file;
	__u32 zero = 0;
	int end;

	/* Past the first level, interp names what binfmt_script or binfmt_misc loads. */
	if (!resolve_binaries || bprm->interp != bprm->filename)
		return 0;
	task = bpf_get_current_task_btf();
	if (is_elf(bprm)) {
		/* Nothing to see; forget what an earlier, failed exec of this task left. */
		if (task->bpf_storage) {
			seen = bpf_task_storage_get(&script_sightings, task, 0, 0);
			if (seen)
				seen->valid = 0;
		}
		return 0;
	}
	seen = bpf_task_storage_get(&script_sightings, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!seen)
		return 0;
	seen->valid = 0;
	file = bprm->file;
	read_binary_id(task, file, &seen->id);
	seen->flags = 0;
	s = bpf_map_lookup_elem(&path_scratches, &zero);
	if (!s || s->busy) {
		seen->flags = EXECMOND_BINARY_SCRIPT_TRUNCATED; /* a preempted walk owns it */
		seen->fs_path[0] = '\0';
	} else {
		s->busy = 1;
		start_walk(s, BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry),
			   &task->fs->root);
		end = execmond_walk(WALK_TO_SB_ROOT);
		if (!copy_path(seen->fs_path, s->buf, s->pos, PATH_END) || end == WALK_CUT)
			seen->flags = EXECMOND_BINARY_SCRIPT_TRUNCATED;
		s->busy = 0;
	}
	/* begin_new_exec() counts the exec: its tracepoint sees exec_id + 1. */
	seen->exec_id = task->self_exec_id;
	seen->valid = 1;
	return 0;
}

/* The sighting of this exec's script, if the hook made one: valid, and made during this
 * very exec. The caller deletes it after use. */
static __always_inline struct script_sighting *script_seen(struct task_struct *task,
							   struct linux_binprm *bprm)
{
	struct script_sighting *seen;

	if (!script_hook || bprm->interp == bprm->filename || !task->bpf_storage)
		return NULL;
	seen = bpf_task_storage_get(&script_sightings, task, 0, 0);
	if (seen && seen->valid && seen->exec_id + 1 == task->self_exec_id)
		return seen;
	return NULL;
}

#endif /* EXECMOND_SCRIPT_HOOK_BPF_H */
