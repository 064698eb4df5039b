// vmshare_version, vmshare_free.
#include <cstdlib>

#include "vmshare/vmshare.h"

#ifndef VMSHARE_VERSION_STRING
#error "VMSHARE_VERSION_STRING must be defined by the build"
#endif

extern "C" {

const char* vmshare_version(void) { return VMSHARE_VERSION_STRING; }

void vmshare_free(void* p) { std::free(p); }

}  // extern "C"
