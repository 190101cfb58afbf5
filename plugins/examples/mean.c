/* mean: the reducer docs/plugins.md walks through ("Writing a plugin"). */
#include <scry_plugin.h>

SCRY_DESCRIPTOR("reducer mean(i64) weighted\n")

/* One key's state. */
typedef struct {
  int64_t sum;
  uint64_t n;
} state;

SCRY_EXPORT(scry_reduce)
int32_t scry_reduce(int32_t item, int32_t map, int32_t ptr, int32_t size, int32_t count) {
  (void)item; /* one reducer in this plugin: item is always 0 */
  scry_reader r = scry_reader_of((const void *)(uintptr_t)ptr, (uint32_t)size);
  for (int32_t i = 0; i < count; i++) {
    uint32_t key = scry_read_u32(&r);
    int64_t value = scry_read_i64(&r);
    uint64_t weight = scry_read_u64(&r); /* times the value was seen: declared weighted */
    if (r.bad) return scry_fail("truncated updates");
    state *s = scry_state((uint32_t)map, key, sizeof(state));
    if (!s) return scry_fail("out of memory");
    s->sum = (int64_t)((uint64_t)s->sum + (uint64_t)value * weight); /* wraps, as in Rust */
    s->n += weight;
  }
  return 0;
}

SCRY_EXPORT(scry_render)
scry_slice scry_render(int32_t item, int32_t map, int32_t key, int32_t format) {
  (void)item;
  static const state none;
  const state *s = scry_state_find((uint32_t)map, (uint32_t)key);
  if (!s) s = &none;
  scry_buf_clear(&scry_out);
  scry_buf_cstr(&scry_out, format ? "{\"mean\": " : "mean ");
  scry_buf_dec(&scry_out, s->n ? s->sum / (int64_t)s->n : 0);
  scry_buf_cstr(&scry_out, format ? ", \"n\": " : ", n ");
  scry_buf_udec(&scry_out, s->n);
  if (format) scry_buf_char(&scry_out, '}');
  return scry_buf_slice(&scry_out);
}

SCRY_EXPORT(scry_reset)
int32_t scry_reset(int32_t item, int32_t map, int32_t key, int32_t mode) {
  (void)item;
  (void)mode; /* delete and zero are the same here: an empty state */
  for (uint32_t k = 0; k < scry_state_keys((uint32_t)map); k++) {
    state *s = scry_state_find((uint32_t)map, k);
    if (s && (key < 0 || (uint32_t)key == k)) *s = (state){0, 0};
  }
  return 0;
}
