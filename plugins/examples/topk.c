/*
 * topk: a reducer finding the heavy hitters of a stream of integers (pids, file descriptors,
 * syscall numbers, sizes) with the space-saving algorithm (Metwally et al., 2005).
 *
 *   @hot = t::topk(args->fd);
 *   -> @hot: 1000 (500), 3 (12), 4 (7)
 *
 * Each key keeps CAPACITY counters. A value already counted adds one; a new value takes a free
 * counter, or replaces the smallest one and inherits its count (remembered as its error).
 * Guarantees: every value seen more than n/CAPACITY times has a counter; a counter's count is
 * at least the value's true count and at most `error` above it. The rendering lists the TOP
 * largest counters, largest first (ties: smaller value first), as `value (count)`, or
 * `value (count-error..count)` when the count may be overestimated. Exact while a key has
 * seen at most CAPACITY distinct values. JSON: [{"value": v, "count": c, "error": e}, ...].
 */
#include <scry_plugin.h>

SCRY_DESCRIPTOR("reducer topk(i64)\n")

#define CAPACITY 64
#define TOP 10

typedef struct {
  int64_t value;
  uint64_t count, error;
} counter;

typedef struct {
  uint32_t used;
  counter c[CAPACITY];
} summary;

static void add(summary *s, int64_t v) {
  uint32_t smallest = 0;
  for (uint32_t i = 0; i < s->used; i++) {
    if (s->c[i].value == v) {
      s->c[i].count++;
      return;
    }
    if (s->c[i].count < s->c[smallest].count) smallest = i;
  }
  if (s->used < CAPACITY) {
    s->c[s->used++] = (counter){v, 1, 0};
  } else {
    counter *m = &s->c[smallest];
    *m = (counter){v, m->count + 1, m->count};
  }
}

SCRY_EXPORT(scry_reduce)
int32_t scry_reduce(int32_t item, int32_t map, int32_t ptr, int32_t len, int32_t count) {
  (void)item;
  scry_reader r = scry_reader_of((const void *)(uintptr_t)ptr, (uint32_t)len);
  for (int32_t i = 0; i < count; i++) {
    uint32_t key = scry_read_u32(&r);
    int64_t value = scry_read_i64(&r);
    if (r.bad) return scry_fail("truncated updates");
    summary *s = scry_state((uint32_t)map, key, sizeof(summary));
    if (!s) return scry_fail("out of memory");
    add(s, value);
  }
  return 0;
}

/* Largest count first, then smaller value. */
static int before(const counter *a, const counter *b) {
  return a->count != b->count ? a->count > b->count : a->value < b->value;
}

SCRY_EXPORT(scry_render)
scry_slice scry_render(int32_t item, int32_t map, int32_t key, int32_t format) {
  (void)item;
  static summary empty;
  const summary *s = scry_state_find((uint32_t)map, (uint32_t)key);
  if (!s) s = &empty;
  counter top[CAPACITY];
  uint32_t n = s->used;
  memcpy(top, s->c, n * sizeof *top);
  for (uint32_t i = 1; i < n; i++) /* insertion sort: at most CAPACITY counters */
    for (uint32_t j = i; j > 0 && before(&top[j], &top[j - 1]); j--) {
      counter t = top[j];
      top[j] = top[j - 1];
      top[j - 1] = t;
    }
  if (n > TOP) n = TOP;
  scry_buf *b = &scry_out;
  scry_buf_clear(b);
  if (format) scry_buf_char(b, '[');
  for (uint32_t i = 0; i < n; i++) {
    if (i) scry_buf_cstr(b, ", ");
    if (format) {
      scry_buf_cstr(b, "{\"value\": ");
      scry_buf_dec(b, top[i].value);
      scry_buf_cstr(b, ", \"count\": ");
      scry_buf_udec(b, top[i].count);
      scry_buf_cstr(b, ", \"error\": ");
      scry_buf_udec(b, top[i].error);
      scry_buf_char(b, '}');
    } else {
      scry_buf_dec(b, top[i].value);
      scry_buf_cstr(b, " (");
      if (top[i].error) {
        scry_buf_udec(b, top[i].count - top[i].error);
        scry_buf_cstr(b, "..");
      }
      scry_buf_udec(b, top[i].count);
      scry_buf_char(b, ')');
    }
  }
  if (format) scry_buf_char(b, ']');
  return scry_buf_slice(b);
}

SCRY_EXPORT(scry_reset)
int32_t scry_reset(int32_t item, int32_t map, int32_t key, int32_t mode) {
  (void)item;
  (void)mode; /* forgetting and emptying are the same: no counters */
  for (uint32_t k = 0; k < scry_state_keys((uint32_t)map); k++) {
    summary *s = scry_state_find((uint32_t)map, k);
    if (s && (key < 0 || (uint32_t)key == k)) s->used = 0;
  }
  return 0;
}
