/*
 * Experiment (bench only): a relay of two connected TCP sockets in C on the Node.js event loop,
 * to measure what a proxy written in Node.js spends per new connection when every read and write
 * after the decision leaves JavaScript.
 *
 * relay(fdA, fdB, done): the two descriptors are duplicated (the caller closes its handles at
 * once); bytes are relayed both ways with uv_poll on the duplicates, read into one shared
 * buffer and written at once; what a write leaves is kept for that direction alone and its
 * source is not read until it is written (backpressure). A FIN read is passed on with
 * shutdown(SHUT_WR) once the direction is flushed (half-close). When both directions are shut,
 * or on an error, both are closed and done(bytesAtoB, bytesBtoA, errno) runs once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BUF_SIZE 65536
static char shared_buf[BUF_SIZE];

typedef struct relay_s relay_t;

typedef struct {
  /* Bytes read from the other side and not yet written to this one. */
  char *pending;
  size_t pending_len;
  size_t pending_off;
  /* Bytes written to this side. */
  uint64_t bytes;
  /* The other side's FIN was read; shut: this side's SHUT_WR was done. */
  int eof_in;
  int shut;
} dir_t;

typedef struct {
  uv_poll_t poll;
  int fd;
  relay_t *relay;
  int index;
  int events;
  int closed;
} side_t;

struct relay_s {
  side_t side[2];
  /* dir[i]: what goes to side i. */
  dir_t dir[2];
  napi_env env;
  napi_ref done;
  int error;
  int finishing;
  int open_polls;
};

static void on_poll(uv_poll_t *h, int status, int events);

static void update(side_t *s) {
  relay_t *r = s->relay;
  int other = 1 - s->index;
  int want = 0;
  /* Read this side while what it sends is flushed and its FIN was not read. */
  if (!r->dir[other].eof_in && r->dir[other].pending == NULL) want |= UV_READABLE;
  if (r->dir[s->index].pending != NULL) want |= UV_WRITABLE;
  if (want == s->events) return;
  s->events = want;
  if (want == 0) uv_poll_stop(&s->poll);
  else uv_poll_start(&s->poll, want, on_poll);
}

static void after_close(uv_handle_t *h) {
  side_t *s = (side_t *)h->data;
  relay_t *r = s->relay;
  close(s->fd);
  if (--r->open_polls > 0) return;
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, global, argv[3], result;
  napi_get_reference_value(env, r->done, &cb);
  napi_get_global(env, &global);
  napi_create_double(env, (double)r->dir[1].bytes, &argv[0]);
  napi_create_double(env, (double)r->dir[0].bytes, &argv[1]);
  napi_create_int32(env, r->error, &argv[2]);
  napi_delete_reference(env, r->done);
  free(r->dir[0].pending);
  free(r->dir[1].pending);
  free(r);
  napi_call_function(env, global, cb, 3, argv, &result);
  napi_close_handle_scope(env, scope);
}

static void finish(relay_t *r, int error) {
  if (r->finishing) return;
  r->finishing = 1;
  r->error = error;
  for (int i = 0; i < 2; i++) {
    uv_poll_stop(&r->side[i].poll);
    uv_close((uv_handle_t *)&r->side[i].poll, after_close);
  }
}

static void maybe_done(relay_t *r) {
  if (r->dir[0].shut && r->dir[1].shut) finish(r, 0);
}

/* Flush what is pending to side i; 0 when flushed or still pending, -errno on an error. */
static int flush(relay_t *r, int i) {
  dir_t *d = &r->dir[i];
  while (d->pending != NULL) {
    ssize_t n = send(r->side[i].fd, d->pending + d->pending_off, d->pending_len - d->pending_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return 0;
      return -errno;
    }
    d->bytes += (uint64_t)n;
    d->pending_off += (size_t)n;
    if (d->pending_off == d->pending_len) {
      free(d->pending);
      d->pending = NULL;
    }
  }
  if (d->eof_in && !d->shut) {
    d->shut = 1;
    if (shutdown(r->side[i].fd, SHUT_WR) < 0 && errno != ENOTCONN) return -errno;
  }
  return 0;
}

/* Read side `from` and write to the other side. */
static int pump(relay_t *r, int from) {
  int to = 1 - from;
  dir_t *d = &r->dir[to];
  ssize_t n = recv(r->side[from].fd, shared_buf, BUF_SIZE, 0);
  if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
  if (n == 0) {
    d->eof_in = 1;
    return flush(r, to);
  }
  ssize_t w = send(r->side[to].fd, shared_buf, (size_t)n, MSG_NOSIGNAL);
  if (w < 0) {
    if (errno != EAGAIN && errno != EINTR) return -errno;
    w = 0;
  }
  d->bytes += (uint64_t)w;
  if (w < n) {
    size_t left = (size_t)(n - w);
    d->pending = malloc(left);
    if (d->pending == NULL) return -ENOMEM;
    memcpy(d->pending, shared_buf + w, left);
    d->pending_len = left;
    d->pending_off = 0;
  }
  return 0;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  side_t *s = (side_t *)h->data;
  relay_t *r = s->relay;
  if (r->finishing) return;
  if (status < 0) {
    finish(r, status);
    return;
  }
  int err = 0;
  if (events & UV_WRITABLE) err = flush(r, s->index);
  if (err == 0 && (events & UV_READABLE) && r->dir[1 - s->index].pending == NULL && !r->dir[1 - s->index].eof_in) err = pump(r, s->index);
  if (err < 0) {
    finish(r, err);
    return;
  }
  update(&r->side[0]);
  update(&r->side[1]);
  maybe_done(r);
}

static napi_value relay(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fds[2];
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok || napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok) {
    napi_throw_type_error(env, NULL, "relay(fdA, fdB, done)");
    return NULL;
  }
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  relay_t *r = calloc(1, sizeof(relay_t));
  if (r == NULL) {
    napi_throw_error(env, NULL, "relay: out of memory");
    return NULL;
  }
  r->env = env;
  napi_create_reference(env, argv[2], 1, &r->done);
  for (int i = 0; i < 2; i++) {
    side_t *s = &r->side[i];
    s->fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
    s->relay = r;
    s->index = i;
    s->poll.data = s;
    uv_poll_init(loop, &s->poll, s->fd);
    r->open_polls++;
  }
  update(&r->side[0]);
  update(&r->side[1]);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "relay", NAPI_AUTO_LENGTH, relay, NULL, &fn);
  napi_set_named_property(env, exports, "relay", fn);
  return exports;
}
