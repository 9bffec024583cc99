// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * execmond's BPF object: every program, map and setting the daemon and `execmond trace`
 * load. Each concern lives in its own header; this unit gathers them into the one
 * object the skeleton embeds.
 */
#include "lifecycle.bpf.h"
#include "exec_failures.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
