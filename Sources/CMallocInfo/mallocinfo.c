// The allocator query is an inline function in include/CMallocInfo.h; a C
// target needs one source file of its own.
#include "CMallocInfo.h"
