//  minilayout: a miniature of KLayout's library structure (lib_tl).
//  Python-free: nothing under src/tl uses the Python headers.
#ifndef HDR_tl_common
#define HDR_tl_common

#include <stdexcept>
#include <string>

#define TL_PUBLIC __attribute__((visibility("default")))

namespace tl
{

//  The exception type all minilayout libraries throw
class TL_PUBLIC Exception : public std::runtime_error
{
public:
  explicit Exception (const std::string &msg) : std::runtime_error (msg) { }
};

}

#endif
