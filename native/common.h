/* Helpers shared by the addon's C files. */
#ifndef DNSCACHE_NATIVE_COMMON_H
#define DNSCACHE_NATIVE_COMMON_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* A datagram slot: the largest UDP payload fits, so nothing is cut short. */
#define MAX_DATAGRAM 65536
/* Batches read per readiness event, before the rest of the loop gets a turn. */
#define ROUNDS 4

/* Throws Error("<call>: <strerror>") with .errno and .syscall; returns NULL. */
static inline napi_value throw_errno(napi_env env, const char *call, int err) {
  char message[256];
  napi_value msg, error, value;
  snprintf(message, sizeof message, "%s: %s", call, strerror(err));
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, NULL, msg, &error) != napi_ok) {
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  if (napi_create_int32(env, err, &value) == napi_ok) napi_set_named_property(env, error, "errno", value);
  if (napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &value) == napi_ok)
    napi_set_named_property(env, error, "syscall", value);
  napi_throw(env, error);
  return NULL;
}

/*
 * Calls `callback(count)` from a libuv callback, as node::MakeCallback does
 * (so promises and nextTicks queued by it run before control returns to
 * libuv); an exception there becomes the process's uncaught exception.
 */
static inline void call_js(napi_env env, napi_async_context async, napi_ref callback, int count) {
  napi_handle_scope scope;
  napi_value cb, recv, arg, result; /* MakeCallback wants an object as `this` */
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, callback, &cb) == napi_ok && cb != NULL && napi_get_global(env, &recv) == napi_ok &&
      napi_create_int32(env, count, &arg) == napi_ok) {
    if (napi_make_callback(env, async, recv, cb, 1, &arg, &result) == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* Parses an IPv4 (family 4) or IPv6 address and a port into `ss`; returns its length, or 0 if `text` is no such address. */
static inline socklen_t make_sockaddr(struct sockaddr_storage *ss, int family, const char *text, int port) {
  memset(ss, 0, sizeof *ss);
  if (family == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, text, &s4->sin_addr) == 1 ? sizeof *s4 : 0;
  }
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  s6->sin6_family = AF_INET6;
  s6->sin6_port = htons((uint16_t)port);
  return inet_pton(AF_INET6, text, &s6->sin6_addr) == 1 ? sizeof *s6 : 0;
}

typedef struct {
  const char *name;
  napi_callback fn;
} export_t;

/* Sets exports[name] = fn for each of the `count` functions; returns exports, or NULL if one failed. */
static inline napi_value export_functions(napi_env env, napi_value exports, const export_t *fns, size_t count) {
  for (size_t i = 0; i < count; i++) {
    napi_value fn;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, fn) != napi_ok)
      return NULL;
  }
  return exports;
}

/* Adds upstream.c's functions to the addon's exports. */
napi_value upstream_exports(napi_env env, napi_value exports);

#endif
