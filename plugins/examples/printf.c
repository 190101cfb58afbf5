/*
 * printf: a `sink args` plugin that formats the program's printf calls itself, as scry's
 * native printf does (C snprintf semantics on 64-bit values, as bpftrace 0.17), and writes
 * the lines with scry.output: one call per batch of records.
 *
 * - Integer conversions (d i u o x X) without a length modifier show the low 32 bits, hh
 *   and h 8 and 16 bits, l ll j z t all 64; flags - 0 + space #, width and precision as C.
 * - %p: 0x and the hex of the whole value, (nil) for 0. %c of 0 prints nothing (a NUL ends
 *   a conversion's output, padding after it included).
 * - %s of an integer: its decimal; precision cuts, width pads with spaces.
 * - %r, %rx, %rh: a string's bytes printable as they are and others as \xNN; every byte as
 *   \xNN; bytes in hex separated by spaces.
 * - %% is %.
 *
 * It shows that the stage interface carries printf: scry checks the formats and sends each
 * call's format number and arguments; everything else is here. The benchmark compares it
 * with the native printf.
 */
#include <scry_plugin.h>

SCRY_DESCRIPTOR("sink args\n")

typedef struct {
  int spec;                 /* 0: literal text */
  const char *lit;          /* literal: its bytes (%% already %) */
  uint32_t lit_len;
  int left, zero, plus, space, alt;
  int32_t width, prec;      /* -1: none */
  int bits;                 /* integer conversions: 8, 16, 32 or 64 */
  char conv;                /* d u o x X c p s r R (%rx) H (%rh) */
} piece;

typedef struct {
  piece *pieces;
  uint32_t n;
} format;

static format *formats;
static scry_buf out, conv;

/* Parses format `f` into pieces; 0 on success. */
static int parse(const scry_format *f, format *into) {
  const char *s = f->text.ptr, *end = s + f->text.len;
  /* At most one piece per byte, and the literals' bytes fit in the text's. */
  piece *p = calloc(f->text.len + 1, sizeof *p);
  char *lits = malloc(f->text.len + 1);
  if (!p || !lits) return scry_fail("out of memory");
  uint32_t n = 0;
  char *lit = lits;
  while (s < end) {
    if (*s != '%' || (s + 1 < end && s[1] == '%')) {
      if (n == 0 || p[n - 1].spec) p[n++] = (piece){.lit = lit};
      *lit++ = *s;
      p[n - 1].lit_len++;
      s += *s == '%' ? 2 : 1;
      continue;
    }
    piece *c = &p[n++];
    *c = (piece){.spec = 1, .width = -1, .prec = -1, .bits = 32};
    for (s++; s < end; s++) {
      if (*s == '-') c->left = 1;
      else if (*s == '0') c->zero = 1;
      else if (*s == '+') c->plus = 1;
      else if (*s == ' ') c->space = 1;
      else if (*s == '#') c->alt = 1;
      else break;
    }
    for (; s < end && *s >= '0' && *s <= '9'; s++) c->width = (c->width < 0 ? 0 : c->width) * 10 + (*s - '0');
    if (s < end && *s == '.') {
      c->prec = 0;
      for (s++; s < end && *s >= '0' && *s <= '9'; s++) c->prec = c->prec * 10 + (*s - '0');
    }
    if (end - s >= 2 && s[0] == 'h' && s[1] == 'h') c->bits = 8, s += 2;
    else if (end - s >= 2 && s[0] == 'l' && s[1] == 'l') c->bits = 64, s += 2;
    else if (s < end && *s == 'h') c->bits = 16, s++;
    else if (s < end && (*s == 'l' || *s == 'j' || *s == 'z' || *s == 't')) c->bits = 64, s++;
    if (s >= end) return scry_fail("a format ends inside a conversion");
    c->conv = *s++;
    if (c->conv == 'i') c->conv = 'd';
    if (c->conv == 'r' && s < end && (*s == 'x' || *s == 'h')) c->conv = *s++ == 'x' ? 'R' : 'H';
    if (!strchr("duoxXcpsrRH", c->conv)) return scry_fail("unknown conversion in a format");
  }
  into->pieces = p;
  into->n = n;
  return 0;
}

/* Parses the formats of scry_run from number `first` on. */
static int parse_from(uint32_t first) {
  format *f = realloc(formats, (scry_run.formats + 1) * sizeof *f);
  if (!f) return scry_fail("out of memory");
  formats = f;
  for (uint32_t i = first; i < scry_run.formats; i++)
    if (parse(&scry_run.format[i], &formats[i])) return 1;
  return 0;
}

SCRY_EXPORT(scry_init) int32_t scry_init(int32_t ptr, int32_t len) {
  if (scry_read_run(ptr, len)) return 1;
  return parse_from(0);
}

/* ABI 1.2: the formats of later REPL entries, numbered after those already known. */
SCRY_EXPORT(scry_formats) int32_t scry_formats(int32_t ptr, int32_t len) {
  uint32_t first = scry_run.formats;
  if (scry_read_formats(ptr, len)) return 1;
  return parse_from(first);
}

/* Pads prefix + body to the width into `conv`: spaces after with -, zeros between prefix and
   body with 0 (when zeros are allowed), else spaces before. */
static void pad(const piece *c, const char *prefix, uint32_t plen, const char *body,
                uint32_t blen, int zeros) {
  uint32_t fill = c->width > (int32_t)(plen + blen) ? (uint32_t)c->width - plen - blen : 0;
  if (!c->left && !(c->zero && zeros))
    for (uint32_t i = 0; i < fill; i++) scry_buf_char(&conv, ' ');
  scry_buf_put(&conv, prefix, plen);
  if (!c->left && c->zero && zeros)
    for (uint32_t i = 0; i < fill; i++) scry_buf_char(&conv, '0');
  scry_buf_put(&conv, body, blen);
  if (c->left)
    for (uint32_t i = 0; i < fill; i++) scry_buf_char(&conv, ' ');
}

static scry_buf digits;

/* Digits of `mag` in `base` after `prefix`, with the precision, # for octal and the width. */
static void number(const piece *c, const char *prefix, uint32_t plen, uint64_t mag, unsigned base,
                   int upper) {
  const char *table = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char d[22]; /* a u64 in octal */
  uint32_t n = 0;
  if (!(c->prec == 0 && mag == 0)) do {
      d[sizeof d - 1 - n++] = table[mag % base];
      mag /= base;
    } while (mag);
  scry_buf_clear(&digits);
  for (uint32_t z = n; c->prec > 0 && z < (uint32_t)c->prec; z++) scry_buf_char(&digits, '0');
  if (base == 8 && c->alt && digits.len == 0 && (n == 0 || d[sizeof d - n] != '0'))
    scry_buf_char(&digits, '0');
  scry_buf_put(&digits, d + sizeof d - n, n);
  pad(c, prefix, plen, digits.ptr, digits.len, c->prec < 0);
}

/* The bytes %r, %rx and %rh show of `s`. */
static void raw(const piece *c, scry_str s, scry_buf *into) {
  static const char hex[] = "0123456789abcdef";
  for (uint32_t i = 0; i < s.len; i++) {
    unsigned char b = (unsigned char)s.ptr[i];
    if (c->conv == 'r' && b >= 32 && b <= 126) {
      scry_buf_char(into, (char)b);
    } else if (c->conv == 'H') {
      if (i) scry_buf_char(into, ' ');
      scry_buf_char(into, hex[b >> 4]);
      scry_buf_char(into, hex[b & 15]);
    } else {
      char e[4] = {'\\', 'x', hex[b >> 4], hex[b & 15]};
      scry_buf_put(into, e, 4);
    }
  }
}

static scry_buf text;

/* One conversion of one argument (of run type `type`) into `conv`. */
static void convert(const piece *c, uint8_t type, scry_reader *args) {
  scry_str s = {"", 0};
  uint64_t v = 0;
  if (type == SCRY_ARG_STR) s = scry_read_str(args);
  else v = scry_read_u64(args);
  const char *sign = c->plus ? "+" : c->space ? " " : "";
  switch (c->conv) {
  case 's':
  case 'r':
  case 'R':
  case 'H':
    scry_buf_clear(&text);
    if (type == SCRY_ARG_I64) scry_buf_dec(&text, (int64_t)v);
    else if (type == SCRY_ARG_U64) scry_buf_udec(&text, v);
    else if (c->conv == 's') scry_buf_text(&text, s);
    else raw(c, s, &text);
    uint32_t n = text.len;
    if (c->prec >= 0 && (uint32_t)c->prec < n) n = (uint32_t)c->prec;
    pad(c, "", 0, text.ptr, n, 0);
    break;
  case 'c': {
    char ch = (char)v;
    pad(c, "", 0, &ch, 1, 0);
    break;
  }
  case 'p':
    if (v == 0) {
      pad(c, "", 0, "(nil)", 5, 0);
    } else {
      char prefix[3] = {sign[0], '0', 'x'};
      uint32_t plen = sign[0] ? 3 : 2;
      number(c, sign[0] ? prefix : prefix + 1, plen, v, 16, 0);
    }
    break;
  case 'd': {
    int shift = 64 - c->bits;
    int64_t sv = (int64_t)(v << shift) >> shift;
    const char *p = sv < 0 ? "-" : sign;
    number(c, p, (uint32_t)strlen(p), sv < 0 ? 0 - (uint64_t)sv : (uint64_t)sv, 10, 0);
    break;
  }
  default: { /* u o x X */
    int shift = 64 - c->bits;
    uint64_t mag = (v << shift) >> shift;
    unsigned base = c->conv == 'u' ? 10 : c->conv == 'o' ? 8 : 16;
    const char *p = c->alt && mag && base == 16 ? (c->conv == 'X' ? "0X" : "0x") : "";
    number(c, p, (uint32_t)strlen(p), mag, base, c->conv == 'X');
  }
  }
}

SCRY_EXPORT(scry_sink) int32_t scry_sink(int32_t ptr, int32_t len, int32_t count) {
  scry_reader r = scry_reader_of((const void *)(uintptr_t)ptr, (uint32_t)len);
  scry_buf_clear(&out);
  for (int32_t i = 0; i < count; i++) {
    scry_record rec = scry_read_record(&r);
    if (r.bad) return scry_fail("truncated records");
    if (rec.kind != SCRY_REC_PRINTF) continue;
    const format *f = &formats[rec.format];
    const uint8_t *types = scry_run.format[rec.format].types;
    uint32_t arg = 0;
    for (uint32_t k = 0; k < f->n; k++) {
      const piece *c = &f->pieces[k];
      if (!c->spec) {
        scry_buf_put(&out, c->lit, c->lit_len);
      } else if (arg < scry_run.format[rec.format].args) {
        scry_buf_clear(&conv);
        convert(c, types[arg++], &rec.args);
        /* A NUL ends the conversion's output. */
        const char *nul = conv.len ? memchr(conv.ptr, 0, conv.len) : NULL;
        scry_buf_put(&out, conv.ptr, nul ? (uint32_t)(nul - conv.ptr) : conv.len);
      }
    }
  }
  if (out.oom || conv.oom || text.oom || digits.oom) return scry_fail("out of memory");
  if (out.len) scry_output(out.ptr, (int32_t)out.len);
  return 0;
}
