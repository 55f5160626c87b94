// Must compile: the same include root reaches a header util declares as its
// interface (the control for architecture.reach_in_fails).
#include "util/sqlite.hpp"
