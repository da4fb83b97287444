#ifndef HDR_db_box
#define HDR_db_box

#include "db_common.h"
#include <string>

namespace db
{

class DB_PUBLIC Box
{
public:
  Box ();
  Box (long long l, long long b, long long r, long long t);

  long long left () const { return m_l; }
  long long bottom () const { return m_b; }
  long long right () const { return m_r; }
  long long top () const { return m_t; }

  bool empty () const;
  long long area () const;
  std::string to_string () const;
  static Box from_string (const std::string &s);

private:
  long long m_l, m_b, m_r, m_t;
};

}

#endif
