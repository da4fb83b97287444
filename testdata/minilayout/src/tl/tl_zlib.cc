#include "tl_zlib.h"

#include <zlib.h>

namespace tl
{

unsigned long crc32 (const std::string &data)
{
  uLong crc = ::crc32 (0L, Z_NULL, 0);
  const Bytef *p = reinterpret_cast<const Bytef *> (data.data ());
  size_t n = data.size ();
  while (n > 0) {
    uInt chunk = n > 0x40000000 ? 0x40000000 : (uInt) n;
    crc = ::crc32 (crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return (unsigned long) crc;
}

std::string zlib_version_string ()
{
  return std::string (zlibVersion ());
}

}

//  Instantiates the template-heavy report helpers, as KLayout's units instantiate its
//  containers and stream formatting: a compile cost per unit closer to KLayout's.
#include "tl_report.h"
TL_UNIT_REPORT(tl_zlib_report, long, double)
