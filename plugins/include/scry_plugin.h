/*
 * scry_plugin.h: the guest side of the scry plugin ABI 1.2 for C (docs/plugins.md).
 *
 * One header, no library to link: include it in the plugin's one .c file and build with
 *
 *   clang --target=wasm32-wasi -O2 -nostartfiles -Wl,--no-entry -Wl,--strip-all \
 *         -I plugins/include plugin.c -o plugin.wasm
 *
 * wasi-libc is linked for malloc/realloc/free and the string functions only: those import
 * nothing, so the module's only imports are the `scry` functions it calls (check with
 * `wasm-objdump -x -j Import plugin.wasm`). Do not call stdio (printf, snprintf): it pulls
 * in WASI imports, which scry refuses. Use the scry_buf writers below instead.
 *
 * What the header gives:
 * - SCRY_DESCRIPTOR("...") defines the `scry_plugin` export (the `abi 1.2` line is added);
 * - the `scry_alloc` export: one input buffer, kept and grown with malloc; each call may
 *   reuse the previous one (scry asks for one buffer per hook call);
 * - the imports of module `scry` (only those a plugin calls end up in the module);
 * - scry_state: a reducer's state per (map, key), made at first use (a reducer reads each
 *   update as scry_read_u32 key, scry_read_i64 value, and, declared `weighted` (ABI 1.1),
 *   scry_read_u64 weight: the value was seen that many times);
 * - scry_reader: bounds-checked readers of the data layouts (u32, i64, str, tagged, keys,
 *   maps, hist buckets); a read past the end sets `bad` and returns zeros;
 * - scry_read_run / scry_read_record: the run description (scry_run) and sink records;
 *   scry_read_formats: the printf formats added later (ABI 1.2, the scry_formats export);
 * - scry_buf: a growable output buffer (binary values, decimal text, JSON strings, keys as
 *   scry prints them) and scry_out, the one buffer hooks return their slices in;
 * - scry_fail / scry_fail_slice: report an error through scry.error and return the code.
 */
#ifndef SCRY_PLUGIN_H
#define SCRY_PLUGIN_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- exports and imports ------------------------------------------------------------------ */

#define SCRY_EXPORT(name) __attribute__((export_name(#name)))
#define SCRY_IMPORT(name) __attribute__((import_module("scry"), import_name(#name)))

/* A slice returned to scry: ptr | len << 32. */
typedef int64_t scry_slice;
#define SCRY_SLICE_ERROR ((scry_slice)((uint64_t)0xFFFFFFFFu << 32))

static inline scry_slice scry_slice_of(const void *ptr, uint32_t len) {
  return (scry_slice)((uint64_t)(uintptr_t)ptr | ((uint64_t)len << 32));
}

/* The descriptor export: SCRY_DESCRIPTOR("reducer quantiles(i64)\n"). */
#define SCRY_DESCRIPTOR(lines)                                                                 \
  static const char scry_descriptor_[] = "abi 1.2\n" lines;                                    \
  SCRY_EXPORT(scry_plugin) scry_slice scry_plugin(void) {                                      \
    return scry_slice_of(scry_descriptor_, sizeof scry_descriptor_ - 1);                       \
  }

SCRY_IMPORT(log) void scry_log(const char *text, int32_t len);
SCRY_IMPORT(error) void scry_error(const char *text, int32_t len);
SCRY_IMPORT(output) void scry_output(const char *bytes, int32_t len);
SCRY_IMPORT(fs_write)
int32_t scry_fs_write(const char *path, int32_t path_len, const void *data, int32_t data_len,
                      int32_t append);
SCRY_IMPORT(fs_rename)
int32_t scry_fs_rename(const char *from, int32_t from_len, const char *to, int32_t to_len);
SCRY_IMPORT(exec) int32_t scry_exec(const char *cmd, int32_t cmd_len);

/* Reports `message` as the failure of the current hook; returns 1 (a failed i32 hook). */
static inline int32_t scry_fail(const char *message) {
  scry_error(message, (int32_t)strlen(message));
  return 1;
}

/* The same for hooks that return a slice. */
static inline scry_slice scry_fail_slice(const char *message) {
  scry_fail(message);
  return SCRY_SLICE_ERROR;
}

/* The input buffer scry fills before a hook; 0 when out of memory. */
static uint8_t *scry_input_;
static uint32_t scry_input_cap_;

SCRY_EXPORT(scry_alloc) int32_t scry_alloc(int32_t size) {
  uint32_t want = (uint32_t)size;
  if (want > scry_input_cap_ || !scry_input_) {
    free(scry_input_);
    scry_input_cap_ = want < 4096 ? 4096 : want;
    scry_input_ = malloc(scry_input_cap_);
    if (!scry_input_) {
      scry_input_cap_ = 0;
      return 0;
    }
  }
  return (int32_t)(uintptr_t)scry_input_;
}

/* ---- reducer state ------------------------------------------------------------------------ */

/* scry numbers reducer maps and their keys densely from 0: a reducer's state per (map, key)
   is a table indexed by both. Each state is `size` bytes, zeroed at its first use. */
typedef struct {
  void **keys;
  uint32_t len;
} scry_map_states_;

static scry_map_states_ *scry_maps_;
static uint32_t scry_nmaps_;

/* The state of (map, key), made (zeroed) at its first use; NULL when out of memory. */
static inline void *scry_state(uint32_t map, uint32_t key, uint32_t size) {
  if (map >= scry_nmaps_) {
    scry_map_states_ *m = realloc(scry_maps_, (map + 1) * sizeof *m);
    if (!m) return NULL;
    memset(m + scry_nmaps_, 0, (map + 1 - scry_nmaps_) * sizeof *m);
    scry_maps_ = m;
    scry_nmaps_ = map + 1;
  }
  scry_map_states_ *m = &scry_maps_[map];
  if (key >= m->len) {
    uint32_t len = m->len ? m->len : 8;
    while (len <= key) len *= 2;
    void **k = realloc(m->keys, len * sizeof *k);
    if (!k) return NULL;
    memset(k + m->len, 0, (len - m->len) * sizeof *k);
    m->keys = k;
    m->len = len;
  }
  if (!m->keys[key]) m->keys[key] = calloc(1, size);
  return m->keys[key];
}

/* The state of (map, key) if it was made, else NULL. */
static inline void *scry_state_find(uint32_t map, uint32_t key) {
  return map < scry_nmaps_ && key < scry_maps_[map].len ? scry_maps_[map].keys[key] : NULL;
}

/* The key numbers of `map` that may have state: 0 .. scry_state_keys(map) - 1. */
static inline uint32_t scry_state_keys(uint32_t map) {
  return map < scry_nmaps_ ? scry_maps_[map].len : 0;
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct {
  const char *ptr;
  uint32_t len;
} scry_str;

typedef struct {
  const uint8_t *p, *end;
  int bad; /* set by a read past the end; every later read returns zeros */
} scry_reader;

static inline scry_reader scry_reader_of(const void *ptr, uint32_t len) {
  scry_reader r = {(const uint8_t *)ptr, (const uint8_t *)ptr + len, 0};
  return r;
}

static inline int scry_need(scry_reader *r, uint32_t n) {
  if (r->bad || (uint32_t)(r->end - r->p) < n) {
    r->bad = 1;
    return 0;
  }
  return 1;
}

static inline uint8_t scry_read_u8(scry_reader *r) {
  return scry_need(r, 1) ? *r->p++ : 0;
}

static inline uint32_t scry_read_u32(scry_reader *r) {
  uint32_t v = 0;
  if (scry_need(r, 4)) {
    for (int i = 3; i >= 0; i--) v = v << 8 | r->p[i];
    r->p += 4;
  }
  return v;
}

static inline uint64_t scry_read_u64(scry_reader *r) {
  uint64_t v = 0;
  if (scry_need(r, 8)) {
    for (int i = 7; i >= 0; i--) v = v << 8 | r->p[i];
    r->p += 8;
  }
  return v;
}

static inline int64_t scry_read_i64(scry_reader *r) { return (int64_t)scry_read_u64(r); }

static inline scry_str scry_read_str(scry_reader *r) {
  scry_str s = {"", 0};
  uint32_t len = scry_read_u32(r);
  if (scry_need(r, len)) {
    s.ptr = (const char *)r->p;
    s.len = len;
    r->p += len;
  }
  return s;
}

/* tagged: u8 tag, then i64 | u64 | str | tuple (u32 n, tagged * n). */
enum { SCRY_I64 = 0, SCRY_U64 = 1, SCRY_STR = 2, SCRY_TUPLE = 3 };

typedef struct {
  uint8_t tag;
  int64_t i;         /* SCRY_I64 */
  uint64_t u;        /* SCRY_U64 */
  scry_str s;        /* SCRY_STR */
  uint32_t n;        /* SCRY_TUPLE: the number of elements, */
  scry_reader items; /* read with scry_read_tagged from here */
} scry_tagged;

static inline void scry_skip_tagged(scry_reader *r);

static inline scry_tagged scry_read_tagged(scry_reader *r) {
  scry_tagged t;
  memset(&t, 0, sizeof t);
  t.tag = scry_read_u8(r);
  switch (t.tag) {
  case SCRY_I64: t.i = scry_read_i64(r); break;
  case SCRY_U64: t.u = scry_read_u64(r); break;
  case SCRY_STR: t.s = scry_read_str(r); break;
  case SCRY_TUPLE:
    t.n = scry_read_u32(r);
    t.items = *r;
    for (uint32_t k = 0; k < t.n && !r->bad; k++) scry_skip_tagged(r);
    t.items.end = r->p;
    break;
  default: r->bad = 1;
  }
  return t;
}

static inline void scry_skip_tagged(scry_reader *r) { (void)scry_read_tagged(r); }

/* Maps: str name, u8 kind, u32 entries, then entries (key, value). */
enum {
  SCRY_MAP_SCALAR = 0,
  SCRY_MAP_HIST = 1,
  SCRY_MAP_LHIST = 2,
  SCRY_MAP_STATS = 3,
  SCRY_MAP_REDUCER = 4
};

typedef struct {
  scry_str name;
  uint8_t kind;
  uint32_t entries;
} scry_map;

static inline scry_map scry_read_map(scry_reader *r) {
  scry_map m;
  m.name = scry_read_str(r);
  m.kind = scry_read_u8(r);
  m.entries = scry_read_u32(r);
  return m;
}

/* A key: `parts` tagged values, read with scry_read_tagged from `at`. */
typedef struct {
  uint32_t parts;
  scry_reader at;
} scry_key;

static inline scry_key scry_read_key(scry_reader *r) {
  scry_key k;
  k.parts = scry_read_u32(r);
  k.at = *r;
  for (uint32_t i = 0; i < k.parts && !r->bad; i++) scry_skip_tagged(r);
  k.at.end = r->p;
  return k;
}

typedef struct {
  int64_t low, high; /* low inclusive, high exclusive */
  uint64_t count;
} scry_bucket;

/* A value of a map of `kind`. */
typedef struct {
  scry_tagged scalar;  /* SCRY_MAP_SCALAR */
  uint32_t buckets;    /* SCRY_MAP_HIST, SCRY_MAP_LHIST: read them */
  scry_reader at;      /* with scry_read_bucket from here */
  uint64_t count;      /* SCRY_MAP_STATS */
  int64_t avg, total;  /* SCRY_MAP_STATS */
  scry_str text;       /* SCRY_MAP_REDUCER */
} scry_value;

static inline scry_bucket scry_read_bucket(scry_reader *r) {
  scry_bucket b;
  b.low = scry_read_i64(r);
  b.high = scry_read_i64(r);
  b.count = scry_read_u64(r);
  return b;
}

static inline scry_value scry_read_value(scry_reader *r, uint8_t kind) {
  scry_value v;
  memset(&v, 0, sizeof v);
  switch (kind) {
  case SCRY_MAP_SCALAR: v.scalar = scry_read_tagged(r); break;
  case SCRY_MAP_HIST:
  case SCRY_MAP_LHIST:
    v.buckets = scry_read_u32(r);
    v.at = *r;
    if (scry_need(r, v.buckets * 24u)) r->p += v.buckets * 24u;
    v.at.end = r->p;
    break;
  case SCRY_MAP_STATS:
    v.count = scry_read_u64(r);
    v.avg = scry_read_i64(r);
    v.total = scry_read_i64(r);
    break;
  case SCRY_MAP_REDUCER: v.text = scry_read_str(r); break;
  default: r->bad = 1;
  }
  return v;
}

/* The run description (scry_init): the program's printf formats and maps. scry_read_run
   keeps a copy, so scry_run stays valid for the whole run. */
enum { SCRY_ARG_I64 = 0, SCRY_ARG_U64 = 1, SCRY_ARG_STR = 2 };

typedef struct {
  scry_str text;        /* the format, escapes resolved */
  uint32_t args;        /* its arguments, */
  const uint8_t *types; /* of types SCRY_ARG_* */
} scry_format;

typedef struct {
  uint32_t formats;
  scry_format *format;
  uint32_t maps;
  scry_reader map_list; /* maps * (str name, u8 kind) */
} scry_run_description;

static scry_run_description scry_run;

/* `u32 n, format * n` at `r` (bytes that stay valid), appended to scry_run.format. */
static inline int32_t scry_read_formats_(scry_reader *r) {
  uint32_t n = scry_read_u32(r);
  if ((uint32_t)(r->end - r->p) < n) return scry_fail("bad run description");
  scry_format *f = realloc(scry_run.format, (scry_run.formats + n + 1) * sizeof *f);
  if (!f) return scry_fail("out of memory");
  scry_run.format = f;
  f += scry_run.formats;
  for (uint32_t i = 0; i < n; i++) {
    f[i].text = scry_read_str(r);
    f[i].args = scry_read_u32(r);
    f[i].types = r->p;
    if (scry_need(r, f[i].args)) r->p += f[i].args;
  }
  if (r->bad) return scry_fail("bad run description");
  scry_run.formats += n;
  return 0;
}

/* A copy of the len bytes at ptr (input buffers are reused), as a reader. */
static inline scry_reader scry_copy_(int32_t ptr, int32_t len) {
  uint8_t *copy = malloc(len ? (uint32_t)len : 1);
  if (!copy) return scry_reader_of(0, 0);
  memcpy(copy, (const void *)(uintptr_t)ptr, (uint32_t)len);
  return scry_reader_of(copy, (uint32_t)len);
}

/* Reads the run description at ptr/len into scry_run; 0 on success. */
static inline int32_t scry_read_run(int32_t ptr, int32_t len) {
  scry_reader r = scry_copy_(ptr, len);
  if (!r.p && len) return scry_fail("out of memory");
  scry_run.formats = 0;
  if (scry_read_formats_(&r)) return 1;
  scry_run.maps = scry_read_u32(&r);
  scry_run.map_list = r;
  return r.bad ? scry_fail("bad run description") : 0;
}

/* Reads the printf formats given to scry_formats (ABI 1.2: those a later REPL entry added)
   at ptr/len, appended to scry_run.format (numbered on from the formats known before); 0 on
   success. */
static inline int32_t scry_read_formats(int32_t ptr, int32_t len) {
  scry_reader r = scry_copy_(ptr, len);
  if (!r.p && len) return scry_fail("out of memory");
  return scry_read_formats_(&r);
}

/* Sink records (scry_sink): u8 kind, then the record. */
enum {
  SCRY_REC_LINE = 1,
  SCRY_REC_PRINTF = 2,
  SCRY_REC_VALUE = 3,
  SCRY_REC_MAP = 4,
  SCRY_REC_LOST = 5,
  SCRY_REC_ATTACHED = 6
};

typedef struct {
  uint8_t kind;
  uint8_t source;         /* LINE: 0 printf, 1 time, 2 cat, 3 system, 4 join */
  scry_str text;          /* LINE */
  uint32_t format;        /* PRINTF: into scry_run.format */
  scry_reader args;       /* PRINTF: the arguments in the format's types */
  scry_tagged value;      /* VALUE */
  scry_map map;           /* MAP: the header, then map.entries entries */
  scry_reader entries;    /* MAP: read with scry_read_key and scry_read_value */
  uint64_t top, div;      /* MAP */
  uint64_t count;         /* LOST: events, ATTACHED: probes */
} scry_record;

static inline scry_record scry_read_record(scry_reader *r) {
  scry_record rec;
  memset(&rec, 0, sizeof rec);
  rec.kind = scry_read_u8(r);
  switch (rec.kind) {
  case SCRY_REC_LINE:
    rec.source = scry_read_u8(r);
    rec.text = scry_read_str(r);
    break;
  case SCRY_REC_PRINTF:
    rec.format = scry_read_u32(r);
    if (rec.format >= scry_run.formats) {
      r->bad = 1;
      break;
    }
    rec.args = *r;
    for (uint32_t i = 0; i < scry_run.format[rec.format].args; i++) {
      if (scry_run.format[rec.format].types[i] == SCRY_ARG_STR) (void)scry_read_str(r);
      else (void)scry_read_u64(r);
    }
    rec.args.end = r->p;
    break;
  case SCRY_REC_VALUE: rec.value = scry_read_tagged(r); break;
  case SCRY_REC_MAP:
    rec.map = scry_read_map(r);
    rec.entries = *r;
    for (uint32_t i = 0; i < rec.map.entries && !r->bad; i++) {
      (void)scry_read_key(r);
      (void)scry_read_value(r, rec.map.kind);
    }
    rec.entries.end = r->p;
    rec.top = scry_read_u64(r);
    rec.div = scry_read_u64(r);
    break;
  case SCRY_REC_LOST:
  case SCRY_REC_ATTACHED: rec.count = scry_read_u64(r); break;
  default: r->bad = 1;
  }
  return rec;
}

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct {
  char *ptr;
  uint32_t len, cap;
  int oom; /* set when growing failed; the buffer keeps what fitted */
} scry_buf;

/* The buffer hooks return their slices in (valid until the next hook call). */
static scry_buf scry_out;

static inline void scry_buf_clear(scry_buf *b) { b->len = 0; }

static inline int scry_buf_reserve(scry_buf *b, uint32_t more) {
  if (b->len + more <= b->cap) return 1;
  uint32_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more) cap *= 2;
  char *p = realloc(b->ptr, cap);
  if (!p) {
    b->oom = 1;
    return 0;
  }
  b->ptr = p;
  b->cap = cap;
  return 1;
}

static inline void scry_buf_put(scry_buf *b, const void *data, uint32_t len) {
  if (len && scry_buf_reserve(b, len)) {
    memcpy(b->ptr + b->len, data, len);
    b->len += len;
  }
}

static inline void scry_buf_char(scry_buf *b, char c) { scry_buf_put(b, &c, 1); }
static inline void scry_buf_cstr(scry_buf *b, const char *s) { scry_buf_put(b, s, strlen(s)); }
static inline void scry_buf_text(scry_buf *b, scry_str s) { scry_buf_put(b, s.ptr, s.len); }

static inline void scry_buf_u32le(scry_buf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  scry_buf_put(b, x, 4);
}

static inline void scry_buf_u64le(scry_buf *b, uint64_t v) {
  uint8_t x[8];
  for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
  scry_buf_put(b, x, 8);
}

/* The `str` layout: u32 len, bytes. */
static inline void scry_buf_str(scry_buf *b, scry_str s) {
  scry_buf_u32le(b, s.len);
  scry_buf_text(b, s);
}

/* Decimal text. */
static inline void scry_buf_udec(scry_buf *b, uint64_t v) {
  char d[20];
  int i = 20;
  do {
    d[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  scry_buf_put(b, d + i, (uint32_t)(20 - i));
}

static inline void scry_buf_dec(scry_buf *b, int64_t v) {
  if (v < 0) {
    scry_buf_char(b, '-');
    scry_buf_udec(b, 0 - (uint64_t)v);
  } else {
    scry_buf_udec(b, (uint64_t)v);
  }
}

/* A JSON string literal (quotes included). */
static inline void scry_buf_json_str(scry_buf *b, scry_str s) {
  static const char hex[] = "0123456789abcdef";
  scry_buf_char(b, '"');
  for (uint32_t i = 0; i < s.len; i++) {
    unsigned char c = (unsigned char)s.ptr[i];
    if (c == '"' || c == '\\') {
      scry_buf_char(b, '\\');
      scry_buf_char(b, (char)c);
    } else if (c == '\n') {
      scry_buf_cstr(b, "\\n");
    } else if (c == '\t') {
      scry_buf_cstr(b, "\\t");
    } else if (c == '\r') {
      scry_buf_cstr(b, "\\r");
    } else if (c < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      scry_buf_put(b, e, 6);
    } else {
      scry_buf_char(b, (char)c);
    }
  }
  scry_buf_char(b, '"');
}

/* A tagged value as scry prints it in text: numbers in decimal, strings as they are, tuples
   as (a, b). */
static inline void scry_buf_tagged_text(scry_buf *b, scry_tagged t) {
  switch (t.tag) {
  case SCRY_I64: scry_buf_dec(b, t.i); break;
  case SCRY_U64: scry_buf_udec(b, t.u); break;
  case SCRY_STR: scry_buf_text(b, t.s); break;
  case SCRY_TUPLE:
    scry_buf_char(b, '(');
    for (uint32_t k = 0; k < t.n; k++) {
      if (k) scry_buf_cstr(b, ", ");
      scry_buf_tagged_text(b, scry_read_tagged(&t.items));
    }
    scry_buf_char(b, ')');
    break;
  }
}

/* A tagged value as JSON: numbers, strings, tuples as arrays. */
static inline void scry_buf_tagged_json(scry_buf *b, scry_tagged t) {
  switch (t.tag) {
  case SCRY_I64: scry_buf_dec(b, t.i); break;
  case SCRY_U64: scry_buf_udec(b, t.u); break;
  case SCRY_STR: scry_buf_json_str(b, t.s); break;
  case SCRY_TUPLE:
    scry_buf_char(b, '[');
    for (uint32_t k = 0; k < t.n; k++) {
      if (k) scry_buf_cstr(b, ", ");
      scry_buf_tagged_json(b, scry_read_tagged(&t.items));
    }
    scry_buf_char(b, ']');
    break;
  }
}

/* A key's parts as scry prints them between the brackets of `@m[...]`: `a, b`. */
static inline void scry_buf_key_text(scry_buf *b, scry_key k) {
  for (uint32_t i = 0; i < k.parts; i++) {
    if (i) scry_buf_cstr(b, ", ");
    scry_buf_tagged_text(b, scry_read_tagged(&k.at));
  }
}

/* A map's name as scry prints it, with its `@` (scry may send the name without it). */
static inline void scry_buf_map_name(scry_buf *b, scry_str name) {
  if (name.len == 0 || name.ptr[0] != '@') scry_buf_char(b, '@');
  scry_buf_text(b, name);
}

/* The buffer as a slice to return (an error slice if it ran out of memory). */
static inline scry_slice scry_buf_slice(scry_buf *b) {
  if (b->oom) {
    b->oom = 0;
    return scry_fail_slice("out of memory");
  }
  return scry_slice_of(b->ptr, b->len);
}

/* Writes the buffer to `path` in the granted directory (append 0: create or truncate, 1:
   append); negative on failure, as scry.fs_write. */
static inline int32_t scry_buf_write_file(scry_buf *b, const char *path, int32_t append) {
  return scry_fs_write(path, (int32_t)strlen(path), b->ptr, (int32_t)b->len, append);
}

#endif
