#include "db_plugins.h"
#include "tl_string.h"

#include <dlfcn.h>
#include <dirent.h>

namespace db
{

static bool s_initialized = false;
static std::string s_plugin_dir;
static std::vector<std::string> s_loaded;
static std::vector<std::string> s_errors;

static std::string own_dir ()
{
  Dl_info info;
  if (dladdr ((void *) &db::init, &info) == 0 || ! info.dli_fname) {
    return std::string ();
  }
  std::string path (info.dli_fname);
  std::string::size_type slash = path.rfind ('/');
  return slash == std::string::npos ? std::string (".") : path.substr (0, slash);
}

void init ()
{
  if (s_initialized) {
    return;
  }
  s_initialized = true;

  std::string dir = own_dir ();
  if (dir.empty ()) {
    s_errors.push_back ("cannot determine the path of lib_db (dladdr failed)");
    return;
  }
  s_plugin_dir = dir + "/db_plugins";

  DIR *d = opendir (s_plugin_dir.c_str ());
  if (! d) {
    s_errors.push_back ("no plugin folder: " + s_plugin_dir);
    return;
  }
  std::vector<std::string> files;
  for (struct dirent *e = readdir (d); e; e = readdir (d)) {
    std::string name (e->d_name);
    if (tl::ends_with (name, ".so")) {
      //  insertion sort: plugins load in a stable order
      std::vector<std::string>::iterator pos = files.begin ();
      while (pos != files.end () && *pos < name) {
        ++pos;
      }
      files.insert (pos, name);
    }
  }
  closedir (d);

  for (std::vector<std::string>::const_iterator n = files.begin (); n != files.end (); ++n) {
    std::string f = s_plugin_dir + "/" + *n;
    //  the plugin's static initializers register its formats with lib_db
    void *handle = dlopen (f.c_str (), RTLD_NOW | RTLD_LOCAL);
    if (handle) {
      s_loaded.push_back (f);
    } else {
      const char *err = dlerror ();
      s_errors.push_back (err ? std::string (err) : ("cannot load " + f));
    }
  }
}

std::string plugin_dir ()
{
  return s_plugin_dir;
}

std::vector<std::string> loaded_plugins ()
{
  return s_loaded;
}

std::vector<std::string> plugin_errors ()
{
  return s_errors;
}

}

//  Instantiates the template-heavy report helpers, as KLayout's units instantiate its
//  containers and stream formatting: a compile cost per unit closer to KLayout's.
#include "tl_report.h"
TL_UNIT_REPORT(db_plugins_report, std::string, long)
