// SPDX-License-Identifier: Apache-2.0
// Which executable files of a root a configuration would flag, were they run: every
// regular file with an execute bit, judged as the daemon judges an exec of it in the
// host's view (its globs, its sha256: entries, its package database). A superset of
// what boot, apt-get upgrade and cron run there; tests/content/run-content-roots.sh
// runs it on clean Debian 12 and 13 roots to choose the shipped default.
//   content_audit --root DIR --config FILE [--verbose]
#include <ftw.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "binaries/binary_allow_list.h"
#include "binaries/content_policy.h"
#include "binaries/dpkg_database.h"
#include "binaries/file_digester.h"
#include "binaries/host_root.h"
#include "config/config.h"

namespace
{

using namespace execmond;

struct Audit {
	std::string root;
	bool verbose = false;
	BinaryAllowList globs;
	ContentAllowList content;
	std::unique_ptr<PackageIndex> index;
	RuntimeBinaries runtimes;
	FileDigester digester;
	std::map<std::string, std::size_t> outcomes;
	std::vector<std::string> flagged;
	std::size_t files = 0;
};

Audit *audit = nullptr;

const char *grounds_name(ContentDecision::Grounds grounds)
{
	switch (grounds) {
	case ContentDecision::Grounds::path:
		return "allowed by a path glob";
	case ContentDecision::Grounds::content:
		return "allowed by a sha256: entry";
	case ContentDecision::Grounds::runtime_clone:
		return "allowed as a runtime copy";
	case ContentDecision::Grounds::package:
		return "allowed by its package";
	case ContentDecision::Grounds::upgrade:
		return "allowed (upgrade)";
	case ContentDecision::Grounds::none:
		break;
	}
	return "allowed";
}

int visit(const char *path, const struct stat *info, int type, FTW *)
{
	const std::string_view relative = std::string_view(path).substr(audit->root.size());
	const std::string host_path = relative.empty() ? "/" : std::string(relative);
	if (type == FTW_D && (host_path == "/proc" || host_path == "/sys" || host_path == "/dev"))
		return FTW_SKIP_SUBTREE;
	if (type != FTW_F || !S_ISREG(info->st_mode) || (info->st_mode & 0111) == 0)
		return FTW_CONTINUE;
	++audit->files;
	const int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	std::optional<ContentDigest> digest;
	if (fd >= 0) {
		const auto read = audit->digester.digest(fd, [](std::size_t) { return true; });
		if (read.outcome == FileDigester::Outcome::digested)
			digest = read.digest;
		::close(fd);
	}
	ContentFacts facts;
	facts.host_path = host_path;
	facts.path_admitted = audit->globs.allows(host_path);
	PackageView packages;
	packages.index = audit->index.get();
	const ContentDecision decision = decide_content(
		facts, digest ? HashState::known : HashState::unknown, digest ? &*digest : nullptr,
		audit->content, packages, audit->runtimes);
	std::string outcome;
	if (decision.kind == ContentDecision::Kind::allowed) {
		outcome = grounds_name(decision.grounds);
	} else {
		const char *reason = ContentDecision::reason_name(decision.reason);
		outcome = std::string("unexpected: ") + (*reason ? reason : "not_allowed");
		audit->flagged.push_back(outcome + " " + host_path +
					 (decision.package.empty()
						  ? ""
						  : " (" + std::string(decision.package) + ")"));
	}
	if (audit->verbose)
		std::printf("%s %s\n", outcome.c_str(), host_path.c_str());
	++audit->outcomes[outcome];
	return FTW_CONTINUE;
}

} // namespace

int main(int argc, char **argv)
{
	Audit state;
	std::string config_path;
	for (int i = 1; i < argc; ++i) {
		if (std::strcmp(argv[i], "--root") == 0 && i + 1 < argc)
			state.root = argv[++i];
		else if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (std::strcmp(argv[i], "--verbose") == 0)
			state.verbose = true;
	}
	if (state.root.empty() || config_path.empty()) {
		std::fprintf(stderr, "usage: content_audit --root DIR --config FILE [--verbose]\n");
		return 2;
	}
	while (state.root.size() > 1 && state.root.back() == '/')
		state.root.pop_back();
	const Config config = load_config_file(config_path);
	const std::vector<std::string> entries =
		config.allowed_binaries.value_or(std::vector<std::string>{});
	state.globs = BinaryAllowList(entries);
	state.content = ContentAllowList(entries);
	if (config.packaged_binaries) {
		const FileDescriptor root = open_root(state.root);
		DpkgDatabase dpkg;
		PackageDatabase::LoadStats stats;
		if (root && dpkg.present(root.get()))
			state.index = std::make_unique<PackageIndex>(dpkg.load(root.get(), stats));
		std::printf("package database: %s\n", state.index ? "dpkg" : "none");
	}
	audit = &state;
	if (::nftw(state.root.c_str(), visit, 64, FTW_PHYS | FTW_ACTIONRETVAL) != 0) {
		std::perror("nftw");
		return 1;
	}
	std::printf("%zu executable files under %s:\n", state.files, state.root.c_str());
	for (const auto &[outcome, count] : state.outcomes)
		std::printf("  %6zu %s\n", count, outcome.c_str());
	for (const std::string &line : state.flagged)
		std::printf("%s\n", line.c_str());
	return state.flagged.empty() ? 0 : 1;
}
