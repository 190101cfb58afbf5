/*
 * csv: a sink writing every map scry prints (print(@m) and the maps at exit) as rows of
 * scry.csv in the directory granted with --plugin-allow NAME:fs=DIR (created with its header
 * at the start, then appended to once per batch). Other records are not written.
 *
 *   map,key,field,value
 *   @n,bash,value,3
 *   @lat,bash,"[4,8)",12               (hist and lhist: one row per bucket printed)
 *   @s,,count,10                       (stats: count, avg and total rows)
 *   @q,"bash, 3",value,n=3 ...         (a key's parts as scry prints them; a reducer's text)
 *
 * Fields are quoted as RFC 4180 says (a comma, quote, CR or LF: quoted, quotes doubled).
 */
#include <scry_plugin.h>

SCRY_DESCRIPTOR("sink lines\n")

#define FILE_NAME "scry.csv"

static scry_buf out, cell, name, key, bucket;

SCRY_EXPORT(scry_init) int32_t scry_init(int32_t ptr, int32_t len) {
  if (scry_read_run(ptr, len)) return 1;
  scry_buf_cstr(&out, "map,key,field,value\n");
  if (scry_buf_write_file(&out, FILE_NAME, 0) < 0)
    return scry_fail("cannot create " FILE_NAME " in the granted directory");
  return 0;
}

/* Appends n bytes at p to `out` as one CSV field, then `end`. */
static void csv_field(const char *p, uint32_t n, char end) {
  int quote = 0;
  for (uint32_t i = 0; i < n; i++)
    if (p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r') quote = 1;
  if (quote) scry_buf_char(&out, '"');
  for (uint32_t i = 0; i < n; i++) {
    if (p[i] == '"') scry_buf_char(&out, '"');
    scry_buf_char(&out, p[i]);
  }
  if (quote) scry_buf_char(&out, '"');
  scry_buf_char(&out, end);
}

/* One row: the map's name, the key's text, a field name, and the value written in `cell`. */
static void row(const char *field) {
  csv_field(name.ptr, name.len, ',');
  csv_field(key.ptr, key.len, ',');
  csv_field(field, (uint32_t)strlen(field), ',');
  csv_field(cell.ptr, cell.len, '\n');
  scry_buf_clear(&cell);
}

static void map_rows(scry_record *rec) {
  scry_buf_clear(&name);
  scry_buf_map_name(&name, rec->map.name);
  for (uint32_t i = 0; i < rec->map.entries; i++) {
    scry_buf_clear(&key);
    scry_buf_key_text(&key, scry_read_key(&rec->entries));
    scry_value v = scry_read_value(&rec->entries, rec->map.kind);
    switch (rec->map.kind) {
    case SCRY_MAP_SCALAR:
      scry_buf_tagged_text(&cell, v.scalar);
      row("value");
      break;
    case SCRY_MAP_HIST:
    case SCRY_MAP_LHIST:
      for (uint32_t k = 0; k < v.buckets; k++) {
        scry_bucket b = scry_read_bucket(&v.at);
        scry_buf_clear(&bucket);
        scry_buf_char(&bucket, '[');
        scry_buf_dec(&bucket, b.low);
        scry_buf_char(&bucket, ',');
        scry_buf_dec(&bucket, b.high);
        scry_buf_cstr(&bucket, ")");
        scry_buf_char(&bucket, 0);
        scry_buf_udec(&cell, b.count);
        row(bucket.ptr);
      }
      break;
    case SCRY_MAP_STATS:
      scry_buf_udec(&cell, v.count);
      row("count");
      scry_buf_dec(&cell, v.avg);
      row("avg");
      scry_buf_dec(&cell, v.total);
      row("total");
      break;
    case SCRY_MAP_REDUCER:
      scry_buf_text(&cell, v.text);
      row("value");
      break;
    }
  }
}

SCRY_EXPORT(scry_sink) int32_t scry_sink(int32_t ptr, int32_t len, int32_t count) {
  scry_reader r = scry_reader_of((const void *)(uintptr_t)ptr, (uint32_t)len);
  scry_buf_clear(&out);
  for (int32_t i = 0; i < count; i++) {
    scry_record rec = scry_read_record(&r);
    if (r.bad) return scry_fail("truncated records");
    if (rec.kind == SCRY_REC_MAP) map_rows(&rec);
  }
  if (out.oom || cell.oom || name.oom || key.oom || bucket.oom) return scry_fail("out of memory");
  if (out.len && scry_buf_write_file(&out, FILE_NAME, 1) < 0)
    return scry_fail("cannot append to " FILE_NAME " in the granted directory");
  return 0;
}
