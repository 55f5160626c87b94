// The public C header must compile alone as C++ too, and the C++ umbrella header alone.
#include "cdpcore/cdpcore.h"
#include "cdpcore/cdpcore.hpp"

int cdpcore_header_check_cxx();
int cdpcore_header_check_cxx() { return CDP_VERSION_NUMBER > 0 ? CDP_OK : CDP_ERROR; }
