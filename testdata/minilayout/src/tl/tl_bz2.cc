#include "tl_bz2.h"

#include <bzlib.h>
#include <vector>

namespace tl
{

std::string bz2_compress (const std::string &data)
{
  //  worst case: 1% + 600 bytes larger than the input
  unsigned int out_len = (unsigned int) (data.size () + data.size () / 100 + 601);
  std::vector<char> out (out_len);
  int rc = BZ2_bzBuffToBuffCompress (&out [0], &out_len, const_cast<char *> (data.data ()), (unsigned int) data.size (), 9, 0, 0);
  if (rc != BZ_OK) {
    throw tl::Exception ("BZ2_bzBuffToBuffCompress failed");
  }
  return std::string (&out [0], out_len);
}

std::string bz2_decompress (const std::string &data)
{
  bz_stream strm;
  strm.bzalloc = 0;
  strm.bzfree = 0;
  strm.opaque = 0;
  if (BZ2_bzDecompressInit (&strm, 0, 0) != BZ_OK) {
    throw tl::Exception ("BZ2_bzDecompressInit failed");
  }

  std::string result;
  char buffer [4096];
  strm.next_in = const_cast<char *> (data.data ());
  strm.avail_in = (unsigned int) data.size ();

  int rc = BZ_OK;
  while (rc == BZ_OK) {
    strm.next_out = buffer;
    strm.avail_out = sizeof (buffer);
    rc = BZ2_bzDecompress (&strm);
    result.append (buffer, sizeof (buffer) - strm.avail_out);
    if (rc == BZ_OK && strm.avail_in == 0 && strm.avail_out != 0) {
      //  input exhausted before the end of the stream
      rc = BZ_UNEXPECTED_EOF;
    }
  }
  BZ2_bzDecompressEnd (&strm);

  if (rc != BZ_STREAM_END) {
    throw tl::Exception ("bz2 data is corrupt or truncated");
  }
  return result;
}

std::string bz2_version ()
{
  return std::string (BZ2_bzlibVersion ());
}

}

//  Instantiates the template-heavy report helpers, as KLayout's units instantiate its
//  containers and stream formatting: a compile cost per unit closer to KLayout's.
#include "tl_report.h"
TL_UNIT_REPORT(tl_bz2_report, std::string, double)
