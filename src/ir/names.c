/* names.c: the one C-name mangling scheme. Every user name (a TC def,
 * tensor or size, an ONNX value, a model's file stem) reaches the emitted C
 * through ir_c_name, used by the model frontends and the C emitter alike.
 *
 * The scheme, applied in this order to a name `raw`:
 *   1. every character outside [A-Za-z0-9_] becomes '_' ("../x" -> "___x");
 *   2. an empty name or one starting with a digit gets the prefix 't'
 *      ("" -> "t", "0" -> "t0");
 *   3. a name C reserves by its prefix ("__", '_' and a capital) or that
 *      starts like the emitted code's own names ("aotc_", "AOTC_") gets the
 *      prefix 'u' ("__A" -> "u__A", "aotc_k" -> "uaotc_k");
 *   4. a reserved word gets a trailing '_' ("int" -> "int_"): C and C++
 *      keywords, the identifiers and macros of the headers the emitted code
 *      includes (math.h, stdint.h, stddef.h, stdbool.h), and the names the
 *      emitted code declares (isl's iterators c0, c1, ..., workspace, sizes,
 *      args);
 *   5. a name already in `taken` gets "_1", "_2", ... : the first of them
 *      not taken ("_" and "aotc", whose suffixed forms "__1" and "aotc_1"
 *      would be reserved, become "u__1" and "uaotc_1").
 * No step can undo an earlier one, so one pass always ends; step 5 tries at
 * most n_taken + 1 suffixes (no suffixed name is reserved). Uniqueness within a function comes
 * from passing the names given so far as `taken`; uniqueness across the
 * entries of one file is checked by the frontend that makes several
 * entries (TC sema, with ir_c_entry_clash). */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

/* C89 .. C23 and C++ keywords (the header is included from C++), the
 * identifiers and macros of stddef.h, stdbool.h, stdint.h and math.h, and
 * the names the emitted code declares or calls. Sorted (strcmp order) for
 * bsearch. */
static const char *const reserved_words[] = {
    "FP_FAST_FMA", "FP_FAST_FMAF", "FP_FAST_FMAL", "FP_ILOGB0", "FP_ILOGBNAN", "FP_INFINITE", "FP_NAN",
    "FP_NORMAL", "FP_SUBNORMAL", "FP_ZERO", "HUGE_VAL", "HUGE_VALF", "HUGE_VALL", "INFINITY", "INT16_C",
    "INT16_MAX", "INT16_MIN", "INT32_C", "INT32_MAX", "INT32_MIN", "INT64_C", "INT64_MAX", "INT64_MIN",
    "INT8_C", "INT8_MAX", "INT8_MIN", "INTMAX_C", "INTMAX_MAX", "INTMAX_MIN", "INTPTR_MAX", "INTPTR_MIN",
    "MATH_ERREXCEPT", "MATH_ERRNO", "NAN", "NULL", "PTRDIFF_MAX", "PTRDIFF_MIN", "SIG_ATOMIC_MAX",
    "SIG_ATOMIC_MIN", "SIZE_MAX", "UINT16_C", "UINT16_MAX", "UINT32_C", "UINT32_MAX", "UINT64_C",
    "UINT64_MAX", "UINT8_C", "UINT8_MAX", "UINTMAX_C", "UINTMAX_MAX", "UINTPTR_MAX", "WCHAR_MAX", "WCHAR_MIN",
    "WINT_MAX", "WINT_MIN", "alignas", "alignof", "and", "and_eq", "args", "asm", "auto", "bitand", "bitor", "blockDim", "blockIdx",
    "bool", "break", "case", "catch", "char", "char16_t", "char32_t", "char8_t", "class", "co_await",
    "co_return", "co_yield", "compl", "concept", "const", "const_cast", "consteval", "constexpr", "constinit",
    "continue", "decltype", "default", "delete", "dim3", "do", "double", "double_t", "dynamic_cast", "else", "enum",
    "errno", "explicit", "export", "extern", "false", "float", "float_t", "for", "fortran", "fpclassify",
    "friend", "goto", "gridDim", "if", "inline", "int", "int16_t", "int32_t", "int64_t", "int8_t", "intmax_t",
    "intptr_t", "isfinite", "isgreater", "isgreaterequal", "isinf", "isless", "islessequal", "islessgreater",
    "isnan", "isnormal", "isunordered", "long", "main", "math_errhandling", "max_align_t", "mutable",
    "namespace", "new", "noexcept", "not", "not_eq", "nullptr", "offsetof", "omp_get_thread_num", "operator",
    "or", "or_eq", "private", "protected", "ptrdiff_t", "public", "register", "reinterpret_cast", "requires",
    "restrict", "return", "short", "signbit", "signed", "size_t", "sizeof", "sizes", "static",
    "static_assert", "static_cast", "stream", "struct", "switch", "template", "this", "threadIdx", "thread_local", "throw", "true",
    "try", "typedef", "typeid", "typename", "typeof", "typeof_unqual", "uint16_t", "uint32_t", "uint64_t",
    "uint8_t", "uintmax_t", "uintptr_t", "union", "unsigned", "using", "virtual", "void", "volatile",
    "warpSize", "wchar_t", "while", "workspace", "xor", "xor_eq",
};

/* math.h functions; each also has an 'f' and an 'l' variant. Sorted. */
static const char *const math_functions[] = {
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "ceil", "copysign", "cos", "cosh",
    "erf", "erfc", "exp", "exp2", "expm1", "fabs", "fdim", "floor", "fma", "fmax", "fmin", "fmod", "frexp",
    "hypot", "ilogb", "j0", "j1", "jn", "ldexp", "lgamma", "llrint", "llround", "log", "log10", "log1p",
    "log2", "logb", "lrint", "lround", "modf", "nan", "nearbyint", "nextafter", "nexttoward", "pow",
    "remainder", "remquo", "rint", "round", "scalbln", "scalbn", "sin", "sinh", "sqrt", "tan", "tanh",
    "tgamma", "trunc", "y0", "y1", "yn",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int compare_word(const void *key, const void *item)
{
  return strcmp(key, *(const char *const *)item);
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
  return bsearch(s, list, n, sizeof(list[0]), compare_word) != NULL;
}

/* A math.h function, or its float or long double variant. */
static bool is_math_function(const char *s)
{
  size_t len = strlen(s);
  char base[32];
  if (in_list(s, math_functions, COUNT(math_functions)))
    return true;
  if (len < 2 || len > sizeof(base) || (s[len - 1] != 'f' && s[len - 1] != 'l'))
    return false;
  memcpy(base, s, len - 1);
  base[len - 1] = 0;
  return in_list(base, math_functions, COUNT(math_functions));
}

/* c0, c1, ...: isl's loop iterators. */
static bool is_iterator_name(const char *s)
{
  if (s[0] != 'c' || !s[1])
    return false;
  for (const char *p = s + 1; *p; p++)
    if (*p < '0' || *p > '9')
      return false;
  return true;
}

/* A name that needs a trailing '_' (step 4). */
static bool is_reserved_word(const char *s)
{
  return in_list(s, reserved_words, COUNT(reserved_words)) || is_math_function(s) || is_iterator_name(s);
}

/* A name that needs the prefix 'u' (step 3). */
static bool has_reserved_prefix(const char *s)
{
  return (s[0] == '_' && (s[1] == '_' || (s[1] >= 'A' && s[1] <= 'Z'))) || !strncmp(s, "aotc_", 5) ||
         !strncmp(s, "AOTC_", 5);
}

static bool is_ident_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool ir_c_name_reserved(const char *s)
{
  return !s[0] || (s[0] >= '0' && s[0] <= '9') || has_reserved_prefix(s) || is_reserved_word(s);
}

/* Steps 1 and 2: only identifier characters, not starting with a digit. */
static char *substitute(aotc_ctx *ctx, const char *raw)
{
  size_t len = strlen(raw), o = 0;
  char *s = ir_alloc(ctx, len + 2);
  if (!s)
    return NULL;
  if (!len || (raw[0] >= '0' && raw[0] <= '9'))
    s[o++] = 't';
  for (size_t k = 0; k < len; k++)
    s[o++] = is_ident_char(raw[k]) ? raw[k] : '_';
  return s;
}

/* Steps 1 to 4: a valid, unreserved C identifier. */
static const char *mangle(aotc_ctx *ctx, const char *raw)
{
  const char *s = substitute(ctx, raw);
  if (s && has_reserved_prefix(s))
    s = ir_sprintf(ctx, "u%s", s);
  if (s && is_reserved_word(s))
    s = ir_sprintf(ctx, "%s_", s);
  return s;
}

static bool is_taken(const char *s, const char *const *taken, int n_taken)
{
  for (int i = 0; i < n_taken; i++)
    if (taken[i] && !strcmp(s, taken[i]))
      return true;
  return false;
}

/* The stem of the suffixed names base_1, base_2, ...: base, unless that
 * makes them reserved ("_" gives "__1", "aotc" gives "aotc_1"), then "u"
 * and base. No name u..._K is reserved, so the suffixes always end. */
static const char *suffix_stem(aotc_ctx *ctx, const char *base)
{
  const char *probe = ir_sprintf(ctx, "%s_1", base);
  return probe && ir_c_name_reserved(probe) ? ir_sprintf(ctx, "u%s", base) : probe ? base : NULL;
}

const char *ir_c_name(aotc_ctx *ctx, const char *raw, const char *const *taken, int n_taken)
{
  const char *base = mangle(ctx, raw), *stem = base && is_taken(base, taken, n_taken) ? suffix_stem(ctx, base) : NULL;
  if (!stem)
    return base && !is_taken(base, taken, n_taken) ? base : NULL;
  for (long k = 1;; k++) {
    const char *s = ir_sprintf(ctx, "%s_%ld", stem, k);
    if (!s || !is_taken(s, taken, n_taken))
      return s;
  }
}

/* The slot of set holding name, or the empty slot where it goes. */
static int name_slot(const ir_name_set *set, const char *name)
{
  size_t i = ir_hash_str(name) & (size_t)(set->cap - 1);
  while (set->slot[i] && strcmp(set->slot[i], name))
    i = (i + 1) & (size_t)(set->cap - 1);
  return (int)i;
}

static bool name_set_grow(aotc_ctx *ctx, ir_name_set *set)
{
  ir_name_set bigger = {NULL, NULL, set->n, set->cap ? 2 * set->cap : 64};
  bigger.slot = IR_NEW_ARRAY(ctx, const char *, bigger.cap);
  bigger.next = IR_NEW_ARRAY(ctx, long, bigger.cap);
  if (!bigger.slot || !bigger.next)
    return false;
  for (int i = 0; i < set->cap; i++)
    if (set->slot[i]) {
      int j = name_slot(&bigger, set->slot[i]);
      bigger.slot[j] = set->slot[i];
      bigger.next[j] = set->next[i];
    }
  *set = bigger;
  return true;
}

bool ir_name_set_add(aotc_ctx *ctx, ir_name_set *set, const char *name)
{
  if ((set->n + 1) * 2 > set->cap && !name_set_grow(ctx, set))
    return false;
  int i = name_slot(set, name);
  if (set->slot[i])
    return false;
  set->slot[i] = name;
  set->next[i] = 1;
  set->n++;
  return true;
}

bool ir_name_set_has(const ir_name_set *set, const char *name)
{
  return set->cap && set->slot[name_slot(set, name)];
}

/* The first suffix to try for base: past those an earlier call took, so
 * that n names of one base cost n tries, not n^2 / 2. */
static long *next_suffix(ir_name_set *set, const char *base)
{
  int i = set->cap ? name_slot(set, base) : -1;
  return i >= 0 && set->slot[i] ? &set->next[i] : NULL;
}

const char *ir_c_name_unique(aotc_ctx *ctx, ir_name_set *set, const char *raw)
{
  const char *base = mangle(ctx, raw), *s = base;
  if (base && ir_name_set_has(set, base)) {
    const char *stem = suffix_stem(ctx, base);
    long *next = next_suffix(set, base), k = *next;
    for (s = base; s && stem && ir_name_set_has(set, s); k++)
      s = ir_sprintf(ctx, "%s_%ld", stem, k);
    if ((next = next_suffix(set, base)))
      *next = k;
  }
  return s && ir_name_set_add(ctx, set, s) ? s : NULL;
}

const char *ir_c_identifier(aotc_ctx *ctx, const char *name)
{
  return ir_c_name(ctx, name, NULL, 0);
}

/* The file-scope names an entry named `name` declares besides itself. */
static const char *const entry_suffixes[] = {"", "_workspace_bytes", "_call", "_call_workspace_bytes",
                                             "_inputs", "_outputs", "_WORKSPACE_BYTES"};

/* An open-addressing set of strings, each with the entry that declares it. */
typedef struct name_set {
  const char **key;
  int *owner;
  size_t cap;
} name_set;

/* Adds s for entry `owner`; returns the entry that declared it before, or -1. */
static int set_add(name_set *set, const char *s, int owner)
{
  size_t i = ir_hash_str(s) & (set->cap - 1);
  for (; set->key[i]; i = (i + 1) & (set->cap - 1))
    if (!strcmp(set->key[i], s))
      return set->owner[i];
  set->key[i] = s;
  set->owner[i] = owner;
  return -1;
}

/* Adds every file-scope name of entry i; the first earlier entry one of them
 * belongs to (*clash: that name), or -1. */
static int add_entry(aotc_ctx *ctx, name_set *set, const char *c_name, int i, const char **clash)
{
  for (size_t k = 0; k < COUNT(entry_suffixes); k++) {
    const char *s = ir_sprintf(ctx, "%s%s", c_name, entry_suffixes[k]);
    int j = s ? set_add(set, s, i) : -1;
    *clash = s;
    if (j >= 0 && j != i)
      return j;
  }
  return -1;
}

int ir_c_entry_clash(aotc_ctx *ctx, const char *const *names, int n, int *other, const char **c_name)
{
  name_set set = {NULL, NULL, 16};
  while (set.cap < 4 * COUNT(entry_suffixes) * (size_t)(n > 0 ? n : 1))
    set.cap *= 2;
  set.key = IR_NEW_ARRAY(ctx, const char *, set.cap);
  set.owner = IR_NEW_ARRAY(ctx, int, set.cap);
  for (int i = 0; set.key && set.owner && i < n; i++) {
    const char *c = ir_c_name(ctx, names[i], NULL, 0);
    int j = c ? add_entry(ctx, &set, c, i, c_name) : -1;
    if (j >= 0) {
      *other = j;
      return i;
    }
  }
  return -1;
}
