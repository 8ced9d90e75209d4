/*
 * trailwarden's native scanner, a Node-API module:
 *
 *   gunzip(gzipped, out) -> bytes written into out, or a negative code (then use zlib, which knows
 *     every edge case and gives the proper error). libdeflate inflates whole buffers about twice as
 *     fast as zlib.
 *   findCandidates(document, regionStart, regionEnd, names, skips) -> Int32Array [records, start, end, name, cut, ...]
 *     The same answer as findCandidatesInJs in src/cloudtrail/compact-document.ts, in one pass over the
 *     bytes instead of three searches: the records of the region that hold an `"eventName":"<name>"` for
 *     one of names (name = its index), or an eventName key not followed by `:"`, a `\u`, or two different
 *     answers (name = -1: parse to know). Offsets are into document; a record runs from start to end.
 *     skips[name] holds the rules' raw skip tests for that name as pairs of quoted keys (rawTextSkips in
 *     src/cloudtrail/raw-json.ts); a whole record they rule out is left out, a piece of one comes with
 *     cut = 1 (the file must be read exactly).
 *   isOneBalancedObject(raw): the byte test of src/cloudtrail/raw-json.ts, for tests.
 */
#define _GNU_SOURCE /* memmem */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
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

static const char SEPARATOR[] = "},{\"eventVersion\":";
static const size_t SEPARATOR_LENGTH = sizeof(SEPARATOR) - 1;
static const char KEY[] = "\"eventName\"";
static const size_t KEY_LENGTH = sizeof(KEY) - 1;

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

#define NO_CANDIDATE (-2)
#define PARSE_TO_KNOW (-1)
#define MAX_NAMES 64
#define MAX_SKIP_TESTS 4

typedef struct {
  const uint8_t *bytes;
  size_t region_start, region_end;
  const uint8_t *names[MAX_NAMES];
  size_t name_lengths[MAX_NAMES];
  size_t name_count;
  /* per name: pairs of quoted keys (the one value's key, then the key whose every value is checked) */
  const uint8_t *skip_keys[MAX_NAMES][2 * MAX_SKIP_TESTS];
  size_t skip_key_lengths[MAX_NAMES][2 * MAX_SKIP_TESTS];
  size_t skip_tests[MAX_NAMES];
  size_t record_start;
  int32_t answer; /* for the current record: NO_CANDIDATE, PARSE_TO_KNOW or a name index */
  int32_t records;
  Int32List out;
  int failed;
} Scan;

static void answer(Scan *scan, int32_t name) {
  if (scan->answer == NO_CANDIDATE) scan->answer = name;
  else if (scan->answer != name) scan->answer = PARSE_TO_KNOW;
}

/* One object whose braces and brackets balance, strings skipped, closing only at its last byte. */
static int one_balanced_object(const uint8_t *bytes, size_t length) {
  if (length < 2 || bytes[0] != '{' || bytes[length - 1] != '}') return 0;
  long depth = 0;
  for (size_t i = 0; i < length;) {
    uint8_t byte = bytes[i++];
    if (byte == '"') {
      for (;;) {
        const uint8_t *quote = memchr(bytes + i, '"', length - i);
        if (!quote) return 0;
        size_t at = (size_t)(quote - bytes), backslashes = 0;
        while (backslashes < at && bytes[at - 1 - backslashes] == '\\') backslashes++;
        i = at + 1;
        if (backslashes % 2 == 0) break;
      }
    } else if (byte == '{' || byte == '[') {
      depth++;
    } else if (byte == '}' || byte == ']') {
      depth--;
      if ((depth == 0 && i != length) || depth < 0) return 0;
    }
  }
  return depth == 0;
}

/*
 * The next `key":"value"` of raw at or after *at: 1 with the value's span, 0 when there is none, -1 when
 * an occurrence is not followed by `:"` or its value does not end (as stringValuesInJs: parse instead).
 */
static int next_value(const uint8_t *raw, size_t length, const uint8_t *key, size_t key_length, size_t *at, size_t *value, size_t *value_length) {
  if (*at + key_length > length) return 0;
  const uint8_t *hit = memmem(raw + *at, length - *at, key, key_length);
  if (!hit) return 0;
  size_t colon = (size_t)(hit - raw) + key_length;
  if (colon + 1 >= length || raw[colon] != ':' || raw[colon + 1] != '"') return -1;
  const uint8_t *quote = memchr(raw + colon + 2, '"', length - colon - 2);
  if (!quote) return -1;
  *value = colon + 2;
  *value_length = (size_t)(quote - raw) - *value;
  *at = colon; /* as the JavaScript twin: the next key may begin at this value's closing quote */
  return 1;
}

/* rawTextSkips in src/cloudtrail/raw-json.ts: the record cannot matter to the rule that declared the test. */
static int raw_skips(const uint8_t *raw, size_t length, const uint8_t *one_key, size_t one_key_length,
                     const uint8_t *every_key, size_t every_key_length) {
  if (memchr(raw, '\\', length)) return 0;
  size_t at = 0, value = 0, value_length = 0, one = 0, one_length = 0, ones = 0;
  int found;
  while ((found = next_value(raw, length, one_key, one_key_length, &at, &value, &value_length)) == 1) {
    one = value;
    one_length = value_length;
    ones++;
  }
  if (found < 0 || ones != 1) return 0;
  at = 0;
  while ((found = next_value(raw, length, every_key, every_key_length, &at, &value, &value_length)) == 1) {
    if (value_length != 0 && (value_length != one_length || memcmp(raw + value, raw + one, one_length) != 0)) return 0;
  }
  return found == 0;
}

/* Every skip test declared for the name says the record cannot matter (and there is at least one). */
static int skips_record(const Scan *scan, int32_t name, const uint8_t *raw, size_t length) {
  size_t tests = scan->skip_tests[name];
  for (size_t t = 0; t < tests; t++) {
    if (!raw_skips(raw, length, scan->skip_keys[name][2 * t], scan->skip_key_lengths[name][2 * t],
                   scan->skip_keys[name][2 * t + 1], scan->skip_key_lengths[name][2 * t + 1])) {
      return 0;
    }
  }
  return tests > 0;
}

static void end_record(Scan *scan, size_t end) {
  if (scan->answer != NO_CANDIDATE) {
    const uint8_t *raw = scan->bytes + scan->record_start;
    size_t length = end - scan->record_start;
    /* a named record that the skip tests rule out is left out, when it is one whole record; when it is a
       piece of one (cut at a look-alike separator inside it), it goes on marked cut: read the file exactly */
    int32_t cut = 0;
    if (scan->answer >= 0 && skips_record(scan, scan->answer, raw, length)) {
      if (one_balanced_object(raw, length)) {
        scan->answer = NO_CANDIDATE;
        scan->records++;
        return;
      }
      cut = 1;
    }
    scan->failed |= !push(&scan->out, (int32_t)scan->record_start) || !push(&scan->out, (int32_t)end) ||
                    !push(&scan->out, scan->answer) || !push(&scan->out, cut);
  }
  scan->answer = NO_CANDIDATE;
  scan->records++;
}

/* The key's value, when it is one of the names; -2 when it is not, -1 when not `:"`. */
static int32_t name_after_key(const Scan *scan, size_t colon) {
  const uint8_t *bytes = scan->bytes;
  if (colon + 1 >= scan->region_end || bytes[colon] != ':' || bytes[colon + 1] != '"') return PARSE_TO_KNOW;
  size_t value = colon + 2;
  const uint8_t *quote = memchr(bytes + value, '"', scan->region_end - value);
  if (!quote) return NO_CANDIDATE;
  size_t length = (size_t)(quote - (bytes + value));
  for (size_t i = 0; i < scan->name_count; i++) {
    if (scan->name_lengths[i] == length && memcmp(scan->names[i], bytes + value, length) == 0) return (int32_t)i;
  }
  return NO_CANDIDATE;
}

/* Looks at position at, where one of the anchors may begin; returns where to look next. */
static size_t visit(Scan *scan, size_t at) {
  const uint8_t *bytes = scan->bytes;
  size_t left = scan->region_end - at;
  if (bytes[at] == '}' && left >= SEPARATOR_LENGTH && memcmp(bytes + at, SEPARATOR, SEPARATOR_LENGTH) == 0) {
    end_record(scan, at + 1);
    scan->record_start = at + 2;
    return at + SEPARATOR_LENGTH;
  }
  if (bytes[at] == '"' && left >= KEY_LENGTH && memcmp(bytes + at, KEY, KEY_LENGTH) == 0) {
    int32_t name = name_after_key(scan, at + KEY_LENGTH);
    if (name != NO_CANDIDATE) answer(scan, name);
    return at + KEY_LENGTH;
  }
  if (bytes[at] == '\\' && left >= 2 && bytes[at + 1] == 'u') {
    answer(scan, PARSE_TO_KNOW);
    return at + 2;
  }
  return at + 1;
}

/*
 * Each anchor is found by two or three of its bytes at once (a separator by `}` and the `V` of
 * eventVersion, a key by `"`, the `v` and the `N` of eventName, an escape by `\` and `u`); visit()
 * checks the rest. One block of WIDTH bytes per step; the farthest byte read is at + 9 + WIDTH - 1.
 */
#define SCAN_BLOCKS(WIDTH, VECTOR, LOAD, SET1, EQ, AND, OR, MASK)                                      \
  {                                                                                                  \
    const VECTOR close_brace = SET1('}'), capital_v = SET1('V'), quote = SET1('"');                  \
    const VECTOR small_v = SET1('v'), capital_n = SET1('N'), backslash = SET1('\\'), small_u = SET1('u'); \
    while (at + 9 + WIDTH <= end) {                                                                  \
      const uint8_t *p = bytes + at;                                                                 \
      VECTOR at0 = LOAD(p), at1 = LOAD(p + 1), at2 = LOAD(p + 2), at6 = LOAD(p + 6), at9 = LOAD(p + 9); \
      VECTOR separator = AND(EQ(at0, close_brace), EQ(at9, capital_v));                              \
      VECTOR key = AND(EQ(at0, quote), AND(EQ(at2, small_v), EQ(at6, capital_n)));                   \
      VECTOR escape = AND(EQ(at0, backslash), EQ(at1, small_u));                                     \
      uint32_t mask = (uint32_t)MASK(OR(separator, OR(key, escape)));                                \
      size_t block_end = at + WIDTH;                                                                 \
      while (mask) {                                                                                 \
        size_t next = visit(scan, at + (size_t)__builtin_ctz(mask));                                 \
        mask &= mask - 1;                                                                            \
        /* a match consumed bytes past this hit: drop the hits it covered */                         \
        while (mask && at + (size_t)__builtin_ctz(mask) < next) mask &= mask - 1;                    \
        if (next > block_end) block_end = next;                                                      \
      }                                                                                              \
      at = block_end;                                                                                \
    }                                                                                                \
  }

#if defined(__SSE2__)
static size_t scan_blocks_sse2(Scan *scan, size_t at) {
  const uint8_t *bytes = scan->bytes;
  const size_t end = scan->region_end;
#define LOAD_128(p) _mm_loadu_si128((const __m128i *)(p))
  SCAN_BLOCKS(16, __m128i, LOAD_128, _mm_set1_epi8, _mm_cmpeq_epi8, _mm_and_si128, _mm_or_si128, _mm_movemask_epi8)
  return at;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_SCAN 1
__attribute__((target("avx2"))) static size_t scan_blocks_avx2(Scan *scan, size_t at) {
  const uint8_t *bytes = scan->bytes;
  const size_t end = scan->region_end;
#define LOAD_256(p) _mm256_loadu_si256((const __m256i *)(p))
  SCAN_BLOCKS(32, __m256i, LOAD_256, _mm256_set1_epi8, _mm256_cmpeq_epi8, _mm256_and_si256, _mm256_or_si256, _mm256_movemask_epi8)
  return at;
}
#endif

static void scan_region(Scan *scan) {
  size_t at = scan->region_start;
#if defined(HAVE_AVX2_SCAN)
  if (__builtin_cpu_supports("avx2")) at = scan_blocks_avx2(scan, at);
#endif
#if defined(__SSE2__)
  at = scan_blocks_sse2(scan, at);
#endif
  while (at < scan->region_end) at = visit(scan, at);
  end_record(scan, scan->region_end);
}

static napi_value find_candidates(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  Scan scan;
  memset(&scan, 0, sizeof scan);
  size_t length;
  int64_t start, end;
  uint32_t name_count;
  bool is_array = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5 || !buffer_arg(env, argv[0], (uint8_t **)&scan.bytes, &length) ||
      napi_get_value_int64(env, argv[1], &start) != napi_ok || napi_get_value_int64(env, argv[2], &end) != napi_ok ||
      napi_is_array(env, argv[3], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[3], &name_count) != napi_ok) {
    return throw_type_error(env, "findCandidates(document: Buffer, regionStart: number, regionEnd: number, names: Buffer[], skips: Buffer[][])");
  }
  if (start < 0 || end < start || (uint64_t)end > length || end > INT32_MAX) return throw_type_error(env, "region out of range");
  if (name_count > MAX_NAMES) return throw_type_error(env, "too many event names");
  for (uint32_t i = 0; i < name_count; i++) {
    napi_value name;
    uint8_t *name_bytes;
    if (napi_get_element(env, argv[3], i, &name) != napi_ok || !buffer_arg(env, name, &name_bytes, &scan.name_lengths[i])) {
      return throw_type_error(env, "names must be Buffers");
    }
    scan.names[i] = name_bytes;
    napi_value tests;
    uint32_t key_count = 0;
    bool tests_is_array = false;
    if (napi_get_element(env, argv[4], i, &tests) != napi_ok || napi_is_array(env, tests, &tests_is_array) != napi_ok || !tests_is_array ||
        napi_get_array_length(env, tests, &key_count) != napi_ok || key_count % 2 != 0 || key_count > 2 * MAX_SKIP_TESTS) {
      return throw_type_error(env, "skips[i] must be an array of quoted-key Buffers, in pairs");
    }
    for (uint32_t k = 0; k < key_count; k++) {
      napi_value key;
      uint8_t *key_bytes;
      if (napi_get_element(env, tests, k, &key) != napi_ok || !buffer_arg(env, key, &key_bytes, &scan.skip_key_lengths[i][k]) ||
          scan.skip_key_lengths[i][k] == 0) {
        return throw_type_error(env, "skip keys must be non-empty Buffers");
      }
      scan.skip_keys[i][k] = key_bytes;
    }
    scan.skip_tests[i] = key_count / 2;
  }
  scan.name_count = name_count;
  scan.region_start = scan.record_start = (size_t)start;
  scan.region_end = (size_t)end;
  scan.answer = NO_CANDIDATE;
  scan_region(&scan);

  napi_value result = NULL, array_buffer;
  int32_t *data;
  if (!scan.failed && napi_create_arraybuffer(env, (scan.out.length + 1) * sizeof(int32_t), (void **)&data, &array_buffer) == napi_ok) {
    data[0] = scan.records;
    if (scan.out.length) memcpy(data + 1, scan.out.items, scan.out.length * sizeof(int32_t));
    napi_create_typedarray(env, napi_int32_array, scan.out.length + 1, array_buffer, 0, &result);
  } else {
    throw_type_error(env, "out of memory");
  }
  free(scan.out.items);
  return result;
}

static napi_value is_one_balanced_object(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  uint8_t *raw;
  size_t length;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !buffer_arg(env, argv[0], &raw, &length)) return throw_type_error(env, "isOneBalancedObject(raw: Buffer)");
  napi_get_boolean(env, one_balanced_object(raw, length), &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn, version;
  napi_create_function(env, "gunzip", NAPI_AUTO_LENGTH, gunzip, NULL, &fn);
  napi_set_named_property(env, exports, "gunzip", fn);
  napi_create_function(env, "findCandidates", NAPI_AUTO_LENGTH, find_candidates, NULL, &fn);
  napi_set_named_property(env, exports, "findCandidates", fn);
  napi_create_function(env, "isOneBalancedObject", NAPI_AUTO_LENGTH, is_one_balanced_object, NULL, &fn);
  napi_set_named_property(env, exports, "isOneBalancedObject", fn);
  napi_create_string_utf8(env, "libdeflate " LIBDEFLATE_VERSION_STRING
#if defined(HAVE_AVX2_SCAN)
                          ", SSE2/AVX2 search"
#elif defined(__SSE2__)
                          ", SSE2 search"
#endif
                          , NAPI_AUTO_LENGTH, &version);
  napi_set_named_property(env, exports, "version", version);
  return exports;
}
