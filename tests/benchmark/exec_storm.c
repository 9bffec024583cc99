// SPDX-License-Identifier: Apache-2.0
// Exec storm: P worker processes each run PROGRAM (fork or vfork, execve, waitpid) in a
// loop, for a time or a total number of runs, and report how many execs succeeded.
//
//   exec_storm --exe PROGRAM [--workers P] [--seconds D | --count N] [--spawn fork|vfork]
//
// PROGRAM must exit 0. Its processes are named after its file (the kernel's comm), so a
// copy under a unique name lets execmond's per-name counters be checked exactly:
// execs_total and exits_total for that name must equal `execs` below.
//
// Prints `key value` lines: workers, spawn, execs (runs that exec'd and exited 0),
// failed (runs that did not), elapsed_s, rate_per_s, and the CPU time of the workers and
// their children.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 256

// Shared by the parent and its workers (MAP_SHARED): one cache line per worker.
struct worker_counts {
	unsigned long execs;
	unsigned long failed;
	char pad[64 - 2 * sizeof(unsigned long)];
};

struct storm_state {
	volatile int stop;     // set by the parent when the time is up or on a signal
	unsigned long tickets; // runs handed out, with --count
	struct worker_counts counts[MAX_WORKERS];
};

static struct storm_state *state;

static void usage_error(const char *message, const char *value)
{
	fprintf(stderr, "exec_storm: %s%s%s\n", message, value ? ": " : "", value ? value : "");
	fprintf(stderr, "usage: exec_storm --exe PROGRAM [--workers P] [--seconds D | --count N] "
			"[--spawn fork|vfork]\n");
	exit(2);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double positive_number(const char *option, const char *text)
{
	char *end;
	double value = strtod(text, &end);

	if (!*text || *end || !(value > 0))
		usage_error(option, "needs a positive number");
	return value;
}

static void request_stop(int signal)
{
	(void)signal;
	state->stop = 1;
}

// One run of the program; true when it exec'd and exited 0.
static int run_once(const char *exe, int use_vfork)
{
	char *const argv[] = {(char *)exe, NULL};
	char *const envp[] = {NULL};
	int status;
	pid_t pid = use_vfork ? vfork() : fork();

	if (pid < 0)
		return 0;
	if (pid == 0) {
		execve(exe, argv, envp);
		_exit(127); // the exec failed
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void worker(int index, int start_fd, const char *exe, int use_vfork,
		   unsigned long count_limit)
{
	struct worker_counts *counts = &state->counts[index];
	char go;

	prctl(PR_SET_PDEATHSIG, SIGKILL); // never outlive the storm
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	// All workers start together: the parent closes the pipe once every one exists.
	if (read(start_fd, &go, 1) < 0)
		_exit(1);
	while (!state->stop) {
		if (count_limit &&
		    __atomic_fetch_add(&state->tickets, 1, __ATOMIC_RELAXED) >= count_limit)
			break;
		if (run_once(exe, use_vfork))
			counts->execs++;
		else
			counts->failed++;
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	const char *exe = NULL;
	int workers = 1, use_vfork = 0, start_pipe[2];
	double seconds = 0;
	unsigned long count_limit = 0, execs = 0, failed = 0;
	struct sigaction stop_action = {.sa_handler = request_stop};
	struct rusage usage;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = i + 1 < argc ? argv[++i] : NULL;

		if (!value)
			usage_error("missing value after", arg);
		if (!strcmp(arg, "--exe"))
			exe = value;
		else if (!strcmp(arg, "--workers"))
			workers = (int)positive_number(arg, value);
		else if (!strcmp(arg, "--seconds"))
			seconds = positive_number(arg, value);
		else if (!strcmp(arg, "--count"))
			count_limit = (unsigned long)positive_number(arg, value);
		else if (!strcmp(arg, "--spawn") &&
			 (!strcmp(value, "fork") || !strcmp(value, "vfork")))
			use_vfork = !strcmp(value, "vfork");
		else
			usage_error("unknown option or value", arg);
	}
	if (!exe)
		usage_error("--exe is required", NULL);
	if (access(exe, X_OK) != 0)
		usage_error("cannot execute", exe);
	if (workers > MAX_WORKERS)
		usage_error("too many workers", NULL);
	if ((seconds > 0) == (count_limit > 0))
		usage_error("give one of --seconds and --count", NULL);

	state = mmap(NULL, sizeof(*state), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		     0);
	if (state == MAP_FAILED || pipe(start_pipe) != 0) {
		perror("exec_storm");
		return 1;
	}
	sigaction(SIGINT, &stop_action, NULL);
	sigaction(SIGTERM, &stop_action, NULL);
	sigaction(SIGALRM, &stop_action, NULL);

	for (int i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("exec_storm: fork");
			state->stop = 1;
			workers = i;
			break;
		}
		if (pid == 0) {
			close(start_pipe[1]);
			worker(i, start_pipe[0], exe, use_vfork, count_limit);
		}
	}
	close(start_pipe[0]);

	double start = now_seconds();

	close(start_pipe[1]); // go
	if (seconds > 0) {
		struct itimerval timer = {
			.it_value = {.tv_sec = (time_t)seconds,
				     .tv_usec = (long)((seconds - (long)seconds) * 1e6)}};
		setitimer(ITIMER_REAL, &timer, NULL);
	}
	// The workers are the only children: wait for all of them (interrupted by the timer).
	for (int left = workers; left > 0;) {
		if (wait(NULL) > 0)
			left--;
		else if (errno == ECHILD)
			break;
		else if (state->stop && errno == EINTR)
			continue;
	}
	double elapsed = now_seconds() - start;

	for (int i = 0; i < workers; i++) {
		execs += state->counts[i].execs;
		failed += state->counts[i].failed;
	}
	getrusage(RUSAGE_CHILDREN, &usage);
	printf("workers %d\n", workers);
	printf("spawn %s\n", use_vfork ? "vfork" : "fork");
	printf("execs %lu\n", execs);
	printf("failed %lu\n", failed);
	printf("elapsed_s %.6f\n", elapsed);
	printf("rate_per_s %.1f\n", elapsed > 0 ? (double)execs / elapsed : 0.0);
	printf("cpu_user_s %.3f\n", (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6);
	printf("cpu_sys_s %.3f\n", (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec * 1e-6);
	return failed > 0 || workers == 0 ? 1 : 0;
}
