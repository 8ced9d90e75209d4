/*
 * trailwarden's native scanner, a Node-API module:
 *
 *   gunzip(gzipped, out) -> bytes written into out, or a negative code (then use zlib, which knows
 *     every edge case and gives the proper error). libdeflate inflates whole buffers about twice as
 *     fast as zlib.
 *   findRecords(document, names, contains, skipTests, skipsByName) -> Int32Array [status, records, offset, start, end, name, ...]
 *     The twin of RecordsReader in src/scan/records-reader.ts for a whole document: it validates
 *     the document as JSON.parse would and finds the candidate records, the elements of the last
 *     top-level "Records" array whose own eventName equals one of names (name = its index) or contains one
 *     of contains (name = -1), or must be parsed to know (name = -2), less those the skip tests rule out.
 *     status 0, or the reader's Corrupt code with offset, or -1: an escaped top-level key, read it in
 *     JavaScript. skipTests: [topLevelKey, everyKey] Buffer pairs; skipsByName[name]: Int32Array of tests.
 *   findRecords(..., foldedNames, foldedContains, literals): also the records whose eventName equals or
 *     contains one of these with ASCII letters folded, or whose text contains a literal so (name = -1),
 *     as candidate-matcher.ts decides.
 */
#define _GNU_SOURCE /* memmem */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "libdeflate.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#define GUNZIP_BAD_DATA (-1)
#define GUNZIP_NO_ROOM (-2)
#define GUNZIP_NOT_ONE_GZIP (-3)


static napi_value throw_type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static int buffer_arg(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer) return 0;
  return napi_get_buffer_info(env, value, (void **)data, length) == napi_ok;
}

static napi_value gunzip(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint8_t *in, *out;
  size_t in_length, out_length;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || !buffer_arg(env, argv[0], &in, &in_length) || !buffer_arg(env, argv[1], &out, &out_length)) {
    return throw_type_error(env, "gunzip(gzipped: Buffer, out: Buffer)");
  }
  struct libdeflate_decompressor *decompressor = libdeflate_alloc_decompressor();
  if (!decompressor) return throw_type_error(env, "out of memory");
  size_t in_done = 0, out_done = 0;
  int64_t result = 0;
  /* concatenated gzip members, as gzip itself writes them; anything else after a member goes to zlib */
  while (in_done < in_length) {
    size_t member_in = 0, member_out = 0;
    if (in_length - in_done < 2 || in[in_done] != 0x1f || in[in_done + 1] != 0x8b) {
      result = GUNZIP_NOT_ONE_GZIP;
      break;
    }
    enum libdeflate_result r = libdeflate_gzip_decompress_ex(decompressor, in + in_done, in_length - in_done,
                                                             out + out_done, out_length - out_done, &member_in, &member_out);
    if (r != LIBDEFLATE_SUCCESS) {
      result = r == LIBDEFLATE_INSUFFICIENT_SPACE ? GUNZIP_NO_ROOM : GUNZIP_BAD_DATA;
      break;
    }
    in_done += member_in;
    out_done += member_out;
  }
  libdeflate_free_decompressor(decompressor);
  napi_value value;
  napi_create_int64(env, result < 0 ? result : (int64_t)out_done, &value);
  return value;
}

typedef struct {
  int32_t *items;
  size_t length, capacity;
} Int32List;

static int push(Int32List *list, int32_t value) {
  if (list->length == list->capacity) {
    size_t capacity = list->capacity ? list->capacity * 2 : 64;
    int32_t *items = realloc(list->items, capacity * sizeof(int32_t));
    if (!items) return 0;
    list->items = items;
    list->capacity = capacity;
  }
  list->items[list->length++] = value;
  return 1;
}

/* the reader's codes (src/scan/records-reader.ts: Corrupt, VERIFY, CONTAINS_MATCH) */
#define NEEDS_JS (-1)
#define INVALID_JSON 1
#define TRUNCATED 2
#define NO_RECORDS 3
#define RECORDS_NOT_ARRAY 4
#define EMPTY 5
#define VERIFY (-2)
#define CONTAINS_MATCH (-1)
#define NOT_A_CANDIDATE (-3)

#define MAX_NAMES 512
#define MAX_CONTAINS 128
#define MAX_LITERALS 64
#define LITERAL_START 1
#define LITERAL_ANY 2
#define MAX_TESTS 4

enum { E_VALUE, E_VALUE_OR_CLOSE, E_KEY_OR_CLOSE, E_KEY, E_COLON, E_COMMA_OR_CLOSE, E_DONE };
enum { ROLE_NONE = 0, ROLE_RECORDS = 1, ROLE_EVENT_NAME = 2, ROLE_EVENT_ID = 3, ROLE_EVENT_TIME = 4, ROLE_TOP = 16, ROLE_EVERY = 32 };
/* a tracked field: absent, a plain string (its span), or anything else */
enum { ABSENT = 0, PLAIN = 1, OTHER = 2 };

typedef struct {
  const uint8_t *bytes;
  size_t length;
  const uint8_t *names[MAX_NAMES];
  size_t name_lengths[MAX_NAMES], name_count;
  const uint8_t *contains[MAX_CONTAINS];
  size_t contains_lengths[MAX_CONTAINS], contains_count;
  /* in lower case, compared with ASCII letters folded (candidate-matcher.ts) */
  const uint8_t *folded_names[MAX_NAMES];
  size_t folded_name_lengths[MAX_NAMES], folded_name_count;
  const uint8_t *folded_contains[MAX_CONTAINS];
  size_t folded_contains_lengths[MAX_CONTAINS], folded_contains_count;
  const uint8_t *literals[MAX_LITERALS];
  size_t literal_lengths[MAX_LITERALS], literal_count;
  /* per byte: LITERAL_START (some literal starts with it, either case) or LITERAL_ANY (a backslash, not ASCII) */
  uint8_t literal_class[256];
  /* bit set of the second bytes (lower case) that follow each first byte in some literal */
  uint8_t literal_second[256][32];
  /* each literal's rarest pair of bytes OR 0x20, and where in it (the SSE2 search; one-byte literals: byte-wise) */
  uint8_t anchors[MAX_LITERALS][2];
  size_t anchor_offsets[MAX_LITERALS], max_anchor_offset;
  int single_byte_literal;
  int empty_literal;
  const uint8_t *top_keys[MAX_TESTS], *every_keys[MAX_TESTS];
  size_t top_key_lengths[MAX_TESTS], every_key_lengths[MAX_TESTS], test_count;
  int32_t skips[MAX_NAMES][MAX_TESTS];
  size_t skip_counts[MAX_NAMES];
  uint8_t *stack;
  size_t depth, stack_capacity;
  int records_seen, records_is_array, in_records;
  int32_t records;
  Int32List out;
  int in_record;
  size_t record_start;
  int name_kind, verify, id_kind, time_kind;
  size_t name_start, name_length, id_length, time_start, time_length;
  int top_kind[MAX_TESTS], every_kind[MAX_TESTS];
  size_t top_start[MAX_TESTS], top_length[MAX_TESTS], every_start[MAX_TESTS], every_length[MAX_TESTS];
  int failed;
  /* bit k: some key the reader tracks has length k, at a record's own level and deeper in it */
  uint64_t record_key_lengths, nested_key_lengths;
} Reader;

/* byte classes: JSON whitespace, and the bytes that end a number or literal */
#define SPACE 1
#define DELIMITER 2
static const uint8_t CLASS[256] = {
  ['\t'] = SPACE | DELIMITER, ['\n'] = SPACE | DELIMITER, ['\r'] = SPACE | DELIMITER, [' '] = SPACE | DELIMITER,
  [','] = DELIMITER, ['}'] = DELIMITER, [']'] = DELIMITER, [':'] = DELIMITER, ['"'] = DELIMITER, ['{'] = DELIMITER, ['['] = DELIMITER,
};

static inline int is_space(uint8_t c) { return CLASS[c] & SPACE; }

static inline int is_delimiter(uint8_t c) { return CLASS[c] & DELIMITER; }

static int is_hex(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* a number, true, false or null, exactly */
static int valid_scalar(const uint8_t *p, size_t length) {
  if ((length == 4 && memcmp(p, "true", 4) == 0) || (length == 5 && memcmp(p, "false", 5) == 0) || (length == 4 && memcmp(p, "null", 4) == 0)) return 1;
  size_t i = 0;
  if (i < length && p[i] == '-') i++;
  if (i >= length) return 0;
  if (p[i] == '0') i++;
  else if (p[i] >= '1' && p[i] <= '9') while (i < length && is_digit(p[i])) i++;
  else return 0;
  if (i < length && p[i] == '.') {
    i++;
    if (i >= length || !is_digit(p[i])) return 0;
    while (i < length && is_digit(p[i])) i++;
  }
  if (i < length && (p[i] == 'e' || p[i] == 'E')) {
    i++;
    if (i < length && (p[i] == '+' || p[i] == '-')) i++;
    if (i >= length || !is_digit(p[i])) return 0;
    while (i < length && is_digit(p[i])) i++;
  }
  return i == length;
}

/* The first byte at or after i that is a quote, a backslash or a control character; n when none. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static size_t next_special_avx2(const uint8_t *b, size_t i, size_t n) {
  const __m256i quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\'), control = _mm256_set1_epi8(0x1f);
  while (i + 32 <= n) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(b + i));
    __m256i hit = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash)),
                                  _mm256_cmpeq_epi8(_mm256_min_epu8(v, control), v));
    uint32_t mask = (uint32_t)_mm256_movemask_epi8(hit);
    if (mask) return i + (size_t)__builtin_ctz(mask);
    i += 32;
  }
  return i;
}
static int have_avx2 = -1;
#endif

static size_t next_special(const uint8_t *b, size_t i, size_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (have_avx2 < 0) have_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
  if (have_avx2) i = next_special_avx2(b, i, n);
#endif
#if defined(__SSE2__)
  {
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1f);
    while (i + 16 <= n) {
      __m128i v = _mm_loadu_si128((const __m128i *)(b + i));
      __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                 _mm_cmpeq_epi8(_mm_min_epu8(v, control), v));
      uint32_t mask = (uint32_t)_mm_movemask_epi8(hit);
      if (mask) return i + (size_t)__builtin_ctz(mask);
      i += 16;
    }
  }
#endif
  while (i < n && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20) i++;
  return i;
}

/*
 * Reads the string whose opening quote is at *at: on success 0, *at just past the closing quote, *end at
 * the closing quote, *escaped set when it held a backslash. Else the Corrupt code, with *error.
 */
static int read_string_slowly(const Reader *r, size_t *at, size_t *end, int *escaped, size_t *error) {
  const uint8_t *b = r->bytes;
  size_t n = r->length, i = *at + 1;
  *escaped = 0;
  for (;;) {
    i = next_special(b, i, n);
    if (i >= n) return TRUNCATED;
    uint8_t c = b[i];
    if (c == '"') break;
    if (c < 0x20) {
      *error = i;
      return INVALID_JSON;
    }
    /* a backslash */
    *escaped = 1;
    size_t backslash = i;
    if (i + 1 >= n) return TRUNCATED;
    c = b[i + 1];
    if (c == 'u') {
      for (size_t k = 2; k < 6; k++) {
        if (i + k >= n) return TRUNCATED;
        if (!is_hex(b[i + k])) {
          *error = backslash;
          return INVALID_JSON;
        }
      }
      i += 6;
    } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
      i += 2;
    } else {
      *error = backslash;
      return INVALID_JSON;
    }
  }
  *end = i;
  *at = i + 1;
  return 0;
}

/* Most strings are plain: 16-byte tests find their closing quote; one with an escape goes the slow way. */
static inline int read_string(const Reader *restrict r, size_t *at, size_t *end, int *escaped, size_t *error) {
#if defined(__SSE2__)
  const uint8_t *restrict b = r->bytes;
  const size_t n = r->length;
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1f);
  for (size_t i = *at + 1; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(b + i));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), _mm_cmpeq_epi8(_mm_min_epu8(v, control), v));
    uint32_t mask = (uint32_t)_mm_movemask_epi8(hit);
    if (!mask) continue;
    size_t first = i + (size_t)__builtin_ctz(mask);
    if (b[first] != '"') break;
    *escaped = 0;
    *end = first;
    *at = first + 1;
    return 0;
  }
#endif
  return read_string_slowly(r, at, end, escaped, error);
}

static int equal_span(const uint8_t *a, size_t a_length, const uint8_t *b, size_t b_length) {
  return a_length == b_length && memcmp(a, b, a_length) == 0;
}

static int contains_span(const uint8_t *haystack, size_t length, const uint8_t *needle, size_t needle_length) {
  return needle_length <= length && memmem(haystack, length, needle, needle_length) != NULL;
}

static int has_non_ascii(const uint8_t *p, size_t length) {
  for (size_t i = 0; i < length; i++) if (p[i] >= 0x80) return 1;
  return 0;
}

static inline uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c; }

/* folded (lower case) equals p with ASCII letters folded */
static int equal_folded(const uint8_t *folded, size_t folded_length, const uint8_t *p, size_t length) {
  if (folded_length != length) return 0;
  for (size_t i = 0; i < length; i++) if (folded[i] != lower(p[i])) return 0;
  return 1;
}

/* haystack with ASCII letters folded contains needle (lower case; empty: always) */
static int contains_folded(const uint8_t *haystack, size_t length, const uint8_t *needle, size_t needle_length) {
  if (needle_length > length) return 0;
  if (needle_length == 0) return 1;
  for (size_t at = 0; at + needle_length <= length; at++) {
    if (lower(haystack[at]) != needle[0]) continue;
    size_t k = 1;
    while (k < needle_length && lower(haystack[at + k]) == needle[k]) k++;
    if (k == needle_length) return 1;
  }
  return 0;
}

/*
 * candidate-matcher.ts: literalHit, on a record's bytes, in one pass: a byte class says whether a
 * literal starts with it (in either case) or it is a backslash or not ASCII.
 */
/* whether a literal, a backslash or a byte outside ASCII may start at p[i] (the byte-wise test) */
static inline int literal_at(const Reader *r, const uint8_t *p, size_t i, size_t length) {
  uint8_t k = r->literal_class[p[i]];
  if (k == 0) return 0;
  if (k & LITERAL_ANY) return 1;
  if (i + 1 < length && !(r->literal_second[lower(p[i])][lower(p[i + 1]) >> 3] & (1 << (lower(p[i + 1]) & 7)))) return 0;
  for (size_t l = 0; l < r->literal_count; l++) {
    size_t n = r->literal_lengths[l];
    if (n <= length - i && r->literals[l][0] == lower(p[i]) && equal_folded(r->literals[l], n, p + i, n)) return 1;
  }
  return 0;
}

static int literal_hit(const Reader *r, const uint8_t *p, size_t length) {
  if (r->empty_literal) return 1;
  size_t i = 0;
#if defined(__SSE2__)
  /*
   * 16 bytes at a time: a backslash or a byte outside ASCII anywhere makes the record a candidate; else
   * a literal is compared only where its anchor (its rarest pair of bytes, OR 0x20, which folds ASCII
   * letters and keeps a superset of the rest) occurs
   */
  const __m128i fold = _mm_set1_epi8(0x20), backslash = _mm_set1_epi8('\\');
  for (; !r->single_byte_literal && i + 17 <= length; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
    if (_mm_movemask_epi8(v) | _mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash))) return 1;
    __m128i next = _mm_or_si128(_mm_loadu_si128((const __m128i *)(p + i + 1)), fold);
    __m128i lowered = _mm_or_si128(v, fold);
    for (size_t l = 0; l < r->literal_count; l++) {
      const uint8_t *anchor = r->anchors[l];
      int mask = _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(lowered, _mm_set1_epi8((char)anchor[0])), _mm_cmpeq_epi8(next, _mm_set1_epi8((char)anchor[1]))));
      while (mask) {
        size_t at = i + (size_t)__builtin_ctz((unsigned)mask);
        size_t n = r->literal_lengths[l], offset = r->anchor_offsets[l];
        if (at >= offset && at - offset + n <= length && equal_folded(r->literals[l], n, p + at - offset, n)) return 1;
        mask &= mask - 1;
      }
    }
  }
  /* the rest byte by byte, from the first start whose anchor the blocks did not reach */
  i = i > r->max_anchor_offset ? i - r->max_anchor_offset : 0;
#endif
  for (; i < length; i++) if (literal_at(r, p, i, length)) return 1;
  return 0;
}

/* how common a byte is in CloudTrail's JSON, 0 (rare) to 40: to anchor each literal on its rarest pair */
static int byte_frequency(uint8_t c) {
  static const char common[] = "zqjxkvwyfhgb9876}{5_4302.1/-pudlmcinrotsae,:\"";
  const char *at = strchr(common, c | 0x20);
  return at && c ? (int)(at - common) : 20;
}

static void begin_record(Reader *r, size_t at) {
  r->in_record = 1;
  r->record_start = at;
  r->name_kind = r->id_kind = r->time_kind = ABSENT;
  r->verify = 0;
  for (size_t t = 0; t < r->test_count; t++) r->top_kind[t] = r->every_kind[t] = ABSENT;
}

static int test_passes(const Reader *r, size_t t) {
  if (r->every_kind[t] == OTHER || r->top_kind[t] == OTHER) return 0;
  if (r->every_kind[t] == ABSENT) return 1;
  return r->top_kind[t] == PLAIN && equal_span(r->bytes + r->top_start[t], r->top_length[t], r->bytes + r->every_start[t], r->every_length[t]);
}

static int two_digits(const uint8_t *p, int low, int high) {
  if (!is_digit(p[0]) || !is_digit(p[1])) return 0;
  int value = (p[0] - '0') * 10 + (p[1] - '0');
  return value >= low && value <= high;
}

/* records-reader.ts: isSurelyEventTime (YYYY-MM-DDTHH:MM:SS[.fraction]Z, days 01-31, hours 00-23) */
static int surely_event_time(const uint8_t *p, size_t length) {
  if (length < 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':' || p[length - 1] != 'Z') return 0;
  for (int i = 0; i < 4; i++) if (!is_digit(p[i])) return 0;
  if (!two_digits(p + 5, 1, 12) || !two_digits(p + 8, 1, 31) || !two_digits(p + 11, 0, 23) || !two_digits(p + 14, 0, 59) || !two_digits(p + 17, 0, 59)) return 0;
  if (length == 20) return 1;
  if (p[19] != '.' || length < 22) return 0;
  for (size_t i = 20; i < length - 1; i++) if (!is_digit(p[i])) return 0;
  return 1;
}

/* candidate-matcher.ts: decide */
static int32_t decide(const Reader *r) {
  if (r->verify) return VERIFY;
  if (r->name_kind != PLAIN) return NOT_A_CANDIDATE;
  const uint8_t *name = r->bytes + r->name_start;
  for (size_t i = 0; i < r->name_count; i++) {
    if (!equal_span(r->names[i], r->name_lengths[i], name, r->name_length)) continue;
    size_t tests = r->skip_counts[i];
    /* a malformed record is never skipped unread: it must be reported */
    int well_formed = r->id_kind == PLAIN && r->id_length > 0 && r->time_kind == PLAIN && surely_event_time(r->bytes + r->time_start, r->time_length);
    if (tests == 0 || !well_formed) return (int32_t)i;
    for (size_t k = 0; k < tests; k++) if (!test_passes(r, (size_t)r->skips[i][k])) return (int32_t)i;
    return NOT_A_CANDIDATE;
  }
  for (size_t i = 0; i < r->contains_count; i++) {
    if (contains_span(name, r->name_length, r->contains[i], r->contains_lengths[i])) return CONTAINS_MATCH;
  }
  if (r->folded_name_count || r->folded_contains_count) {
    if (has_non_ascii(name, r->name_length)) return CONTAINS_MATCH;
    for (size_t i = 0; i < r->folded_name_count; i++) {
      if (equal_folded(r->folded_names[i], r->folded_name_lengths[i], name, r->name_length)) return CONTAINS_MATCH;
    }
    for (size_t i = 0; i < r->folded_contains_count; i++) {
      if (contains_folded(name, r->name_length, r->folded_contains[i], r->folded_contains_lengths[i])) return CONTAINS_MATCH;
    }
  }
  return NOT_A_CANDIDATE;
}

static void end_record(Reader *r, size_t end) {
  r->in_record = 0;
  int32_t name = decide(r);
  if (name == NOT_A_CANDIDATE && r->literal_count && literal_hit(r, r->bytes + r->record_start, end - r->record_start)) name = CONTAINS_MATCH;
  if (name == NOT_A_CANDIDATE) return;
  r->failed |= !push(&r->out, (int32_t)r->record_start) || !push(&r->out, (int32_t)end) || !push(&r->out, name);
}

#define IS_KEY(key, length, literal) ((length) == sizeof(literal) - 1 && memcmp((key), (literal), sizeof(literal) - 1) == 0)

/* What a key means for the value after it (records-reader.ts: keyRole); -1: read it in JavaScript. */
static inline int key_role(Reader *restrict r, size_t start, size_t length, int escaped) {
  const uint8_t *key = r->bytes + start;
  const size_t depth = r->depth;
  if (depth == 1) {
    if (escaped) return -1;
    return IS_KEY(key, length, "Records") ? ROLE_RECORDS : ROLE_NONE;
  }
  if (escaped) {
    if (depth == 3) r->verify = 1;
    for (size_t t = 0; t < r->test_count; t++) r->every_kind[t] = OTHER;
    return ROLE_NONE;
  }
  /* most keys have a length no tracked key has */
  if (length >= 64 || !((depth == 3 ? r->record_key_lengths : r->nested_key_lengths) >> length & 1)) return ROLE_NONE;
  if (depth == 3) {
    if (key[0] == 'e' && key[1] == 'v' && length >= 7) {
      if (IS_KEY(key, length, "eventName")) return ROLE_EVENT_NAME;
      if (IS_KEY(key, length, "eventID")) return ROLE_EVENT_ID;
      if (IS_KEY(key, length, "eventTime")) return ROLE_EVENT_TIME;
    }
    for (size_t t = 0; t < r->test_count; t++) if (length == r->top_key_lengths[t] && memcmp(key, r->top_keys[t], length) == 0) return ROLE_TOP + (int)t;
  }
  for (size_t t = 0; t < r->test_count; t++) {
    if (length == r->every_key_lengths[t] && memcmp(key, r->every_keys[t], length) == 0) return ROLE_EVERY + (int)t;
  }
  return ROLE_NONE;
}

/* A tracked field's string value (records-reader.ts: stringValue). */
static void string_value(Reader *r, int role, size_t start, size_t length, int escaped) {
  if (role == ROLE_EVENT_NAME) {
    r->name_kind = PLAIN;
    r->name_start = start;
    r->name_length = length;
    r->verify |= escaped || has_non_ascii(r->bytes + start, length);
  } else if (role == ROLE_EVENT_ID) {
    r->id_kind = escaped ? OTHER : PLAIN;
    r->id_length = length;
  } else if (role == ROLE_EVENT_TIME) {
    r->time_kind = escaped ? OTHER : PLAIN;
    r->time_start = start;
    r->time_length = length;
  } else if (role >= ROLE_EVERY) {
    size_t t = (size_t)(role - ROLE_EVERY);
    if (escaped) r->every_kind[t] = OTHER;
    else if (length > 0 && r->every_kind[t] != OTHER) {
      if (r->every_kind[t] == ABSENT) {
        r->every_kind[t] = PLAIN;
        r->every_start[t] = start;
        r->every_length[t] = length;
      } else if (!equal_span(r->bytes + start, length, r->bytes + r->every_start[t], r->every_length[t])) {
        r->every_kind[t] = OTHER;
      }
    }
  } else if (role >= ROLE_TOP) {
    size_t t = (size_t)(role - ROLE_TOP);
    r->top_kind[t] = escaped ? OTHER : PLAIN;
    r->top_start[t] = start;
    r->top_length[t] = length;
  }
}

static void other_value(Reader *r, int role) {
  if (role == ROLE_EVENT_NAME) r->name_kind = OTHER;
  else if (role == ROLE_EVENT_ID) r->id_kind = OTHER;
  else if (role == ROLE_EVENT_TIME) r->time_kind = OTHER;
  else if (role >= ROLE_EVERY) r->every_kind[role - ROLE_EVERY] = OTHER;
  else if (role >= ROLE_TOP) r->top_kind[role - ROLE_TOP] = OTHER;
}

static int push_container(Reader *r, uint8_t open) {
  if (r->depth == r->stack_capacity) {
    size_t capacity = r->stack_capacity ? r->stack_capacity * 2 : 256;
    uint8_t *stack = realloc(r->stack, capacity);
    if (!stack) return 0;
    r->stack = stack;
    r->stack_capacity = capacity;
  }
  r->stack[r->depth++] = open;
  return 1;
}

#define FAIL(code, at) do { *error = (at); return (code); } while (0)
#define SKIP_SPACE() while (i < n && b[i] <= ' ' && is_space(b[i])) i++

/*
 * The whole document: 0, a Corrupt code (offset in *error), or NEEDS_JS. A state machine in the manner of
 * simdjson's second stage: each state knows what may come next, so a compact document costs one test per
 * token. The same grammar, hooks and first error as RecordsReader.
 */
static int read_document(Reader *restrict r, size_t *error) {
  const uint8_t *restrict b = r->bytes;
  const size_t n = r->length;
  size_t i = 0;
  int role = ROLE_NONE;
  *error = 0;
  if (n == 0) return EMPTY;
  if (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf) i = 3;

value:
  SKIP_SPACE();
  if (i >= n) FAIL(TRUNCATED, n);
  {
    uint8_t c = b[i];
    int value_role = role;
    role = ROLE_NONE;
    if (r->depth == 1 && value_role == ROLE_RECORDS) {
      /* the last Records key is the one JSON.parse keeps: forget what an earlier one gave */
      r->records_seen = 1;
      r->records_is_array = c == '[';
      r->records = 0;
      r->out.length = 0;
      if (c == '[') r->in_records = 1;
      value_role = ROLE_NONE;
    } else if (r->depth == 2 && r->in_records) {
      r->records++;
      if (c == '{') begin_record(r, i);
    } else if (value_role != ROLE_NONE && r->in_record && c != '"') {
      other_value(r, value_role);
    }
    if (c == '"') {
      size_t start = i + 1, end = 0;
      int escaped = 0, code = read_string(r, &i, &end, &escaped, error);
      if (code) return code;
      if (value_role != ROLE_NONE && r->in_record) string_value(r, value_role, start, end - start, escaped);
      goto after_value;
    }
    if (c == '{') {
      if (!push_container(r, '{')) FAIL(INVALID_JSON, i);
      i++;
      goto object_begin;
    }
    if (c == '[') {
      if (!push_container(r, '[')) FAIL(INVALID_JSON, i);
      i++;
      goto array_begin;
    }
    if (c == '}' || c == ']' || c == ',' || c == ':') FAIL(INVALID_JSON, i);
    size_t start = i;
    while (i < n && !is_delimiter(b[i])) i++;
    if (!valid_scalar(b + start, i - start)) FAIL(INVALID_JSON, start);
    goto after_value;
  }

object_begin:
  SKIP_SPACE();
  if (i >= n) FAIL(TRUNCATED, n);
  if (b[i] == '}') goto close;
  /* falls into key */
key:
  if (i >= n) FAIL(TRUNCATED, n);
  if (b[i] != '"') FAIL(INVALID_JSON, i);
  {
    size_t start = i + 1, end = 0;
    int escaped = 0, code = read_string(r, &i, &end, &escaped, error);
    if (code) return code;
    /* keys matter at depth 1 (is it Records?) and inside a record */
    if (r->depth == 1 || (r->in_record && r->depth >= 3)) {
      role = key_role(r, start, end - start, escaped);
      if (role < 0) return NEEDS_JS;
    }
  }
  SKIP_SPACE();
  if (i >= n) FAIL(TRUNCATED, n);
  if (b[i] != ':') FAIL(INVALID_JSON, i);
  i++;
  goto value;

array_begin:
  SKIP_SPACE();
  if (i >= n) FAIL(TRUNCATED, n);
  if (b[i] == ']') goto close;
  goto value;

after_value:
  if (r->depth == 0) goto done;
  SKIP_SPACE();
  if (i >= n) FAIL(TRUNCATED, n);
  {
    uint8_t c = b[i], open = r->stack[r->depth - 1];
    if (c == ',') {
      i++;
      if (open == '[') goto value;
      SKIP_SPACE();
      goto key;
    }
    if ((c == '}' && open == '{') || (c == ']' && open == '[')) goto close;
    FAIL(INVALID_JSON, i);
  }

close: {
    uint8_t open = r->stack[--r->depth];
    if (open == '[' && r->depth == 1 && r->in_records) r->in_records = 0;
    if (open == '{' && r->depth == 2 && r->in_records && r->in_record) end_record(r, i + 1);
    i++;
    if (r->failed) FAIL(INVALID_JSON, i);
    goto after_value;
  }

done:
  SKIP_SPACE();
  if (i < n) FAIL(INVALID_JSON, i);
  if (!r->records_seen) return NO_RECORDS;
  if (!r->records_is_array) return RECORDS_NOT_ARRAY;
  return 0;
}

static int buffer_list(napi_env env, napi_value array, const uint8_t **items, size_t *lengths, size_t max, size_t *count) {
  bool is_array = false;
  uint32_t length = 0;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array || napi_get_array_length(env, array, &length) != napi_ok || length > max) return 0;
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    uint8_t *data;
    if (napi_get_element(env, array, i, &item) != napi_ok || !buffer_arg(env, item, &data, &lengths[i])) return 0;
    items[i] = data;
  }
  *count = length;
  return 1;
}

static napi_value find_records(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  Reader *r = calloc(1, sizeof(Reader));
  if (!r) return throw_type_error(env, "out of memory");
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *usage =
      "findRecords(document: Buffer, names: Buffer[], contains: Buffer[], skipTests: Buffer[][], skipsByName: Int32Array[], foldedNames?: Buffer[], foldedContains?: Buffer[], literals?: Buffer[])";
  int ok = argc >= 5 && buffer_arg(env, argv[0], (uint8_t **)&r->bytes, &r->length) && r->length <= INT32_MAX &&
           buffer_list(env, argv[1], r->names, r->name_lengths, MAX_NAMES, &r->name_count) &&
           buffer_list(env, argv[2], r->contains, r->contains_lengths, MAX_CONTAINS, &r->contains_count) &&
           (argc < 6 || buffer_list(env, argv[5], r->folded_names, r->folded_name_lengths, MAX_NAMES, &r->folded_name_count)) &&
           (argc < 7 || buffer_list(env, argv[6], r->folded_contains, r->folded_contains_lengths, MAX_CONTAINS, &r->folded_contains_count)) &&
           (argc < 8 || buffer_list(env, argv[7], r->literals, r->literal_lengths, MAX_LITERALS, &r->literal_count));
  uint32_t tests = 0, named = 0;
  bool is_array = false;
  ok = ok && napi_is_array(env, argv[3], &is_array) == napi_ok && is_array && napi_get_array_length(env, argv[3], &tests) == napi_ok && tests <= MAX_TESTS;
  for (uint32_t t = 0; ok && t < tests; t++) {
    napi_value pair;
    const uint8_t *keys[2];
    size_t lengths[2], count = 0;
    ok = napi_get_element(env, argv[3], t, &pair) == napi_ok && buffer_list(env, pair, keys, lengths, 2, &count) && count == 2;
    if (!ok) break;
    r->top_keys[t] = keys[0];
    r->top_key_lengths[t] = lengths[0];
    r->every_keys[t] = keys[1];
    r->every_key_lengths[t] = lengths[1];
  }
  r->test_count = tests;
  r->record_key_lengths = 1ull << 9 | 1ull << 7; /* eventName, eventTime, eventID */
  for (uint32_t t = 0; ok && t < tests; t++) {
    if (r->top_key_lengths[t] < 64) r->record_key_lengths |= 1ull << r->top_key_lengths[t];
    if (r->every_key_lengths[t] < 64) r->nested_key_lengths |= 1ull << r->every_key_lengths[t];
    ok = r->top_key_lengths[t] > 0 && r->top_key_lengths[t] < 64 && r->every_key_lengths[t] > 0 && r->every_key_lengths[t] < 64;
  }
  r->record_key_lengths |= r->nested_key_lengths;
  ok = ok && napi_is_array(env, argv[4], &is_array) == napi_ok && is_array && napi_get_array_length(env, argv[4], &named) == napi_ok && named == r->name_count;
  for (uint32_t i = 0; ok && i < named; i++) {
    napi_value list;
    napi_typedarray_type type;
    size_t count = 0;
    void *data = NULL;
    ok = napi_get_element(env, argv[4], i, &list) == napi_ok &&
         napi_get_typedarray_info(env, list, &type, &count, &data, NULL, NULL) == napi_ok && type == napi_int32_array && count <= MAX_TESTS;
    for (size_t k = 0; ok && k < count; k++) ok = ((int32_t *)data)[k] >= 0 && (uint32_t)((int32_t *)data)[k] < tests;
    if (!ok) break;
    memcpy(r->skips[i], data, count * sizeof(int32_t));
    r->skip_counts[i] = count;
  }
  if (!ok) {
    free(r);
    return throw_type_error(env, usage);
  }
  if (r->literal_count) {
    r->literal_class['\\'] = LITERAL_ANY;
    for (int c = 0x80; c < 256; c++) r->literal_class[c] = LITERAL_ANY;
    for (size_t l = 0; l < r->literal_count; l++) {
      if (r->literal_lengths[l] == 0) {
        r->empty_literal = 1;
        continue;
      }
      uint8_t first = r->literals[l][0];
      r->literal_class[first] |= LITERAL_START;
      if (r->literal_lengths[l] == 1) {
        memset(r->literal_second[first], 0xff, 32);
        r->single_byte_literal = 1;
      } else {
        r->literal_second[first][r->literals[l][1] >> 3] |= (uint8_t)(1 << (r->literals[l][1] & 7));
        size_t best = 0;
        for (size_t k = 1; k + 1 < r->literal_lengths[l]; k++) {
          const uint8_t *q = r->literals[l];
          if (byte_frequency(q[k]) + byte_frequency(q[k + 1]) < byte_frequency(q[best]) + byte_frequency(q[best + 1])) best = k;
        }
        r->anchors[l][0] = r->literals[l][best] | 0x20;
        r->anchors[l][1] = r->literals[l][best + 1] | 0x20;
        r->anchor_offsets[l] = best;
        if (best > r->max_anchor_offset) r->max_anchor_offset = best;
      }
      if (first >= 'a' && first <= 'z') r->literal_class[first - 0x20] |= LITERAL_START;
    }
  }
  size_t error = 0;
  int status = read_document(r, &error);
  napi_value result = NULL, array_buffer;
  int32_t *data;
  size_t candidates = status == 0 ? r->out.length : 0;
  if (!r->failed && napi_create_arraybuffer(env, (candidates + 3) * sizeof(int32_t), (void **)&data, &array_buffer) == napi_ok) {
    data[0] = status;
    data[1] = r->records;
    data[2] = (int32_t)error;
    if (candidates) memcpy(data + 3, r->out.items, candidates * sizeof(int32_t));
    napi_create_typedarray(env, napi_int32_array, candidates + 3, array_buffer, 0, &result);
  } else {
    throw_type_error(env, "out of memory");
  }
  free(r->out.items);
  free(r->stack);
  free(r);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn, version;
  napi_create_function(env, "gunzip", NAPI_AUTO_LENGTH, gunzip, NULL, &fn);
  napi_set_named_property(env, exports, "gunzip", fn);
  napi_create_function(env, "findRecords", NAPI_AUTO_LENGTH, find_records, NULL, &fn);
  napi_set_named_property(env, exports, "findRecords", fn);
  const char *reader = "scalar JSON reader";
#if defined(__x86_64__) && defined(__GNUC__)
  reader = __builtin_cpu_supports("avx2") ? "SSE2/AVX2 JSON reader" : "SSE2 JSON reader";
#elif defined(__SSE2__)
  reader = "SSE2 JSON reader";
#endif
  char text[96];
  snprintf(text, sizeof text, "libdeflate %s, %s", LIBDEFLATE_VERSION_STRING, reader);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &version);
  napi_set_named_property(env, exports, "version", version);
  return exports;
}
