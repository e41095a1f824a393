/*
 * A UDP listening socket read with recvmmsg(2) and written with sendmmsg(2),
 * for Node.js.
 *
 * Why: node:dgram makes one recvmsg, one JavaScript call and one sendmsg per
 * datagram, and that per-datagram cost is most of a cache hit's CPU. Here a
 * readable socket is drained in batches of up to BATCH datagrams, straight
 * into memory JavaScript shares (ArrayBuffers), with one JavaScript call per
 * batch; the replies made during that call go out with one sendmmsg.
 *
 * JavaScript side: src/server/udp-batch.ts. Layout of the shared memory, per
 * datagram slot i (0 <= i < BATCH):
 *   packets  bytes [i*SLOT, i*SLOT + length)
 *   meta     int32 [i*META]: length (-1: truncated, drop it), port, family
 *            (4 or 6), the IPv4 address's 4 bytes in network order (0 for
 *            IPv6), length of the address text (IPv6 only)
 *   text     bytes [i*TEXT, ...): an IPv6 address as inet_ntop writes it
 *            (JavaScript formats IPv4 ones itself, once per client: most
 *            datagrams need no text made)
 *   peers    bytes [i*PEER, i*PEER + 28): the sender's sockaddr, which
 *            send() takes back as the destination; on a socket bound to the
 *            wildcard address, bytes [i*PEER + LOCAL, ...) hold a local_t:
 *            the address the datagram was sent to, which send() makes the
 *            reply's source (IP_PKTINFO / IPV6_PKTINFO). Without it the
 *            kernel picks the source by route, and a client that asked
 *            127.0.0.2, or one of a multi-homed host's addresses, gets its
 *            answer from another address and drops it.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>
#include "common.h"

#define BATCH 32
#define SLOT MAX_DATAGRAM
#define META 8
#define TEXT 64
#define PEER 64 /* sizeof(struct sockaddr_in6) rounded up, then a local_t */
#define LOCAL 32
#define CONTROL 128 /* room for both control messages a dual-stack socket gets for an IPv4 datagram */

/* Where a datagram arrived: family 0 (unknown), 4 or 6; the address; the interface. */
typedef struct {
  int32_t family;
  int32_t ifindex;
  unsigned char addr[16];
} local_t;

typedef struct {
  napi_env env;
  int fd;
  int closed;      /* close() ran: no more reads or sends */
  int poll_closed; /* libuv is done with the poll handle */
  int finalized;   /* JavaScript dropped the handle */
  uv_poll_t poll;
  napi_ref callback;
  napi_ref memory[4]; /* packets, meta, text, peers: alive as long as the socket */
  napi_async_context async;
  unsigned char *packets;
  int32_t *meta;
  char *text;
  unsigned char *peers;
  int pktinfo; /* bound to the wildcard address: replies leave from where queries arrived */
  unsigned char control[BATCH][CONTROL];
  unsigned char outcontrol[BATCH][CONTROL];
  struct mmsghdr in[BATCH];
  struct iovec iov[BATCH];
  struct mmsghdr out[BATCH];
  struct iovec outiov[BATCH];
} listener_t;

static void fill_meta(listener_t *l, int i) {
  int32_t *m = l->meta + i * META;
  const struct mmsghdr *h = &l->in[i];
  const struct sockaddr *sa = (const struct sockaddr *)(l->peers + i * PEER);
  char *text = l->text + i * TEXT;
  m[0] = (h->msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)h->msg_len;
  m[4] = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    m[1] = ntohs(s4->sin_port);
    m[2] = 4;
    memcpy(&m[3], &s4->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    m[1] = ntohs(s6->sin6_port);
    m[2] = 6;
    m[3] = 0;
    if (inet_ntop(AF_INET6, &s6->sin6_addr, text, TEXT) != NULL) m[4] = (int32_t)strlen(text);
  } else {
    m[0] = -1;
  }
}

/* The local address of datagram i, from its IP_PKTINFO or IPV6_PKTINFO control message. */
static void fill_local(listener_t *l, int i) {
  local_t *local = (local_t *)(l->peers + i * PEER + LOCAL);
  struct msghdr *h = &l->in[i].msg_hdr;
  memset(local, 0, sizeof *local);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      local->family = 4;
      local->ifindex = pi.ipi_ifindex;
      memcpy(local->addr, &pi.ipi_addr, 4);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && local->family == 0) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      local->family = 6;
      local->ifindex = (int32_t)pi.ipi6_ifindex;
      memcpy(local->addr, &pi.ipi6_addr, 16);
    }
  }
}

/* The control message that makes a reply leave from `local` (0 when there is none). */
static size_t source_control(unsigned char *control, const local_t *local) {
  struct msghdr h;
  memset(&h, 0, sizeof h);
  h.msg_control = control;
  h.msg_controllen = CONTROL;
  struct cmsghdr *c = CMSG_FIRSTHDR(&h);
  if (local->family == 4) {
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    memcpy(&pi.ipi_spec_dst, local->addr, 4);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return CMSG_SPACE(sizeof pi);
  }
  if (local->family == 6) {
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    memcpy(&pi.ipi6_addr, local->addr, 16);
    pi.ipi6_ifindex = (unsigned)local->ifindex;
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return CMSG_SPACE(sizeof pi);
  }
  return 0;
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  listener_t *l = poll->data;
  (void)events;
  if (status < 0) return;
  for (int round = 0; round < ROUNDS && !l->closed; round++) {
    for (int i = 0; i < BATCH; i++) {
      l->in[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
      l->in[i].msg_hdr.msg_flags = 0;
      if (l->pktinfo) l->in[i].msg_hdr.msg_controllen = CONTROL;
    }
    int n = recvmmsg(l->fd, l->in, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return; /* EAGAIN, or an error the next datagram does not have */
    for (int i = 0; i < n; i++) {
      fill_meta(l, i);
      if (l->pktinfo) fill_local(l, i);
    }
    call_js(l->env, l->async, l->callback, n);
    if (n < BATCH) return;
  }
}

static listener_t *listener_of(napi_env env, napi_value value) {
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external || napi_get_value_external(env, value, &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "udpbatch: expected a socket handle");
    return NULL;
  }
  return data;
}

static napi_value new_arraybuffer(napi_env env, listener_t *l, int k, size_t size, void **data) {
  napi_value ab;
  if (napi_create_arraybuffer(env, size, data, &ab) != napi_ok || napi_create_reference(env, ab, 1, &l->memory[k]) != napi_ok) return NULL;
  return ab;
}

/* The memory goes when both libuv and JavaScript are done with it. */
static void on_closed(uv_handle_t *handle) {
  listener_t *l = handle->data;
  l->poll_closed = 1;
  if (l->finalized) free(l);
}

static void stop(napi_env env, listener_t *l) {
  if (l->closed) return;
  l->closed = 1;
  uv_poll_stop(&l->poll);
  close(l->fd);
  napi_delete_reference(env, l->callback);
  for (int k = 0; k < 4; k++) napi_delete_reference(env, l->memory[k]);
  napi_async_destroy(env, l->async);
  uv_close((uv_handle_t *)&l->poll, on_closed);
}

static void finalize(napi_env env, void *data, void *hint) {
  listener_t *l = data;
  (void)hint;
  stop(env, l);
  l->finalized = 1;
  if (l->poll_closed) free(l);
}

/*
 * open(family 4|6, address, port, receiveBuffer, reusePort, onBatch(count)) →
 * { handle, packets, meta, text, peers, batch, slot, metaWords, textBytes, peerBytes, port }.
 * Throws an Error with errno and syscall if the socket cannot be made or bound.
 */
static napi_value open_js(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], result, value, ab[4];
  int32_t family, port, rcvbuf;
  bool reuseport;
  char address[INET6_ADDRSTRLEN];
  size_t length;
  struct sockaddr_storage ss;
  socklen_t sslen;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 6 || napi_get_value_int32(env, argv[0], &family) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], address, sizeof address, &length) != napi_ok ||
      napi_get_value_int32(env, argv[2], &port) != napi_ok || napi_get_value_int32(env, argv[3], &rcvbuf) != napi_ok ||
      napi_get_value_bool(env, argv[4], &reuseport) != napi_ok) {
    napi_throw_type_error(env, NULL, "udpbatch.open: expected (family, address, port, receiveBuffer, reusePort, onBatch)");
    return NULL;
  }
  sslen = make_sockaddr(&ss, family, address, port);
  if (sslen == 0) return throw_errno(env, "inet_pton", EINVAL);

  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd == -1) return throw_errno(env, "socket", errno);
  if (family == 6) {
    int off = 0; /* as dgram's ipv6Only: false - IPv4 clients too on :: */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  /*
   * WORKERS processes each bind the port and the kernel spreads datagrams
   * over them by a hash of the sender. Linux admits to the group only sockets
   * of the same effective user, so another user cannot take a share.
   */
  if (reuseport) {
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == -1) {
      int err = errno;
      close(fd);
      return throw_errno(env, "setsockopt SO_REUSEPORT", err);
    }
  }
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); /* the kernel may cap it */
  /* The wildcard address: each datagram's local address is asked for, to answer from it. */
  int wildcard = ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY)
                                         : IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
  if (wildcard) {
    int on = 1;
    /* IPv4 datagrams on a dual-stack :: socket come with IP_PKTINFO too. */
    if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == -1 ||
        (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) == -1)) {
      int err = errno;
      close(fd);
      return throw_errno(env, "setsockopt PKTINFO", err);
    }
  }
  if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }

  listener_t *l = calloc(1, sizeof *l);
  if (l == NULL) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  l->env = env;
  l->fd = fd;
  l->pktinfo = wildcard;
  void *data[4];
  const size_t sizes[4] = {(size_t)BATCH * SLOT, BATCH * META * sizeof(int32_t), BATCH * TEXT, BATCH * PEER};
  for (int k = 0; k < 4; k++) {
    ab[k] = new_arraybuffer(env, l, k, sizes[k], &data[k]);
    if (ab[k] == NULL) {
      for (int j = 0; j < k; j++) napi_delete_reference(env, l->memory[j]);
      close(fd);
      free(l);
      return NULL;
    }
  }
  l->packets = data[0];
  l->meta = data[1];
  l->text = data[2];
  l->peers = data[3];
  for (int i = 0; i < BATCH; i++) {
    l->iov[i].iov_base = l->packets + (size_t)i * SLOT;
    l->iov[i].iov_len = SLOT;
    l->in[i].msg_hdr.msg_iov = &l->iov[i];
    l->in[i].msg_hdr.msg_iovlen = 1;
    l->in[i].msg_hdr.msg_name = l->peers + i * PEER;
    if (l->pktinfo) l->in[i].msg_hdr.msg_control = l->control[i];
  }

  napi_value resource, name;
  uv_loop_t *loop;
  int rc = 0, ready = 0;
  if (napi_create_reference(env, argv[5], 1, &l->callback) == napi_ok && napi_create_object(env, &resource) == napi_ok &&
      napi_create_string_utf8(env, "UDPBATCH", NAPI_AUTO_LENGTH, &name) == napi_ok &&
      napi_async_init(env, resource, name, &l->async) == napi_ok && napi_get_uv_event_loop(env, &loop) == napi_ok) {
    ready = 1;
    rc = uv_poll_init(loop, &l->poll, fd);
    if (rc == 0) {
      l->poll.data = l;
      rc = uv_poll_start(&l->poll, UV_READABLE, on_readable);
      if (rc != 0) {
        /* Initialised: libuv must let go of the handle before the memory goes. */
        l->finalized = 1;
        stop(env, l);
        return throw_errno(env, "uv_poll_start", -rc);
      }
    }
  }
  if (!ready || rc != 0) {
    if (l->callback != NULL) napi_delete_reference(env, l->callback);
    if (l->async != NULL) napi_async_destroy(env, l->async);
    for (int k = 0; k < 4; k++) napi_delete_reference(env, l->memory[k]);
    close(fd);
    free(l);
    return ready ? throw_errno(env, "uv_poll_init", -rc) : NULL;
  }

  if (napi_create_object(env, &result) != napi_ok || napi_create_external(env, l, finalize, NULL, &value) != napi_ok ||
      napi_set_named_property(env, result, "handle", value) != napi_ok)
    return NULL;
  const char *names[4] = {"packets", "meta", "text", "peers"};
  for (int k = 0; k < 4; k++)
    if (napi_set_named_property(env, result, names[k], ab[k]) != napi_ok) return NULL;
  /* The port bound, which port 0 leaves to the kernel. */
  sslen = sizeof ss;
  int bound = getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0
                  ? ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port)
                  : port;
  const char *consts[6] = {"batch", "slot", "metaWords", "textBytes", "peerBytes", "port"};
  const int32_t values[6] = {BATCH, SLOT, META, TEXT, PEER, bound};
  for (int k = 0; k < 6; k++)
    if (napi_create_int32(env, values[k], &value) != napi_ok || napi_set_named_property(env, result, consts[k], value) != napi_ok) return NULL;
  return result;
}

/*
 * send(handle, datagrams: Buffer[], peers: Buffer[], count): sends datagrams[i]
 * to the sockaddr in peers[i] (a slot of the peers memory, or a copy of
 * one), for i < count (at most BATCH), with sendmmsg. A datagram the kernel
 * refuses is skipped, as a lost datagram would be; returns how many went out.
 */
static napi_value send_js(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], element, result;
  int32_t count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  listener_t *l = argc == 4 ? listener_of(env, argv[0]) : NULL;
  if (l == NULL) return NULL;
  if (napi_get_value_int32(env, argv[3], &count) != napi_ok || count < 0 || count > BATCH) {
    napi_throw_range_error(env, NULL, "udpbatch.send: count must be 0..batch");
    return NULL;
  }
  int sent = 0;
  if (!l->closed && count > 0) {
    for (int i = 0; i < count; i++) {
      void *data;
      size_t length;
      void *peer;
      size_t peerLength;
      if (napi_get_element(env, argv[1], i, &element) != napi_ok || napi_get_buffer_info(env, element, &data, &length) != napi_ok ||
          napi_get_element(env, argv[2], i, &element) != napi_ok || napi_get_buffer_info(env, element, &peer, &peerLength) != napi_ok ||
          peerLength < sizeof(struct sockaddr_in)) {
        napi_throw_type_error(env, NULL, "udpbatch.send: expected Buffers of datagrams and of peers");
        return NULL;
      }
      const struct sockaddr *sa = peer;
      l->outiov[i].iov_base = data;
      l->outiov[i].iov_len = length;
      memset(&l->out[i], 0, sizeof l->out[i]);
      l->out[i].msg_hdr.msg_iov = &l->outiov[i];
      l->out[i].msg_hdr.msg_iovlen = 1;
      l->out[i].msg_hdr.msg_name = peer;
      l->out[i].msg_hdr.msg_namelen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
      if (l->pktinfo && peerLength >= LOCAL + sizeof(local_t)) {
        size_t length = source_control(l->outcontrol[i], (const local_t *)((const unsigned char *)peer + LOCAL));
        if (length > 0) {
          l->out[i].msg_hdr.msg_control = l->outcontrol[i];
          l->out[i].msg_hdr.msg_controllen = length;
        }
      }
    }
    for (int i = 0; i < count;) {
      int n = sendmmsg(l->fd, l->out + i, count - i, 0);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        i++; /* this one could not go: skip it, send the rest */
      } else {
        i += n;
        sent += n;
      }
    }
  }
  if (napi_create_int32(env, sent, &result) != napi_ok) return NULL;
  return result;
}

/* close(handle): stops reading and closes the socket; later calls do nothing. */
static napi_value close_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  listener_t *l = argc == 1 ? listener_of(env, argv[0]) : NULL;
  if (l == NULL) return NULL;
  stop(env, l);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  static const export_t fns[] = {{"open", open_js}, {"send", send_js}, {"close", close_js}};
  if (export_functions(env, exports, fns, sizeof fns / sizeof fns[0]) == NULL) return NULL;
  return upstream_exports(env, exports);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
