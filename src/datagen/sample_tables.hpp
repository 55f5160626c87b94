// Internal: the body of write_to_workspace() on a connection, for the tests.
#pragma once

#include "cdpcore/datagen.hpp"

namespace cdpcore::sql {
class Database;
}

namespace cdpcore::datagen::detail {
void write_sample_tables(sql::Database& db, const SampleData& data);
}
