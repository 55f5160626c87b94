// cdpcore — the C++ API. Include this one header, or one per component.
#pragma once

#include "cdpcore/bitmap.hpp"
#include "cdpcore/consent.hpp"
#include "cdpcore/error.hpp"
#include "cdpcore/hash.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/model.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/rules.hpp"
#include "cdpcore/segment.hpp"
#include "cdpcore/time.hpp"
#include "cdpcore/utf8.hpp"
#include "cdpcore/version.hpp"
#include "cdpcore/workspace.hpp"
