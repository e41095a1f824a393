/*
 * chroot(path) for Node.js, as dnscache's droproot does it:
 * chdir(path); chroot("."); chdir("/").
 * Node has setuid/setgid/setgroups but no chroot. Throws an Error with the
 * failing call in `syscall`, errno in `errno` and strerror text in the message.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <node_api.h>
#include "common.h"

static napi_value chroot_js(napi_env env, napi_callback_info info) {
  size_t argc = 1, length = 0;
  napi_value argv[1];
  napi_valuetype type;
  char path[PATH_MAX];

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_string) {
    napi_throw_type_error(env, NULL, "chroot: expected a path (string)");
    return NULL;
  }
  /* Length first: napi_get_value_string_utf8 would silently truncate. */
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &length) != napi_ok) return NULL;
  if (length == 0 || length >= sizeof path) return throw_errno(env, "chroot", length == 0 ? ENOENT : ENAMETOOLONG);
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &length) != napi_ok) return NULL;
  if (strlen(path) != length) return throw_errno(env, "chroot", EINVAL); /* embedded NUL */

  if (chdir(path) == -1) return throw_errno(env, "chdir", errno);
  if (chroot(".") == -1) return throw_errno(env, "chroot", errno);
  if (chdir("/") == -1) return throw_errno(env, "chdir", errno);
  return NULL; /* undefined */
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "chroot", NAPI_AUTO_LENGTH, chroot_js, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "chroot", fn) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
