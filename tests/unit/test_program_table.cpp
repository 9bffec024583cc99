// The program table binds every Program to a skeleton member (a compile-time check);
// this checks the other direction: the object has no program the table lacks, so that
// every hook is switched by the variant and none is loaded or left out by accident.
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "bpf/program_table.h"

namespace execmond {

TEST_CASE("every program of the object is in the table, each name once") {
  CHECK(programs_missing_from_table() == std::vector<std::string>{});
  std::set<std::string> names;
  for (std::size_t i = 0; i < kProgramCount; ++i)
    CHECK(names.insert(name_of(static_cast<Program>(i))).second);
  CHECK(std::string(name_of(Program::kExec)) == "handle_exec");
  CHECK(std::string(name_of(Program::kBprmCheck)) == "handle_bprm_check");
}

}  // namespace execmond
