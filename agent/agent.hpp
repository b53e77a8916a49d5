// The reference region agent (docs/agent.md). A client of the HTTP API like
// any third-party agent; it shares only agent/protocol.hpp with the server.
#pragma once

namespace fc::agent {

// Entry point of `fleetcommand agent …`. argv holds the agent's options only
// (argv[0] is the first option; a leading "agent" word is skipped if present).
// Returns the process exit code: 0 success (or a clean stop), 1 a failed
// --once round or a runtime failure, 2 a usage or configuration error.
int main(int argc, char** argv);

}  // namespace fc::agent
