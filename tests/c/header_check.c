/* The public C header must compile alone as strict C. */
#include "cdpcore/cdpcore.h"

int cdpcore_header_check_c(void);
int cdpcore_header_check_c(void) { return CDP_VERSION_NUMBER > 0 ? CDP_OK : CDP_ERROR; }
