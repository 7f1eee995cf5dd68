/*
 * Experiment (bench only): the connection's sockets in C, the decisions in JavaScript. What a
 * proxy written in Node.js would spend per new connection if its accept, its reads and writes and
 * its relay ran in C on the Node.js event loop (libuv), and JavaScript saw only a connection's
 * first bytes and gave the verdict.
 *
 * listen(port, onData, onConnected, onClosed): accepts on 127.0.0.1:port. Each connection gets an
 * id; the client's bytes are passed to onData(id, buffer) until JavaScript calls relay(id).
 * connect(id, address, port): dials the origin; onConnected(id, status). write(id, side, buffer):
 * side 0 the client, 1 the origin. relay(id): from now on the bytes go both ways in C, with
 * backpressure and half-close. close(id). onClosed(id, bytesToOrigin, bytesToClient) once.
 * peer(id): the client's address.
 *
 * Built by bench/proxy/load.ts (buildPlane) with cc against the running Node.js's headers; driven
 * by bench/proxy/plane-floor.ts. A measurement, not a product: no idle bounds, no IPv6 dial, ids
 * not checked against reuse, at most 4 listeners.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BUF_SIZE 65536
static char shared_buf[BUF_SIZE];
static int buf_lent;

typedef struct conn_s conn_t;
typedef struct {
  uv_tcp_t tcp;
  conn_t *conn;
  int index;
  int open;
  int eof;      /* its FIN was read */
  int shut;     /* a FIN was sent to it */
  int writing;  /* writes to it in flight */
  uint64_t bytes; /* written to it */
} side_t;

struct conn_s {
  side_t side[2];
  int32_t id;
  int32_t listener;
  int relaying;
  int closing;
  int handles;
  int error;
};

typedef struct {
  uv_write_t req;
  side_t *to;
  char *copy;
} write_t;

static napi_env g_env;
static napi_ref g_on_data, g_on_connected, g_on_closed;
static uv_tcp_t g_servers[4];
static int g_nservers;
static uv_loop_t *g_loop;
static conn_t **g_conns;
static int32_t g_cap, g_next;
static int32_t *g_free;
static int32_t g_free_len;

static void call(napi_ref ref, size_t argc, napi_value *argv) {
  napi_value cb, global, result;
  napi_get_reference_value(g_env, ref, &cb);
  napi_get_global(g_env, &global);
  napi_call_function(g_env, global, cb, argc, argv, &result);
}

static void on_handle_closed(uv_handle_t *h) {
  side_t *s = (side_t *)h->data;
  conn_t *c = s->conn;
  if (--c->handles > 0) return;
  napi_handle_scope scope;
  napi_open_handle_scope(g_env, &scope);
  napi_value argv[3];
  napi_create_int32(g_env, c->id, &argv[0]);
  napi_create_double(g_env, (double)c->side[1].bytes, &argv[1]);
  napi_create_double(g_env, (double)c->side[0].bytes, &argv[2]);
  g_conns[c->id] = NULL;
  g_free[g_free_len++] = c->id;
  free(c);
  call(g_on_closed, 3, argv);
  napi_close_handle_scope(g_env, scope);
}

static void conn_close(conn_t *c) {
  if (c->closing) return;
  c->closing = 1;
  for (int i = 0; i < 2; i++)
    if (c->side[i].open) uv_close((uv_handle_t *)&c->side[i].tcp, on_handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  (void)hint;
  if (buf_lent) {
    buf->base = malloc(BUF_SIZE);
    buf->len = buf->base ? BUF_SIZE : 0;
    return;
  }
  buf_lent = 1;
  buf->base = shared_buf;
  buf->len = BUF_SIZE;
}

static void give_back(const uv_buf_t *buf) {
  if (buf->base == shared_buf) buf_lent = 0;
  else free(buf->base);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  side_t *s = (side_t *)req->data;
  conn_t *c = s->conn;
  free(req);
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (c->side[0].shut && c->side[1].shut && c->side[0].eof && c->side[1].eof) conn_close(c);
}

static void shut(side_t *s) {
  if (s->shut || s->conn->closing) return;
  s->shut = 1;
  uv_shutdown_t *req = malloc(sizeof(uv_shutdown_t));
  req->data = s;
  if (uv_shutdown(req, (uv_stream_t *)&s->tcp, on_shutdown) < 0) {
    free(req);
    conn_close(s->conn);
  }
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

static void on_write(uv_write_t *req, int status) {
  write_t *w = (write_t *)req;
  side_t *to = w->to;
  conn_t *c = to->conn;
  free(w->copy);
  free(w);
  to->writing--;
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (to->writing > 0 || c->closing) return;
  side_t *from = &c->side[1 - to->index];
  if (from->eof) shut(to);
  else if (c->relaying) uv_read_start((uv_stream_t *)&from->tcp, on_alloc, on_read);
}

/* Writes to `to`; what the kernel does not take at once is copied and written later. 0 when all was taken. */
static int send_to(side_t *to, const char *data, size_t len) {
  uv_buf_t b = uv_buf_init((char *)data, (unsigned int)len);
  int n = uv_try_write((uv_stream_t *)&to->tcp, &b, 1);
  if (n == UV_EAGAIN) n = 0;
  if (n < 0) return n;
  to->bytes += (uint64_t)n;
  if ((size_t)n == len) return 0;
  write_t *w = malloc(sizeof(write_t));
  w->to = to;
  w->copy = malloc(len - (size_t)n);
  memcpy(w->copy, data + n, len - (size_t)n);
  to->bytes += len - (size_t)n;
  uv_buf_t rest = uv_buf_init(w->copy, (unsigned int)(len - (size_t)n));
  to->writing++;
  int err = uv_write(&w->req, (uv_stream_t *)&to->tcp, &rest, 1, on_write);
  if (err < 0) return err;
  return 1;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  side_t *s = (side_t *)st->data;
  conn_t *c = s->conn;
  if (n == 0) {
    give_back(buf);
    return;
  }
  if (n < 0) {
    give_back(buf);
    if (n == UV_EOF && c->relaying) {
      s->eof = 1;
      uv_read_stop(st);
      side_t *to = &c->side[1 - s->index];
      if (to->writing == 0) shut(to);
      return;
    }
    conn_close(c);
    return;
  }
  if (!c->relaying) {
    /* Before the verdict: the client's bytes go to JavaScript. */
    napi_handle_scope scope;
    napi_open_handle_scope(g_env, &scope);
    napi_value argv[3];
    void *data;
    napi_create_int32(g_env, c->id, &argv[0]);
    napi_create_buffer_copy(g_env, (size_t)n, buf->base, &data, &argv[1]);
    napi_create_int32(g_env, c->listener, &argv[2]);
    give_back(buf);
    call(g_on_data, 3, argv);
    napi_close_handle_scope(g_env, scope);
    return;
  }
  side_t *to = &c->side[1 - s->index];
  int r = send_to(to, buf->base, (size_t)n);
  give_back(buf);
  if (r < 0) conn_close(c);
  else if (r > 0) uv_read_stop(st);
}

static conn_t *conn_new(void) {
  int32_t id;
  if (g_free_len > 0) id = g_free[--g_free_len];
  else {
    if (g_next == g_cap) {
      int32_t cap = g_cap ? g_cap * 2 : 1024;
      g_conns = realloc(g_conns, sizeof(conn_t *) * (size_t)cap);
      g_free = realloc(g_free, sizeof(int32_t) * (size_t)cap);
      g_cap = cap;
    }
    id = g_next++;
  }
  conn_t *c = calloc(1, sizeof(conn_t));
  c->id = id;
  g_conns[id] = c;
  for (int i = 0; i < 2; i++) {
    c->side[i].conn = c;
    c->side[i].index = i;
    c->side[i].tcp.data = &c->side[i];
  }
  return c;
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0) return;
  conn_t *c = conn_new();
  c->listener = (int32_t)(intptr_t)server->data;
  uv_tcp_init(g_loop, &c->side[0].tcp);
  c->side[0].open = 1;
  c->handles = 1;
  if (uv_accept(server, (uv_stream_t *)&c->side[0].tcp) < 0) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->side[0].tcp, 1);
  uv_read_start((uv_stream_t *)&c->side[0].tcp, on_alloc, on_read);
}

static conn_t *arg_conn(napi_env env, napi_value v) {
  int32_t id;
  if (napi_get_value_int32(env, v, &id) != napi_ok || id < 0 || id >= g_next) return NULL;
  return g_conns[id];
}

/* The call's first n arguments (napi passes undefined for missing ones) and the connection its first names. */
static conn_t *conn_args(napi_env env, napi_callback_info info, napi_value *argv, size_t n) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return arg_conn(env, argv[0]);
}

static void on_connect(uv_connect_t *req, int status) {
  conn_t *c = (conn_t *)req->data;
  free(req);
  if (c->closing) return;
  napi_handle_scope scope;
  napi_open_handle_scope(g_env, &scope);
  napi_value argv[2];
  napi_create_int32(g_env, c->id, &argv[0]);
  napi_create_int32(g_env, status, &argv[1]);
  call(g_on_connected, 2, argv);
  napi_close_handle_scope(g_env, scope);
}

static napi_value js_connect(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  conn_t *c = conn_args(env, info, argv, 3);
  char address[64];
  size_t len;
  int32_t port;
  if (c == NULL || c->closing || c->side[1].open) return NULL;
  napi_get_value_string_latin1(env, argv[1], address, sizeof(address), &len);
  napi_get_value_int32(env, argv[2], &port);
  struct sockaddr_in sa;
  if (uv_ip4_addr(address, port, &sa) < 0) {
    conn_close(c);
    return NULL;
  }
  uv_tcp_init(g_loop, &c->side[1].tcp);
  c->side[1].open = 1;
  c->handles++;
  uv_tcp_nodelay(&c->side[1].tcp, 1);
  uv_connect_t *req = malloc(sizeof(uv_connect_t));
  req->data = c;
  if (uv_tcp_connect(req, &c->side[1].tcp, (const struct sockaddr *)&sa, on_connect) < 0) {
    free(req);
    conn_close(c);
  }
  return NULL;
}

static napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  conn_t *c = conn_args(env, info, argv, 3);
  int32_t side;
  void *data;
  size_t len;
  if (c == NULL || c->closing) return NULL;
  napi_get_value_int32(env, argv[1], &side);
  napi_get_buffer_info(env, argv[2], &data, &len);
  if (side < 0 || side > 1 || !c->side[side].open) return NULL;
  if (send_to(&c->side[side], data, len) < 0) conn_close(c);
  return NULL;
}

static napi_value js_relay(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  conn_t *c = conn_args(env, info, argv, 1);
  if (c == NULL || c->closing || !c->side[1].open) return NULL;
  c->relaying = 1;
  for (int i = 0; i < 2; i++)
    if (c->side[1 - i].writing == 0) uv_read_start((uv_stream_t *)&c->side[i].tcp, on_alloc, on_read);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  conn_t *c = conn_args(env, info, argv, 1);
  if (c != NULL) conn_close(c);
  return NULL;
}

static napi_value js_peer(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  conn_t *c = conn_args(env, info, argv, 1);
  struct sockaddr_storage sa;
  int len = sizeof(sa);
  char name[64] = "";
  if (c != NULL && uv_tcp_getpeername(&c->side[0].tcp, (struct sockaddr *)&sa, &len) == 0) {
    if (sa.ss_family == AF_INET6) uv_ip6_name((struct sockaddr_in6 *)&sa, name, sizeof(name));
    else uv_ip4_name((struct sockaddr_in *)&sa, name, sizeof(name));
  }
  napi_value out;
  napi_create_string_latin1(env, name, NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t port;
  napi_get_value_int32(env, argv[0], &port);
  if (g_nservers == 4) {
    napi_throw_error(env, NULL, "at most 4 listeners");
    return NULL;
  }
  if (g_nservers == 0) {
    g_env = env;
    napi_get_uv_event_loop(env, &g_loop);
    napi_create_reference(env, argv[1], 1, &g_on_data);
    napi_create_reference(env, argv[2], 1, &g_on_connected);
    napi_create_reference(env, argv[3], 1, &g_on_closed);
  }
  struct sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", port, &sa);
  uv_tcp_t *server = &g_servers[g_nservers];
  uv_tcp_init(g_loop, server);
  server->data = (void *)(intptr_t)g_nservers;
  int err = uv_tcp_bind(server, (const struct sockaddr *)&sa, 0);
  if (err == 0) err = uv_listen((uv_stream_t *)server, 511, on_connection);
  if (err < 0) napi_throw_error(env, NULL, uv_strerror(err));
  napi_value index;
  napi_create_int32(env, g_nservers++, &index);
  return index;
}

NAPI_MODULE_INIT() {
  const char *names[] = {"listen", "connect", "write", "relay", "close", "peer"};
  napi_callback fns[] = {js_listen, js_connect, js_write, js_relay, js_close, js_peer};
  for (int i = 0; i < 6; i++) {
    napi_value fn;
    napi_create_function(env, names[i], NAPI_AUTO_LENGTH, fns[i], NULL, &fn);
    napi_set_named_property(env, exports, names[i], fn);
  }
  return exports;
}
