// Which skeleton member each Program and OptionalMap is. The planner and its tests speak
// of Program values; only this table turns them into the object's programs, through
// the skeleton's members, so that a renamed or missing program is a compile error, not
// a hook silently left unloaded.
#pragma once

#include <string>
#include <vector>

#include "bpf/variant_plan.h"

struct execmond_bpf;
struct bpf_program;
struct bpf_link;
struct bpf_map;

namespace execmond {

bpf_program* program_of(execmond_bpf& skeleton, Program program);
// Where the skeleton keeps the program's link (attached by hand: the kretprobes).
bpf_link*& link_of(execmond_bpf& skeleton, Program program);
bpf_map* map_of(execmond_bpf& skeleton, OptionalMap map);
// The member's name, which is the program's name in the object (and, cut to 15 bytes,
// the kernel's).
const char* name_of(Program program);

// The object's programs (by name) that no Program stands for: empty, as a unit test
// checks, so that every program is switched by the variant. Opens the embedded object
// without loading it: needs no privilege.
std::vector<std::string> programs_missing_from_table();

}  // namespace execmond
