/*
 * quantiles: a reducer giving p50, p90, p99 and p99.9 of the values folded into each key.
 *
 *   @lat[comm] = q::quantiles(nsecs - @start[tid]);
 *   -> @lat[bash]: n=1000 min=3 p50=511 p90=903 p99=991 p99.9=999 max=1000
 *
 * A sketch in the style of DDSketch, with a log-linear index (the exponent of the value and
 * its next SUB_BITS bits): values below 2^SUB_BITS are counted exactly; above, a bucket spans
 * 1/2^SUB_BITS of its power of two and is represented by its middle, so an estimate is
 * within 2^-(SUB_BITS+1) = 1/128 (0.78%) of the value whose rank was asked for, and within
 * the exact minimum and maximum. Two sketches merge by adding their bucket counts (the same
 * index for every sketch), so per-CPU or per-host sketches combine without losing the bound.
 * Integer arithmetic only: the Rust version (quantiles.rs) gives the same output, digit for
 * digit.
 */
#include <scry_plugin.h>

/* Weighted: the sketch is a count per bucket, whatever the order; values may arrive rounded to
 * their bucket (7 significant bits: the exponent and SUB_BITS more), which changes no count,
 * and the exact smallest and largest still arrive. */
SCRY_DESCRIPTOR("reducer quantiles(i64) weighted rounded 7\n")

#define SUB_BITS 6
#define SUB (1 << SUB_BITS)

/* One key's state: counts of the signed bucket indexes lo .. lo+len-1. */
typedef struct {
  uint64_t n;
  int64_t min, max;
  int32_t lo;
  uint32_t len;
  uint64_t *counts;
} sketch;

/* The bucket index of a magnitude u >= 1. */
static int32_t index_of(uint64_t u) {
  if (u < SUB) return (int32_t)u;
  int e = 63 - __builtin_clzll(u);
  return ((e - SUB_BITS + 1) << SUB_BITS) + (int32_t)((u >> (e - SUB_BITS)) & (SUB - 1));
}

static int32_t signed_index(int64_t v) {
  if (v > 0) return index_of((uint64_t)v);
  if (v < 0) return -index_of(0 - (uint64_t)v);
  return 0;
}

/* The middle of bucket `idx` (>= 1) as a magnitude. */
static uint64_t middle(int32_t idx) {
  uint32_t k = (uint32_t)idx >> SUB_BITS;
  if (k == 0) return (uint64_t)idx;
  uint64_t width = (uint64_t)1 << (k - 1);
  uint64_t low = ((uint64_t)SUB + ((uint32_t)idx & (SUB - 1))) << (k - 1);
  return low + (width - 1) / 2;
}

/* The value reported for bucket `idx`, clamped to what was seen. */
static int64_t estimate(const sketch *s, int32_t idx) {
  int64_t v = 0;
  if (idx > 0) {
    uint64_t m = middle(idx);
    v = m > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)m;
  } else if (idx < 0) {
    uint64_t m = middle(-idx);
    v = m >= (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)m;
  }
  if (v < s->min) v = s->min;
  if (v > s->max) v = s->max;
  return v;
}

/* Folds v, seen w times. */
static int add(sketch *s, int64_t v, uint64_t w) {
  int32_t idx = signed_index(v);
  if (s->len == 0) {
    s->counts = calloc(1, sizeof(uint64_t));
    if (!s->counts) return 0;
    s->lo = idx;
    s->len = 1;
  } else if (idx < s->lo || idx >= s->lo + (int32_t)s->len) {
    int32_t lo = idx < s->lo ? idx : s->lo;
    int32_t hi = idx >= s->lo + (int32_t)s->len ? idx : s->lo + (int32_t)s->len - 1;
    uint32_t len = (uint32_t)(hi - lo + 1);
    uint64_t *counts = calloc(len, sizeof(uint64_t));
    if (!counts) return 0;
    memcpy(counts + (s->lo - lo), s->counts, s->len * sizeof(uint64_t));
    free(s->counts);
    s->counts = counts;
    s->lo = lo;
    s->len = len;
  }
  s->counts[idx - s->lo] += w;
  if (s->n == 0 || v < s->min) s->min = v;
  if (s->n == 0 || v > s->max) s->max = v;
  s->n += w;
  return 1;
}

/* The value of rank floor((n-1) * num / den). */
static int64_t quantile(const sketch *s, uint64_t num, uint64_t den) {
  uint64_t last = s->n - 1;
  uint64_t rank = last / den * num + last % den * num / den;
  uint64_t seen = 0;
  for (uint32_t i = 0; i < s->len; i++) {
    seen += s->counts[i];
    if (seen > rank) return estimate(s, s->lo + (int32_t)i);
  }
  return s->max;
}

static void forget(sketch *s) {
  free(s->counts);
  memset(s, 0, sizeof *s);
}

SCRY_EXPORT(scry_reduce)
int32_t scry_reduce(int32_t item, int32_t map, int32_t ptr, int32_t len, int32_t count) {
  (void)item;
  scry_reader r = scry_reader_of((const void *)(uintptr_t)ptr, (uint32_t)len);
  for (int32_t i = 0; i < count; i++) {
    uint32_t key = scry_read_u32(&r);
    int64_t value = scry_read_i64(&r);
    uint64_t weight = scry_read_u64(&r);
    if (r.bad) return scry_fail("truncated updates");
    sketch *s = scry_state((uint32_t)map, key, sizeof(sketch));
    if (!s || !add(s, value, weight)) return scry_fail("out of memory");
  }
  return 0;
}

static const struct {
  const char *name;
  uint64_t num, den;
} points[] = {{"p50", 50, 100}, {"p90", 90, 100}, {"p99", 99, 100}, {"p99.9", 999, 1000}};

SCRY_EXPORT(scry_render)
scry_slice scry_render(int32_t item, int32_t map, int32_t key, int32_t format) {
  (void)item;
  static const sketch empty;
  const sketch *s = scry_state_find((uint32_t)map, (uint32_t)key);
  if (!s) s = &empty;
  scry_buf *b = &scry_out;
  scry_buf_clear(b);
  const char *sep = format ? "\": " : "=";
  scry_buf_cstr(b, format ? "{\"n" : "n");
  scry_buf_cstr(b, sep);
  scry_buf_udec(b, s->n);
  if (s->n) {
    scry_buf_cstr(b, format ? ", \"min" : " min");
    scry_buf_cstr(b, sep);
    scry_buf_dec(b, s->min);
    for (unsigned i = 0; i < sizeof points / sizeof points[0]; i++) {
      scry_buf_cstr(b, format ? ", \"" : " ");
      scry_buf_cstr(b, points[i].name);
      scry_buf_cstr(b, sep);
      scry_buf_dec(b, quantile(s, points[i].num, points[i].den));
    }
    scry_buf_cstr(b, format ? ", \"max" : " max");
    scry_buf_cstr(b, sep);
    scry_buf_dec(b, s->max);
  }
  if (format) scry_buf_char(b, '}');
  return scry_buf_slice(b);
}

SCRY_EXPORT(scry_reset)
int32_t scry_reset(int32_t item, int32_t map, int32_t key, int32_t mode) {
  (void)item;
  (void)mode; /* forgetting and emptying are the same for a sketch: no counts */
  for (uint32_t k = 0; k < scry_state_keys((uint32_t)map); k++) {
    sketch *s = scry_state_find((uint32_t)map, k);
    if (s && (key < 0 || (uint32_t)key == k)) forget(s);
  }
  return 0;
}
