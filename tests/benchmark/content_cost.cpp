// SPDX-License-Identifier: Apache-2.0
// What content identity costs (issue 14): the package database's start-up load and the
// hash worker's throughput. Prints figures; run-benchmark.py runs it, or by hand:
//   content_cost [--root DIR] [--hash-file FILE]
// --root: the host root whose /var/lib/dpkg is loaded (default /proc/1/root).
// --hash-file: digest this file (default: a 100 MB file written to /var/tmp).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "binaries/dpkg_database.h"
#include "binaries/file_digester.h"
#include "binaries/host_root.h"

namespace
{

long status_kib(const char *field)
{
	std::ifstream status("/proc/self/status");
	std::string line;
	while (std::getline(status, line))
		if (line.rfind(field, 0) == 0)
			return std::strtol(line.c_str() + std::strlen(field), nullptr, 10);
	return -1;
}

double cpu_seconds()
{
	rusage usage{};
	::getrusage(RUSAGE_SELF, &usage);
	return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
	       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

int load_database(const std::string &root_path)
{
	const execmond::FileDescriptor root = execmond::open_root(root_path);
	execmond::DpkgDatabase dpkg;
	if (!root || !dpkg.present(root.get())) {
		std::printf("package database: none under %s\n", root_path.c_str());
		return 1;
	}
	const long rss_before = status_kib("VmRSS:");
	const double cpu_before = cpu_seconds();
	execmond::PackageDatabase::LoadStats stats;
	const execmond::PackageIndex index = dpkg.load(root.get(), stats);
	const double cpu = cpu_seconds() - cpu_before;
	const long rss_after = status_kib("VmRSS:");
	const long peak = status_kib("VmHWM:");
	const auto s = index.stats();
	std::printf(
		"package database (%s, %s): %zu packages, %zu files read (%.1f MiB), %zu files "
		"with "
		"checksums, %zu owned without, %zu package directories, %zu directory lookups, %zu "
		"malformed lines\n",
		std::string(index.manager()).c_str(), root_path.c_str(), s.packages,
		stats.files_read, static_cast<double>(stats.bytes_read) / (1 << 20), s.files,
		s.unchecked, s.directories, stats.path_lookups, stats.malformed_lines);
	std::printf("package database load: %.0f ms of CPU, %.0f ms wall; index %.1f MiB; RSS "
		    "%+.1f MiB after "
		    "the load (peak %.1f MiB)\n",
		    cpu * 1000, std::chrono::duration<double, std::milli>(stats.duration).count(),
		    static_cast<double>(s.bytes) / (1 << 20),
		    static_cast<double>(rss_after - rss_before) / 1024,
		    static_cast<double>(peak) / 1024);
	return 0;
}

int hash_throughput(std::string path)
{
	bool made = false;
	if (path.empty()) {
		path = "/var/tmp/execmond-content-cost-100mb";
		std::ofstream out(path, std::ios::binary | std::ios::trunc);
		std::string block(1 << 20, '\0');
		for (std::size_t i = 0; i < block.size(); ++i)
			block[i] = static_cast<char>(i * 131 + 7);
		for (int i = 0; i < 100; ++i)
			out.write(block.data(), static_cast<std::streamsize>(block.size()));
		made = true;
	}
	const execmond::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd) {
		std::printf("hash: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
		return 1;
	}
	execmond::FileDigester digester;
	digester.digest(fd.get(), [](std::size_t) { return true; }); // warm the page cache
	const auto started = std::chrono::steady_clock::now();
	const auto result = digester.digest(fd.get(), [](std::size_t) { return true; });
	const double seconds =
		std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
	std::printf("hash throughput (SHA-256 + MD5 in one read, page cache, no budget): %.0f MB/s "
		    "(%.1f MB "
		    "in %.3f s)\n",
		    static_cast<double>(result.bytes) / 1e6 / seconds,
		    static_cast<double>(result.bytes) / 1e6, seconds);
	if (made)
		::unlink(path.c_str());
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	std::string root = execmond::kHostRoot, file;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (std::strcmp(argv[i], "--root") == 0)
			root = argv[i + 1];
		else if (std::strcmp(argv[i], "--hash-file") == 0)
			file = argv[i + 1];
	}
	const int loaded = load_database(root);
	return hash_throughput(file) | loaded;
}
