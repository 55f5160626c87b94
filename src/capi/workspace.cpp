#include "capi/capi_internal.hpp"
#include "capi/handles.hpp"

using namespace cdpcore;

extern "C" {

CDP_DEFINE_OPTIONS_INIT(cdp_workspace_options, CDP_WORKSPACE_OPTIONS)

cdp_status cdp_workspace_open(cdp_workspace** out, const char* path, size_t path_len,
                              const cdp_workspace_options* opts) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  WorkspaceOptions o;
  if (opts) {
    capi::check_struct_version(opts->version, CDP_WORKSPACE_OPTIONS_VERSION, "cdp_workspace_options");
    o.read_only = opts->read_only != 0;
    o.create = opts->create != 0;
    o.busy_timeout_ms = opts->busy_timeout_ms;
    if (opts->time_zone) o.time_zone = std::string(capi::arg_cstring(opts->time_zone, "time_zone"));
  }
  auto ws = Workspace::open(capi::arg_string(path, path_len, "path"), o);
  *out = new cdp_workspace{std::move(ws), {}};
  CDP_API_END()
}

void cdp_workspace_close(cdp_workspace* ws) { delete ws; }

const char* cdp_workspace_path(const cdp_workspace* ws) { return ws ? ws->ws->path().c_str() : ""; }

cdp_status cdp_workspace_schema_version(const cdp_workspace* ws, const char* component, size_t component_len,
                                        int32_t* out_version) {
  CDP_API_BEGIN()
  capi::arg_not_null(ws, "ws");
  capi::arg_not_null(out_version, "out_version");
  *out_version = ws->ws->schema_version(capi::arg_string(component, component_len, "component"));
  CDP_API_END()
}

const char* cdp_workspace_time_zone(const cdp_workspace* ws) {
  return ws ? ws->ws->time_zone().name().c_str() : "";
}

}  // extern "C"
