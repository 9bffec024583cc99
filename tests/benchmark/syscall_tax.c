// SPDX-License-Identifier: Apache-2.0
// The per-system-call tax a monitor puts on every other program: ns per getppid(), the
// cheapest system call there is, best of several rounds.
//
//   syscall_tax [CALLS_PER_ROUND [ROUNDS]]   prints "<ns per call>"
//
// Enabling any syscall tracepoint sends every system call of every task through the
// kernel's tracing path; programs on exec only (tp_btf, fexit, kretprobe) cost nothing
// here.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 2000000;
	int rounds = argc > 2 ? atoi(argv[2]) : 7;
	double best = 0;

	for (int r = 0; r < rounds; r++) {
		double start = now_ns();

		for (long i = 0; i < calls; i++)
			syscall(SYS_getppid); /* not cached by libc, unlike getpid() once was */
		double per_call = (now_ns() - start) / calls;

		if (r == 0 || per_call < best)
			best = per_call;
	}
	printf("%.1f\n", best);
	return 0;
}
