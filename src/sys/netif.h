// Network interfaces of the calling thread's network namespace (netns is per thread).
#pragma once

#include "base/error.h"

namespace berth::sys {

// Sets lo up (IFF_UP) in the calling thread's network namespace, as the CNI loopback plugin
// does, without exec'ing it: berthd does this in the thread that made the pod's netns.
Result<void> BringUpLoopback();

}  // namespace berth::sys
