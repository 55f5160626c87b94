// cdpcore — the C++ API. Include this one header, or one per component.
#pragma once

#include "cdpcore/bitmap.hpp"
#include "cdpcore/datagen.hpp"
#include "cdpcore/error.hpp"
#include "cdpcore/hash.hpp"
#include "cdpcore/time.hpp"
#include "cdpcore/utf8.hpp"
#include "cdpcore/version.hpp"
#include "cdpcore/workspace.hpp"
