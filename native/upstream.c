/*
 * Upstream UDP tries without node:dgram: per try one socket bound to the
 * random port JavaScript picked and connected to the server (dnscache's
 * rule, spec §5.5), made, bound, connected and sent from in one call; every
 * such socket sits in one epoll set, which libuv polls as a single handle;
 * datagrams that arrive are read into memory shared with JavaScript and
 * handed over with one call per batch.
 *
 * Why: a dgram socket per try is a JavaScript object with an event emitter,
 * a libuv handle with its own poll registration, a send request object, and
 * a JavaScript call per datagram; by a CPU profile of cold misses, making,
 * binding, sending on and closing it was about a third of a miss's time.
 *
 * JavaScript side: src/transport/udp.ts. Shared memory, per record i
 * (0 <= i < BATCH):
 *   packets  bytes [i*SLOT, i*SLOT + length)
 *   meta     int32 [i*2]: the try's id, then the datagram's length, or
 *            -errno when reading failed (ECONNREFUSED: ICMP unreachable)
 * An id is a table slot (low 20 bits) and a generation (the 11 bits above),
 * so a record for a closed try cannot be taken for a later one in its slot.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>
#include "common.h"

#define BATCH 32
#define SLOT MAX_DATAGRAM
#define SLOT_BITS 20
#define SLOT_MASK ((1 << SLOT_BITS) - 1)
#define GEN_MASK 0x7ff

typedef struct {
  napi_env env;
  int epfd;
  uv_poll_t poll;
  napi_ref callback;
  napi_ref memory[2];
  napi_async_context async;
  unsigned char *packets;
  int32_t *meta;
  /* Per slot: its socket (-1: free) and the generation of its current id. */
  int *fds;
  uint16_t *gens;
  int *free_slots;
  int free_count;
  int capacity;
} upstream_t;

/* One per process (the addon is loaded once, by the main thread). */
static upstream_t *up;

static int grow(upstream_t *u) {
  int capacity = u->capacity ? u->capacity * 2 : 1024;
  if (capacity > SLOT_MASK + 1) return -1;
  int *fds = realloc(u->fds, capacity * sizeof *fds);
  if (fds == NULL) return -1;
  u->fds = fds;
  uint16_t *gens = realloc(u->gens, capacity * sizeof *gens);
  if (gens == NULL) return -1;
  u->gens = gens;
  int *free_slots = realloc(u->free_slots, capacity * sizeof *free_slots);
  if (free_slots == NULL) return -1;
  u->free_slots = free_slots;
  for (int i = capacity - 1; i >= u->capacity; i--) {
    u->fds[i] = -1;
    u->gens[i] = 0;
    u->free_slots[u->free_count++] = i;
  }
  u->capacity = capacity;
  return 0;
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  upstream_t *u = poll->data;
  struct epoll_event ready[BATCH];
  (void)events;
  if (status < 0) return;
  for (int round = 0; round < ROUNDS; round++) {
    int n = epoll_wait(u->epfd, ready, BATCH, 0);
    if (n <= 0) return;
    /* One datagram per ready socket per round: a socket with more stays ready (level-triggered). */
    int count = 0;
    for (int i = 0; i < n; i++) {
      int32_t id = (int32_t)ready[i].data.u32;
      int slot = id & SLOT_MASK;
      if (slot >= u->capacity || u->fds[slot] < 0 || u->gens[slot] != (((uint32_t)id >> SLOT_BITS) & GEN_MASK)) continue;
      ssize_t r = recv(u->fds[slot], u->packets + (size_t)count * SLOT, SLOT, MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      u->meta[count * 2] = id;
      u->meta[count * 2 + 1] = r < 0 ? -errno : (int32_t)r;
      count++;
    }
    if (count > 0) call_js(u->env, u->async, u->callback, count);
    if (n < BATCH) return;
  }
}

/* upstreamInit(onReplies(count)) → { packets, meta, batch, slot }. */
static napi_value init_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, value, ab[2];
  void *data[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (up != NULL) {
    napi_throw_error(env, NULL, "udpbatch.upstreamInit: already initialised");
    return NULL;
  }
  upstream_t *u = calloc(1, sizeof *u);
  if (u == NULL) return throw_errno(env, "calloc", ENOMEM);
  u->env = env;
  u->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (u->epfd == -1) {
    int err = errno;
    free(u);
    return throw_errno(env, "epoll_create1", err);
  }
  const size_t sizes[2] = {(size_t)BATCH * SLOT, BATCH * 2 * sizeof(int32_t)};
  for (int k = 0; k < 2; k++)
    if (napi_create_arraybuffer(env, sizes[k], &data[k], &ab[k]) != napi_ok || napi_create_reference(env, ab[k], 1, &u->memory[k]) != napi_ok)
      return NULL;
  u->packets = data[0];
  u->meta = data[1];
  napi_value resource, name;
  uv_loop_t *loop;
  if (napi_create_reference(env, argv[0], 1, &u->callback) != napi_ok || napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, "UDPUPSTREAM", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, resource, name, &u->async) != napi_ok || napi_get_uv_event_loop(env, &loop) != napi_ok)
    return NULL;
  int rc = uv_poll_init(loop, &u->poll, u->epfd);
  if (rc == 0) {
    u->poll.data = u;
    rc = uv_poll_start(&u->poll, UV_READABLE, on_readable);
  }
  if (rc != 0) return throw_errno(env, "uv_poll", -rc);
  /* The epoll set alone must not keep the process alive: the tries' timers do while they last. */
  uv_unref((uv_handle_t *)&u->poll);
  up = u;

  if (napi_create_object(env, &result) != napi_ok || napi_set_named_property(env, result, "packets", ab[0]) != napi_ok ||
      napi_set_named_property(env, result, "meta", ab[1]) != napi_ok)
    return NULL;
  if (napi_create_int32(env, BATCH, &value) != napi_ok || napi_set_named_property(env, result, "batch", value) != napi_ok ||
      napi_create_int32(env, SLOT, &value) != napi_ok || napi_set_named_property(env, result, "slot", value) != napi_ok)
    return NULL;
  return result;
}

/*
 * upstreamSend(family, fromAddress, fromPort, toAddress, toPort, query) → id:
 * a socket bound to fromAddress:fromPort (0: the kernel's choice),
 * connected to toAddress:toPort, with `query` sent. Throws an Error with
 * errno and syscall (bind's EADDRINUSE: pick another port).
 */
static napi_value send_js(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], result;
  int32_t family, from_port, to_port;
  char from[INET6_ADDRSTRLEN], to[INET6_ADDRSTRLEN];
  size_t length;
  void *query;
  size_t query_length;
  struct sockaddr_storage from_ss, to_ss;
  socklen_t from_len, to_len;

  if (up == NULL) {
    napi_throw_error(env, NULL, "udpbatch.upstreamSend: call upstreamInit first");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 6 || napi_get_value_int32(env, argv[0], &family) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], from, sizeof from, &length) != napi_ok ||
      napi_get_value_int32(env, argv[2], &from_port) != napi_ok ||
      napi_get_value_string_utf8(env, argv[3], to, sizeof to, &length) != napi_ok ||
      napi_get_value_int32(env, argv[4], &to_port) != napi_ok || napi_get_buffer_info(env, argv[5], &query, &query_length) != napi_ok) {
    napi_throw_type_error(env, NULL, "udpbatch.upstreamSend: expected (family, fromAddress, fromPort, toAddress, toPort, query)");
    return NULL;
  }
  from_len = make_sockaddr(&from_ss, family, from, from_port);
  to_len = make_sockaddr(&to_ss, family, to, to_port);
  if (from_len == 0 || to_len == 0) return throw_errno(env, "inet_pton", EINVAL);
  if (up->free_count == 0 && grow(up) != 0) return throw_errno(env, "socket", EMFILE);

  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd == -1) return throw_errno(env, "socket", errno);
  const char *failed = NULL;
  if (bind(fd, (struct sockaddr *)&from_ss, from_len) == -1) failed = "bind";
  else if (connect(fd, (struct sockaddr *)&to_ss, to_len) == -1) failed = "connect";
  else if (send(fd, query, query_length, 0) == -1) failed = "send";
  int slot = failed ? -1 : up->free_slots[--up->free_count];
  int32_t id = 0;
  if (!failed) {
    up->gens[slot] = (up->gens[slot] + 1) & GEN_MASK;
    id = (int32_t)((uint32_t)up->gens[slot] << SLOT_BITS | (uint32_t)slot);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)id};
    if (epoll_ctl(up->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
      failed = "epoll_ctl";
      up->free_slots[up->free_count++] = slot;
    }
  }
  if (failed) {
    int err = errno;
    close(fd);
    return throw_errno(env, failed, err);
  }
  up->fds[slot] = fd;
  if (napi_create_int32(env, id, &result) != napi_ok) return NULL;
  return result;
}

/* upstreamClose(id): closes the try's socket (which leaves the epoll set with it); a stale id does nothing. */
static napi_value close_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t id;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (up == NULL || argc != 1 || napi_get_value_int32(env, argv[0], &id) != napi_ok) return NULL;
  int slot = id & SLOT_MASK;
  if (slot >= up->capacity || up->fds[slot] < 0 || up->gens[slot] != (((uint32_t)id >> SLOT_BITS) & GEN_MASK)) return NULL;
  close(up->fds[slot]);
  up->fds[slot] = -1;
  up->free_slots[up->free_count++] = slot;
  return NULL;
}

napi_value upstream_exports(napi_env env, napi_value exports) {
  static const export_t fns[] = {{"upstreamInit", init_js}, {"upstreamSend", send_js}, {"upstreamClose", close_js}};
  return export_functions(env, exports, fns, sizeof fns / sizeof fns[0]);
}
