/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The ring buffer every program writes to, its loss counters and its wake-up policy. */
#ifndef EXECMOND_EVENTS_BPF_H
#define EXECMOND_EVENTS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "execmond.h"

/* Set by userspace between open and load. */
const volatile __u64 wakeup_bytes = 0; /* 0: wake the reader on every record */
/* Trace mode: full records (exec path and argv, parent, uid and gid). */
const volatile bool capture_args = false;
/* CLOCK_BOOTTIME just before the programs were loaded: processes forked since then had
 * any exec of theirs seen. */
const volatile __u64 loaded_ns = 0;

/* Set by userspace at any time (reload): a writable global, read once per exit. */
__u64 min_duration_ns = 0; /* shorter-lived processes send no exit */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized by userspace before load */
} events SEC(".maps");

/* Records that found no room in `events`, per CPU, indexed by enum execmond_drop_reason.
 * Userspace sums the CPUs: nothing is lost without being counted. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EXECMOND_DROP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} dropped_events SEC(".maps");

static __always_inline void count_drop(__u32 reason)
{
	__u64 *dropped = bpf_map_lookup_elem(&dropped_events, &reason);

	if (dropped)
		*dropped += 1; /* per-CPU slot: no other writer */
}

/* Submits a reserved record. With wakeup_bytes set, the reader is only woken once that
 * much data waits; it drains the rest on its periodic poll, so a busy host pays one
 * wake-up per batch instead of one per exec. */
static __always_inline void submit_event(void *record)
{
	__u64 flags = 0;

	if (wakeup_bytes)
		flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
				? BPF_RB_FORCE_WAKEUP
				: BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(record, flags);
}

/* A task's name (TASK_COMM_LEN, 16 bytes), copied with two 8-byte loads through the
 * typed task pointer: no helper call on the path every record takes. The verifier
 * allows any load within an array of integers. */
struct comm_words {
	__u64 word[2];
};

static __always_inline void copy_comm(char *dst, struct task_struct *task)
{
	*(struct comm_words *)dst = *(const struct comm_words *)task->comm;
}

/* Who ran it: the parent and the ids. For tracing programs, like fill_header(). */
static __always_inline void fill_identity(struct execmond_event_header *hdr,
					  struct task_struct *task)
{
	struct task_struct *parent = task->real_parent;
	__u64 uid_gid = bpf_get_current_uid_gid(); /* task is current at every hook */

	hdr->uid = (__u32)uid_gid;
	hdr->gid = uid_gid >> 32;
	if (parent) {
		hdr->ppid = parent->tgid;
		copy_comm(hdr->parent_comm, parent);
	}
}

/* For tracing programs (tp_btf, fexit), whose task pointer the verifier knows: fields are
 * read with plain loads, no helper call per field. The daemon counts by name (and
 * cgroup): the parent and the ids are read for `execmond trace` (capture_args), and for
 * binary records by their caller, and are zero otherwise. */
static __always_inline void fill_header(struct execmond_event_header *hdr, __u32 type,
					struct task_struct *task, __u64 now)
{
	hdr->type = type;
	hdr->flags = 0;
	hdr->timestamp_ns = now;
	hdr->pid = task->tgid;
	/* Fixed-size copies: the reader stops at the first NUL. */
	copy_comm(hdr->comm, task);
	hdr->ppid = 0;
	hdr->uid = 0;
	hdr->gid = 0;
	__builtin_memset(hdr->parent_comm, 0, sizeof(hdr->parent_comm));
	/* The unified hierarchy's id, also on hybrid hosts; every hook runs as the task. */
	hdr->cgroup_id = bpf_get_current_cgroup_id();
	if (capture_args)
		fill_identity(hdr, task);
}

/* For kprobe and tracepoint programs, whose task pointer is a plain number: every field
 * through bpf_probe_read_kernel. */
static __always_inline void fill_header_probed(struct execmond_event_header *hdr, __u32 type,
					       struct task_struct *task, __u64 now)
{
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	__u64 uid_gid = bpf_get_current_uid_gid(); /* task is current at every hook */

	hdr->type = type;
	hdr->flags = 0;
	hdr->timestamp_ns = now;
	hdr->pid = BPF_CORE_READ(task, tgid);
	hdr->ppid = BPF_CORE_READ(parent, tgid);
	hdr->uid = (__u32)uid_gid;
	hdr->gid = uid_gid >> 32;
	BPF_CORE_READ_STR_INTO(&hdr->comm, task, comm);
	BPF_CORE_READ_STR_INTO(&hdr->parent_comm, parent, comm);
	/* The unified hierarchy's id, also on hybrid hosts; the task is current here too. */
	hdr->cgroup_id = bpf_get_current_cgroup_id();
}

/* Copies a kernel string into a record field, flagging it when it did not fit. */
static __always_inline __u32 read_kernel_path(char *dst, const char *src)
{
	long n = bpf_probe_read_kernel_str(dst, EXECMOND_FILENAME_LEN, src);
	char next = 0;

	if (n < EXECMOND_FILENAME_LEN)
		return 0;
	/* n == LEN also for a path of exactly LEN-1 bytes: look at the byte that was cut. */
	bpf_probe_read_kernel(&next, 1, src + EXECMOND_FILENAME_LEN - 1);
	return next ? EXECMOND_FILENAME_TRUNCATED : 0;
}

#endif /* EXECMOND_EVENTS_BPF_H */
