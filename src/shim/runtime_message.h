// The OCI runtime's own words when one of its commands fails, from what it wrote to its
// --log file (--log-format json: {"level":"error","msg":"..."}; runc's text form
// `level=error msg="..."`) or, failing that, its stderr. The shim passes them on in the
// error's detail; it does not derive kinds from them (berth_oci's runtime_errors does that
// for berthd's own runtime calls; the shim checks the states it can itself, with kinds).
#pragma once

#include <string>
#include <string_view>

namespace berth::shim {

// The msg of every error/fatal line, else every non-empty line; a leading "<name>: " of
// the runtime is kept, repeats are dropped, lines are joined with "; ", at most 2 KiB.
std::string RuntimeMessage(std::string_view text);

}  // namespace berth::shim
