#include "bpf/program_table.h"

#include <bpf/libbpf.h>

#include <array>
#include <memory>

#include "execmond.skel.h"

namespace execmond {
namespace {

using Programs = decltype(execmond_bpf::progs);
using Links = decltype(execmond_bpf::links);
using Maps = decltype(execmond_bpf::maps);

struct ProgramSlot {
  Program program;
  bpf_program* Programs::*member;
  bpf_link* Links::*link;
  const char* name;
};

// One token per program: its member, its link and its name cannot disagree.
#define EXECMOND_PROGRAM(id, member) \
  ProgramSlot { Program::id, &Programs::member, &Links::member, #member }

constexpr std::array<ProgramSlot, kProgramCount> kPrograms = {
    EXECMOND_PROGRAM(kExec, handle_exec),
    EXECMOND_PROGRAM(kExecWithoutStorage, handle_exec_without_storage),
    EXECMOND_PROGRAM(kRename, handle_rename),
    EXECMOND_PROGRAM(kExit, handle_exit),
    EXECMOND_PROGRAM(kExitWithoutStorage, handle_exit_without_storage),
    EXECMOND_PROGRAM(kGroupExit, handle_group_exit),
    EXECMOND_PROGRAM(kGroupExitWithoutStorage, handle_group_exit_without_storage),
    EXECMOND_PROGRAM(kExecveReturn, handle_execve_return),
    EXECMOND_PROGRAM(kExecveatReturn, handle_execveat_return),
    EXECMOND_PROGRAM(kExecveKretprobe, handle_execve_kretprobe),
    EXECMOND_PROGRAM(kExecveatKretprobe, handle_execveat_kretprobe),
    EXECMOND_PROGRAM(kExecveExit, handle_execve_exit),
    EXECMOND_PROGRAM(kExecveatExit, handle_execveat_exit),
    EXECMOND_PROGRAM(kBprmCheck, handle_bprm_check),
};
#undef EXECMOND_PROGRAM

constexpr std::array<bpf_map * Maps::*, kOptionalMapCount> kOptionalMaps = {
    &Maps::process_states,
    &Maps::reported_exits,
    &Maps::script_sightings,
};

// Indexed by the enum: the table is in its order.
constexpr bool in_enum_order() {
  for (std::size_t i = 0; i < kPrograms.size(); ++i)
    if (kPrograms[i].program != static_cast<Program>(i)) return false;
  return true;
}
static_assert(in_enum_order(), "kPrograms must list the programs in enum Program's order");

const ProgramSlot& slot(Program program) { return kPrograms[static_cast<std::size_t>(program)]; }

}  // namespace

bpf_program* program_of(execmond_bpf& skeleton, Program program) {
  return skeleton.progs.*slot(program).member;
}

bpf_link*& link_of(execmond_bpf& skeleton, Program program) {
  return skeleton.links.*slot(program).link;
}

bpf_map* map_of(execmond_bpf& skeleton, OptionalMap map) {
  return skeleton.maps.*kOptionalMaps[static_cast<std::size_t>(map)];
}

const char* name_of(Program program) { return slot(program).name; }

std::vector<std::string> programs_missing_from_table() {
  std::unique_ptr<execmond_bpf, decltype(&execmond_bpf__destroy)> skeleton(execmond_bpf__open(),
                                                                           &execmond_bpf__destroy);
  if (!skeleton) return {"(the embedded object does not open)"};
  std::vector<std::string> missing;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skeleton->obj) {
    bool found = false;
    for (const ProgramSlot& s : kPrograms) found |= skeleton->progs.*s.member == prog;
    if (!found) missing.emplace_back(bpf_program__name(prog));
  }
  return missing;
}

}  // namespace execmond
