// Must NOT compile: rules including a private header of profile. The test
// architecture.reach_in_fails builds this with the rules component's include
// root and expects "file not found" for the header below.
#include "profile/store_impl.hpp"
