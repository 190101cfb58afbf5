/*
 * ndjson: a sink writing every output record as one JSON object per line to scry.ndjson in
 * the directory granted with --plugin-allow NAME:fs=DIR (created or truncated at the start,
 * then appended to once per batch of records).
 *
 *   {"type": "printf", "text": "hello\n"}          (also time, cat, system, join)
 *   {"type": "value", "value": 42}
 *   {"type": "map", "name": "@n", "kind": "scalar", "entries": [{"key": ["bash"], "value": 3}]}
 *   {"type": "lost", "events": 12}
 *   {"type": "attached", "probes": 2}
 *
 * Map values: scalar as a number or string, hist and lhist as [{"low": l, "high": h,
 * "count": c}, ...] (low inclusive, high exclusive), stats as {"count": c, "avg": a,
 * "total": t}, a reducer's as its text.
 */
#include <scry_plugin.h>

SCRY_DESCRIPTOR("sink lines\n")

#define FILE_NAME "scry.ndjson"

static const char *const kinds[] = {"scalar", "hist", "lhist", "stats", "reducer"};
static const char *const sources[] = {"printf", "time", "cat", "system", "join"};

static scry_buf out, name;

SCRY_EXPORT(scry_init) int32_t scry_init(int32_t ptr, int32_t len) {
  if (scry_read_run(ptr, len)) return 1;
  if (scry_buf_write_file(&out, FILE_NAME, 0) < 0)
    return scry_fail("cannot create " FILE_NAME " in the granted directory");
  return 0;
}

static void field(scry_buf *b, const char *name) {
  scry_buf_cstr(b, ", \"");
  scry_buf_cstr(b, name);
  scry_buf_cstr(b, "\": ");
}

static void map_json(scry_buf *b, scry_record *rec) {
  scry_buf_cstr(b, "\"map\"");
  field(b, "name");
  scry_buf_clear(&name);
  scry_buf_map_name(&name, rec->map.name);
  scry_buf_json_str(b, (scry_str){name.ptr, name.len});
  field(b, "kind");
  scry_buf_char(b, '"');
  scry_buf_cstr(b, rec->map.kind < 5 ? kinds[rec->map.kind] : "unknown");
  scry_buf_char(b, '"');
  field(b, "entries");
  scry_buf_char(b, '[');
  for (uint32_t i = 0; i < rec->map.entries; i++) {
    scry_key key = scry_read_key(&rec->entries);
    scry_value v = scry_read_value(&rec->entries, rec->map.kind);
    scry_buf_cstr(b, i ? ", {\"key\": [" : "{\"key\": [");
    for (uint32_t p = 0; p < key.parts; p++) {
      if (p) scry_buf_cstr(b, ", ");
      scry_buf_tagged_json(b, scry_read_tagged(&key.at));
    }
    scry_buf_cstr(b, "], \"value\": ");
    switch (rec->map.kind) {
    case SCRY_MAP_SCALAR: scry_buf_tagged_json(b, v.scalar); break;
    case SCRY_MAP_HIST:
    case SCRY_MAP_LHIST:
      scry_buf_char(b, '[');
      for (uint32_t k = 0; k < v.buckets; k++) {
        scry_bucket bk = scry_read_bucket(&v.at);
        scry_buf_cstr(b, k ? ", {\"low\": " : "{\"low\": ");
        scry_buf_dec(b, bk.low);
        field(b, "high");
        scry_buf_dec(b, bk.high);
        field(b, "count");
        scry_buf_udec(b, bk.count);
        scry_buf_char(b, '}');
      }
      scry_buf_char(b, ']');
      break;
    case SCRY_MAP_STATS:
      scry_buf_cstr(b, "{\"count\": ");
      scry_buf_udec(b, v.count);
      field(b, "avg");
      scry_buf_dec(b, v.avg);
      field(b, "total");
      scry_buf_dec(b, v.total);
      scry_buf_char(b, '}');
      break;
    case SCRY_MAP_REDUCER: scry_buf_json_str(b, v.text); break;
    }
    scry_buf_char(b, '}');
  }
  scry_buf_char(b, ']');
}

SCRY_EXPORT(scry_sink) int32_t scry_sink(int32_t ptr, int32_t len, int32_t count) {
  scry_reader r = scry_reader_of((const void *)(uintptr_t)ptr, (uint32_t)len);
  scry_buf *b = &out;
  scry_buf_clear(b);
  for (int32_t i = 0; i < count; i++) {
    scry_record rec = scry_read_record(&r);
    if (r.bad) return scry_fail("truncated records");
    if (rec.kind == SCRY_REC_PRINTF) continue; /* only with `sink args`, which this is not */
    scry_buf_cstr(b, "{\"type\": ");
    switch (rec.kind) {
    case SCRY_REC_LINE:
      scry_buf_char(b, '"');
      scry_buf_cstr(b, rec.source < 5 ? sources[rec.source] : "line");
      scry_buf_char(b, '"');
      field(b, "text");
      scry_buf_json_str(b, rec.text);
      break;
    case SCRY_REC_VALUE:
      scry_buf_cstr(b, "\"value\"");
      field(b, "value");
      scry_buf_tagged_json(b, rec.value);
      break;
    case SCRY_REC_MAP: map_json(b, &rec); break;
    case SCRY_REC_LOST:
      scry_buf_cstr(b, "\"lost\"");
      field(b, "events");
      scry_buf_udec(b, rec.count);
      break;
    case SCRY_REC_ATTACHED:
      scry_buf_cstr(b, "\"attached\"");
      field(b, "probes");
      scry_buf_udec(b, rec.count);
      break;
    }
    scry_buf_cstr(b, "}\n");
  }
  if (b->oom || name.oom) return scry_fail("out of memory");
  if (b->len && scry_buf_write_file(b, FILE_NAME, 1) < 0)
    return scry_fail("cannot append to " FILE_NAME " in the granted directory");
  return 0;
}
