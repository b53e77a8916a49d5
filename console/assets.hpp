// The web console's files (console/*.html, *.js, *.css), embedded at build
// time by console/build_console.py; `api` serves them under /ui/
// (docs/console.md). Data only: no logic here.
#pragma once
#include <cstddef>
#include <string_view>

namespace fc::console {

struct Asset {
  std::string_view name;          // file name, e.g. "app.js" (served as /ui/app.js)
  std::string_view body;          // the bytes
  std::string_view etag;          // quoted strong ETag (SHA-256 prefix of body)
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
};

extern const Asset kAssets[];
extern const std::size_t kAssetCount;

}  // namespace fc::console
