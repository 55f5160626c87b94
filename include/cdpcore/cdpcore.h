/* cdpcore — the C ABI. Include this one header.
 *
 * A stable, exception-free interface over the C++ library for programs in C
 * and for bindings in other languages (Java, Go, .NET, Node, PHP). See
 * cdpcore/c/common.h for the conventions every function follows. */
#ifndef CDPCORE_H
#define CDPCORE_H

#include "cdpcore/c/bitmap.h"
#include "cdpcore/c/common.h"
#include "cdpcore/c/consent.h"
#include "cdpcore/c/identity.h"
#include "cdpcore/c/model.h"
#include "cdpcore/c/profile.h"
#include "cdpcore/c/rules.h"
#include "cdpcore/c/segment.h"
#include "cdpcore/c/workspace.h"

#endif
