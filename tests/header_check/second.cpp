#include "all_headers.hpp"

int header_check_second() { return 0; }
