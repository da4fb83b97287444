#ifndef HDR_db_plugins
#define HDR_db_plugins

#include "db_common.h"
#include <string>
#include <vector>

namespace db
{

//  Loads the plugins once: finds lib_db's own file with dladdr() and dlopen()s
//  every *.so in the "db_plugins" folder beside it (as KLayout's db::init does).
DB_PUBLIC void init ();

//  The folder searched for plugins ("" if lib_db's path could not be determined)
DB_PUBLIC std::string plugin_dir ();
//  The plugin files loaded
DB_PUBLIC std::vector<std::string> loaded_plugins ();
//  Messages of plugins that failed to load
DB_PUBLIC std::vector<std::string> plugin_errors ();

}

#endif
