/* ts_map.c: a string-keyed hash map (open addressing, FNV-1a, arena
 * storage) for the lookups a hostile archive could make quadratic: classes
 * by qualified name, storages by key. */
#include "ts.h"

#include <string.h>

/* The slot holding key, or the empty slot where it would go. */
static int slot_of(const ts_map *m, const char *key)
{
  int mask = m->cap - 1;
  for (int i = (int)(ir_hash_str(key) & (uint64_t)mask);; i = (i + 1) & mask)
    if (!m->keys[i] || !strcmp(m->keys[i], key))
      return i;
}

void *ts_map_get(const ts_map *m, const char *key)
{
  if (!m->cap)
    return NULL;
  int i = slot_of(m, key);
  return m->keys[i] ? m->values[i] : NULL;
}

static bool rehash(aotc_ctx *ctx, ts_map *m)
{
  ts_map bigger = {.cap = m->cap ? m->cap * 2 : 16};
  bigger.keys = IR_NEW_ARRAY(ctx, const char *, bigger.cap);
  bigger.values = IR_NEW_ARRAY(ctx, void *, bigger.cap);
  if (!bigger.keys || !bigger.values)
    return false;
  for (int i = 0; i < m->cap; i++)
    if (m->keys[i]) {
      int j = slot_of(&bigger, m->keys[i]);
      bigger.keys[j] = m->keys[i];
      bigger.values[j] = m->values[i];
    }
  bigger.n = m->n;
  *m = bigger;
  return true;
}

bool ts_map_put(aotc_ctx *ctx, ts_map *m, const char *key, void *value)
{
  if (2 * (m->n + 1) > m->cap && !rehash(ctx, m))
    return false;
  int i = slot_of(m, key);
  if (!m->keys[i])
    m->n++;
  m->keys[i] = key;
  m->values[i] = value;
  return true;
}
