//  minilayout: a miniature of KLayout's stream plugins (lib_gds2_dbpi).
//  Nothing links this library: lib_db dlopen()s it from db_plugins/ at
//  runtime and its static initializer registers the "GDS2" format.
//  Python-free: no Python headers.
//
//  The file is a sequence of GDS2 records (2 byte big-endian length,
//  1 byte record type, 1 byte data type): HEADER, BGNLIB, LIBNAME,
//  a 4 byte text length record, STRING records holding the text, ENDLIB.

#include "db_stream.h"

#include <cstdio>
#include <string>

namespace
{

const unsigned char rt_header = 0x00, rt_bgnlib = 0x01, rt_libname = 0x02;
const unsigned char rt_endlib = 0x04, rt_string = 0x19, rt_textlen = 0x2b;
const unsigned char dt_none = 0x00, dt_int2 = 0x02, dt_int4 = 0x03, dt_ascii = 0x06;
const size_t max_chunk = 65530;

void put_record (std::string &out, unsigned char rt, unsigned char dt, const std::string &data)
{
  size_t len = data.size () + 4;
  out += char ((len >> 8) & 0xff);
  out += char (len & 0xff);
  out += char (rt);
  out += char (dt);
  out += data;
}

std::string int2 (unsigned int v)
{
  std::string s;
  s += char ((v >> 8) & 0xff);
  s += char (v & 0xff);
  return s;
}

std::string int4 (unsigned long v)
{
  return int2 ((v >> 16) & 0xffff) + int2 (v & 0xffff);
}

bool detect (const std::string &head)
{
  return head.size () >= 4 && head [0] == 0 && head [1] == 6 && head [2] == char (rt_header) && head [3] == char (dt_int2);
}

void write (const std::string &path, const std::string &text)
{
  std::string out;
  put_record (out, rt_header, dt_int2, int2 (600));
  put_record (out, rt_bgnlib, dt_int2, std::string (24, '\0'));
  put_record (out, rt_libname, dt_ascii, "MINILAYOUT");
  put_record (out, rt_textlen, dt_int4, int4 ((unsigned long) text.size ()));
  for (size_t pos = 0; pos < text.size (); pos += max_chunk) {
    std::string chunk = text.substr (pos, max_chunk);
    if (chunk.size () % 2 != 0) {
      chunk += '\0';
    }
    put_record (out, rt_string, dt_ascii, chunk);
  }
  put_record (out, rt_endlib, dt_none, std::string ());

  FILE *fp = fopen (path.c_str (), "wb");
  if (! fp) {
    throw tl::Exception ("GDS2 writer: cannot open file for writing: " + path);
  }
  bool ok = fwrite (out.data (), 1, out.size (), fp) == out.size ();
  ok = (fclose (fp) == 0) && ok;
  if (! ok) {
    throw tl::Exception ("GDS2 writer: write error: " + path);
  }
}

std::string read (const std::string &path)
{
  FILE *fp = fopen (path.c_str (), "rb");
  if (! fp) {
    throw tl::Exception ("GDS2 reader: cannot open file for reading: " + path);
  }
  std::string data;
  char buf [8192];
  size_t n;
  while ((n = fread (buf, 1, sizeof (buf), fp)) > 0) {
    data.append (buf, n);
  }
  fclose (fp);

  std::string text;
  unsigned long text_len = 0;
  bool have_len = false, have_header = false;
  size_t pos = 0;
  while (true) {
    if (pos + 4 > data.size ()) {
      throw tl::Exception ("GDS2 reader: unexpected end of file (no ENDLIB): " + path);
    }
    size_t len = (size_t ((unsigned char) data [pos]) << 8) | size_t ((unsigned char) data [pos + 1]);
    unsigned char rt = (unsigned char) data [pos + 2];
    if (len < 4 || pos + len > data.size ()) {
      throw tl::Exception ("GDS2 reader: invalid record length: " + path);
    }
    std::string payload = data.substr (pos + 4, len - 4);
    pos += len;

    if (! have_header) {
      if (rt != rt_header) {
        throw tl::Exception ("GDS2 reader: file does not start with a HEADER record: " + path);
      }
      have_header = true;
    } else if (rt == rt_textlen && payload.size () == 4) {
      text_len = 0;
      for (int i = 0; i < 4; ++i) {
        text_len = (text_len << 8) | (unsigned char) payload [i];
      }
      have_len = true;
    } else if (rt == rt_string) {
      text += payload;
    } else if (rt == rt_endlib) {
      break;
    }
  }

  if (! have_len || text.size () < text_len || text.size () > text_len + 1) {
    throw tl::Exception ("GDS2 reader: text records are inconsistent: " + path);
  }
  text.resize (text_len);
  return text;
}

struct Registrar
{
  Registrar ()
  {
    db::StreamFormat f;
    f.name = "GDS2";
    f.detect = &detect;
    f.write = &write;
    f.read = &read;
    db::register_stream_format (f);
  }
};

Registrar s_registrar;

}

//  Instantiates the template-heavy report helpers, as KLayout's units instantiate its
//  containers and stream formatting: a compile cost per unit closer to KLayout's.
#include "tl_report.h"
TL_UNIT_REPORT(dbpi_gds2_report, short, double)
