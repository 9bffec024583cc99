// A process with a known fate, for the integration tests. Run under a unique name (a
// symlink): the kernel names a process after the file it exec'd.
//
//   workload [--rename NAME] [--sleep-ms N] [--until-stdin-closes] [--threads N]
//            [--leader-exits-first] [--thread-name NAME]
//            [--exit CODE | --signal SIGNAL | --exec PATH]
//
// --until-stdin-closes waits, after the sleep, until its standard input reaches its end:
// a test ends the process when it is ready for it, however long that took on a busy
// machine, instead of guessing a lifetime.
// --rename NAME renames the process (its main thread) first, as daemons that set their
// title do.
// --threads N starts N threads that sleep --sleep-ms and rename themselves to
// --thread-name; with --leader-exits-first the main thread leaves first, so a worker
// thread ends the process. --exec PATH execs PATH and, when that fails, exits 127 as a
// shell does.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static long sleep_ms;
static int exit_code;
static int exit_signal;
static const char *thread_name;
static const char *exec_path;
static int until_stdin_closes;
static pthread_mutex_t finish_lock = PTHREAD_MUTEX_INITIALIZER;
static int threads_left;

static void sleep_for(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void wait_for_stdin_to_close(void)
{
	char buffer[256];
	ssize_t count;

	while ((count = read(STDIN_FILENO, buffer, sizeof(buffer))) > 0 ||
	       (count < 0 && errno == EINTR))
		;
}

static void finish(void)
{
	if (until_stdin_closes)
		wait_for_stdin_to_close();
	if (exec_path) {
		execl(exec_path, exec_path, (char *)NULL);
		_exit(127);
	}
	if (exit_signal) {
		signal(exit_signal, SIG_DFL);
		kill(getpid(), exit_signal);
		sleep_for(10000); /* a blocked or ignored signal: fail loudly below */
		fprintf(stderr, "workload: signal %d did not end the process\n", exit_signal);
		_exit(99);
	}
	exit(exit_code);
}

static void *worker(void *arg)
{
	(void)arg;
	if (thread_name)
		prctl(PR_SET_NAME, thread_name);
	sleep_for(sleep_ms);
	pthread_mutex_lock(&finish_lock);
	int last = --threads_left == 0;
	pthread_mutex_unlock(&finish_lock);
	if (last)
		finish(); /* the last worker ends the process */
	return NULL;
}

static long number(const char *option, const char *text)
{
	char *end;
	long value = strtol(text, &end, 10);

	if (!*text || *end || value < 0) {
		fprintf(stderr, "workload: %s needs a non-negative number, got '%s'\n", option,
			text);
		exit(100);
	}
	return value;
}

int main(int argc, char **argv)
{
	int threads = 0, leader_exits_first = 0;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : "";

		if (!strcmp(arg, "--leader-exits-first")) {
			leader_exits_first = 1;
			continue;
		}
		if (!strcmp(arg, "--until-stdin-closes")) {
			until_stdin_closes = 1;
			continue;
		}
		i++;
		if (!strcmp(arg, "--sleep-ms"))
			sleep_ms = number(arg, value);
		else if (!strcmp(arg, "--threads"))
			threads = (int)number(arg, value);
		else if (!strcmp(arg, "--thread-name"))
			thread_name = value;
		else if (!strcmp(arg, "--rename"))
			prctl(PR_SET_NAME, value);
		else if (!strcmp(arg, "--exit"))
			exit_code = (int)number(arg, value);
		else if (!strcmp(arg, "--signal"))
			exit_signal = (int)number(arg, value);
		else if (!strcmp(arg, "--exec"))
			exec_path = value;
		else {
			fprintf(stderr, "workload: unknown option '%s'\n", arg);
			return 100;
		}
	}

	if (threads == 0) {
		sleep_for(sleep_ms);
		finish();
	}
	threads_left = threads;
	for (int i = 0; i < threads; i++) {
		pthread_t thread;

		if (pthread_create(&thread, NULL, worker, NULL) != 0) {
			perror("workload: pthread_create");
			return 101;
		}
	}
	if (leader_exits_first)
		pthread_exit(NULL); /* the process lives on in its workers */
	for (;;)
		pause(); /* a worker ends the process */
}
