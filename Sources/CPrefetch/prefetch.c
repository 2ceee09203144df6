// The prefetch hints are inline functions in include/CPrefetch.h; a C target
// needs one source file of its own.
#include "CPrefetch.h"
