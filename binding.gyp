{
  "targets": [
    {
      "target_name": "safer_ring",
      "sources": [
        "native/addon.cc",
        "native/ring.cc",
        "native/sqe.cc",
        "native/sockets.cc",
        "native/fileops.cc",
        "native/buffer-ring.cc",
        "native/read-result.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/liburing.js include <(target_arch))"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "libraries": ["<!@(node scripts/liburing.js libs <(target_arch))"]
    }
  ]
}
