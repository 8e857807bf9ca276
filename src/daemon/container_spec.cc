// Placeholder: BuildContainerSpec is being written (see container_spec.h).
#include "daemon/container_spec.h"
