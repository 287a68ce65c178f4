/* poly_memo.c: schedules isl's scheduler computed, kept as text so that
 * plans on other isl contexts (and threads) reuse them (poly.h). The tuner
 * plans dozens of candidates of one function: their kernels' models are
 * the same and isl's schedule before the options' tiling depends only on
 * the model and isl's scheduling options, so the dependence analysis and
 * the scheduler run once per distinct key instead of once per candidate. */
#include "poly.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct memo_entry {
  char *key, *schedule;
} memo_entry;

struct poly_memo {
  pthread_mutex_t lock;
  memo_entry *entries;
  int n, cap;
  long hits;
};

poly_memo *poly_memo_new(void)
{
  poly_memo *m = calloc(1, sizeof *m);
  if (m)
    pthread_mutex_init(&m->lock, NULL);
  return m;
}

void poly_memo_free(poly_memo *m)
{
  if (!m)
    return;
  for (int i = 0; i < m->n; i++) {
    free(m->entries[i].key);
    free(m->entries[i].schedule);
  }
  free(m->entries);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

static memo_entry *find(poly_memo *m, const char *key)
{
  for (int i = 0; i < m->n; i++)
    if (!strcmp(m->entries[i].key, key))
      return &m->entries[i];
  return NULL;
}

char *poly_memo_get(poly_memo *m, const char *key)
{
  pthread_mutex_lock(&m->lock);
  memo_entry *e = find(m, key);
  char *text = e ? strdup(e->schedule) : NULL;
  m->hits += text != NULL;
  pthread_mutex_unlock(&m->lock);
  return text;
}

static bool grow(poly_memo *m)
{
  if (m->n < m->cap)
    return true;
  int cap = m->cap ? 2 * m->cap : 16;
  memo_entry *bigger = realloc(m->entries, sizeof *bigger * (size_t)cap);
  if (!bigger)
    return false;
  m->entries = bigger;
  m->cap = cap;
  return true;
}

void poly_memo_put(poly_memo *m, const char *key, const char *schedule)
{
  pthread_mutex_lock(&m->lock);
  char *k = NULL, *s = NULL;
  if (!find(m, key) && grow(m) && (k = strdup(key)) && (s = strdup(schedule))) {
    m->entries[m->n++] = (memo_entry){k, s};
    k = s = NULL;
  }
  free(k);
  free(s);
  pthread_mutex_unlock(&m->lock);
}

long poly_memo_hits(poly_memo *m)
{
  pthread_mutex_lock(&m->lock);
  long hits = m->hits;
  pthread_mutex_unlock(&m->lock);
  return hits;
}
