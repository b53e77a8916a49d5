// fleetcommand ctl: the operator CLI (docs/cli.md). A client of the HTTP API
// only; it never opens the database.
#pragma once

namespace fc::ctl {

// argv[0] is "ctl"'s first argument: main(argc - 2, argv + 2) from app/main.cpp.
// Exit status: 0 success, 1 a failed request or wait, 2 bad usage.
int main(int argc, char** argv);

}  // namespace fc::ctl
