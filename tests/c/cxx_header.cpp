// The header compiles as C++ (cpp_compat) and links: the extern "C" block
// is right. Built with -Wall -Wextra -Wpedantic -Werror by `make ctest`.
#include "fusebox.h"

#include <cstdio>

int main() {
    fusebox_config cfg;
    fusebox_config_init(&cfg);
    fusebox_id id = 0;
    if (fusebox_create("cxx", &cfg, &id) != FUSEBOX_OK) return 1;
    if (fusebox_try_acquire(id) != FUSEBOX_OK) return 1;
    std::printf("C++: %s\n", fusebox_status_str(fusebox_destroy(id)));
    return 0;
}
