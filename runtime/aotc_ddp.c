/* aotc_ddp.c: the MPI runtime of data-parallel training (aotc_ddp.h,
 * docs/ddp.md): a static bucket plan over the gradients in the order the
 * backward pass finishes them, one MPI_Iallreduce per bucket started by
 * the ready hook that fills it, waited and averaged by the first wait hook
 * of the bucket, and an event log for tests. */
#include "aotc_ddp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FILLING, IN_FLIGHT, REDUCED };
enum { FAULT_NONE, FAULT_NO_AVERAGE, FAULT_NO_ALLREDUCE };
enum { LOG_READY, LOG_START, LOG_WAIT };

typedef struct bucket {
  int first, end;  /* its slots */
  size_t offset;   /* its first float in the buffer */
  size_t count;    /* its floats */
  int n_ready;     /* slots ready this step */
  int state;
  int done_early;  /* the reduction had completed before the wait */
  MPI_Request req;
} bucket;

typedef struct event {
  int kind, index, step, detail;
  double t, waited; /* seconds since init; wait: seconds spent in MPI_Wait */
} event;

static struct {
  int on;
  MPI_Comm comm;
  int rank, size, fault;
  int n_slots, n_buckets, step, n_waited;
  int64_t *numel;
  size_t *offset;   /* per slot: its first float in the buffer */
  int *bucket_of;   /* per slot */
  bucket *buckets;
  float *buffer;    /* every gradient, packed by slot */
  double t0;
  char *log_path;   /* AOTC_DDP_LOG, NULL: no log */
  event *log;
  int n_log, log_cap;
} ddp;

static void note(int kind, int index, int detail, double waited)
{
  if (ddp.log && ddp.n_log < ddp.log_cap)
    ddp.log[ddp.n_log++] = (event){kind, index, ddp.step, detail, MPI_Wtime() - ddp.t0, waited};
}

/* Consecutive slots; a gradient that would take a non-empty bucket past
 * cap bytes starts the next one. */
static void plan_buckets(size_t cap)
{
  size_t floats = 0;
  ddp.n_buckets = 0;
  for (int s = 0; s < ddp.n_slots; s++) {
    bucket *b = &ddp.buckets[ddp.n_buckets - 1];
    size_t n = (size_t)ddp.numel[s];
    if (!ddp.n_buckets || (b->count > 0 && (b->count + n) * sizeof(float) > cap)) {
      b = &ddp.buckets[ddp.n_buckets++];
      *b = (bucket){.first = s, .end = s, .offset = floats, .req = MPI_REQUEST_NULL};
    }
    ddp.offset[s] = floats;
    ddp.bucket_of[s] = ddp.n_buckets - 1;
    b->end = s + 1;
    b->count += n;
    floats += n;
  }
}

static int parse_fault(const char *v)
{
  if (!v || !*v)
    return FAULT_NONE;
  if (!strcmp(v, "no-average"))
    return FAULT_NO_AVERAGE;
  if (!strcmp(v, "no-allreduce"))
    return FAULT_NO_ALLREDUCE;
  return -1;
}

static int check_args(int n_grads, const int64_t *numel)
{
  if (ddp.on || n_grads <= 0 || !numel)
    return 1;
  for (int s = 0; s < n_grads; s++)
    if (numel[s] <= 0 || numel[s] > INT32_MAX)
      return 1;
  return 0;
}

static size_t total_floats(int n, const int64_t *numel)
{
  size_t t = 0;
  for (int s = 0; s < n; s++)
    t += (size_t)numel[s];
  return t;
}

static int alloc_state(int n, const int64_t *numel)
{
  ddp.numel = malloc(sizeof(int64_t) * (size_t)n);
  ddp.offset = malloc(sizeof(size_t) * (size_t)n);
  ddp.bucket_of = malloc(sizeof(int) * (size_t)n);
  ddp.buckets = malloc(sizeof(bucket) * (size_t)n);
  ddp.buffer = malloc(sizeof(float) * total_floats(n, numel));
  if (!ddp.numel || !ddp.offset || !ddp.bucket_of || !ddp.buckets || !ddp.buffer)
    return 1;
  memcpy(ddp.numel, numel, sizeof(int64_t) * (size_t)n);
  ddp.n_slots = n;
  return 0;
}

static int alloc_log(void)
{
  const char *path = getenv("AOTC_DDP_LOG");
  if (!path || !*path)
    return 0;
  ddp.log_cap = 1 << 16;
  ddp.log = malloc(sizeof(event) * (size_t)ddp.log_cap);
  ddp.log_path = malloc(strlen(path) + 1);
  if (!ddp.log || !ddp.log_path)
    return 1;
  strcpy(ddp.log_path, path);
  return 0;
}

static void free_state(void)
{
  free(ddp.numel);
  free(ddp.offset);
  free(ddp.bucket_of);
  free(ddp.buckets);
  free(ddp.buffer);
  free(ddp.log);
  free(ddp.log_path);
  memset(&ddp, 0, sizeof ddp);
}

static int open_comm(MPI_Comm comm)
{
  if (MPI_Comm_dup(comm, &ddp.comm) != MPI_SUCCESS)
    return 1;
  MPI_Comm_set_errhandler(ddp.comm, MPI_ERRORS_RETURN);
  return MPI_Comm_rank(ddp.comm, &ddp.rank) != MPI_SUCCESS || MPI_Comm_size(ddp.comm, &ddp.size) != MPI_SUCCESS;
}

int aotc_ddp_init(MPI_Comm comm, int n_grads, const int64_t *numel, size_t bucket_bytes)
{
  int fault = parse_fault(getenv("AOTC_DDP_FAULT"));
  if (check_args(n_grads, numel) || fault < 0)
    return 1;
  if (alloc_state(n_grads, numel) || alloc_log() || open_comm(comm)) {
    free_state();
    return 1;
  }
  plan_buckets(bucket_bytes ? bucket_bytes : AOTC_DDP_BUCKET_BYTES);
  for (int b = 0; b < ddp.n_buckets; b++)
    ddp.buckets[b].state = REDUCED;
  ddp.fault = fault;
  ddp.t0 = MPI_Wtime();
  ddp.on = 1;
  return 0;
}

static void write_log(void)
{
  char name[4096];
  snprintf(name, sizeof name, "%s.%d", ddp.log_path, ddp.rank);
  FILE *f = fopen(name, "w");
  static const char *const kinds[] = {"ready", "start", "wait"};
  for (int i = 0; f && i < ddp.n_log; i++) {
    const event *e = &ddp.log[i];
    fprintf(f, "%d %d %s %d %.1f %d %.1f\n", i, e->step, kinds[e->kind], e->index, 1e6 * e->t, e->detail,
            1e6 * e->waited);
  }
  if (f)
    fclose(f);
}

void aotc_ddp_finalize(void)
{
  if (!ddp.on)
    return;
  for (int b = 0; b < ddp.n_buckets; b++)
    if (ddp.buckets[b].req != MPI_REQUEST_NULL)
      MPI_Wait(&ddp.buckets[b].req, MPI_STATUS_IGNORE);
  if (ddp.log_path)
    write_log();
  MPI_Comm_free(&ddp.comm);
  free_state();
}

int aotc_ddp_rank(void)
{
  return ddp.on ? ddp.rank : 0;
}

int aotc_ddp_size(void)
{
  return ddp.on ? ddp.size : 1;
}

int aotc_ddp_n_buckets(void)
{
  return ddp.n_buckets;
}

int aotc_ddp_bucket_of(int slot)
{
  return ddp.on && slot >= 0 && slot < ddp.n_slots ? ddp.bucket_of[slot] : -1;
}

/* ------------------------------------------------------------------------
 * The hooks
 * ------------------------------------------------------------------------ */

static int bad_call(int slot, const float *grad, int64_t count)
{
  return slot < 0 || slot >= ddp.n_slots || !grad || count != ddp.numel[slot];
}

/* Lets the reductions in flight advance (Open MPI moves a non-blocking
 * collective on only inside MPI calls). */
static void progress(void)
{
  for (int b = 0; b < ddp.n_buckets; b++) {
    bucket *k = &ddp.buckets[b];
    int done = 0;
    if (k->state == IN_FLIGHT && k->req != MPI_REQUEST_NULL && MPI_Test(&k->req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && done)
      k->done_early = 1;
  }
}

static int start(int b)
{
  bucket *k = &ddp.buckets[b];
  k->state = IN_FLIGHT;
  k->done_early = 0;
  note(LOG_START, b, (int)k->count, 0);
  if (ddp.fault == FAULT_NO_ALLREDUCE)
    return 0;
  return MPI_Iallreduce(MPI_IN_PLACE, ddp.buffer + k->offset, (int)k->count, MPI_FLOAT, MPI_SUM, ddp.comm,
                        &k->req) != MPI_SUCCESS;
}

int aotc_ddp_grad_ready(int slot, float *grad, int64_t count)
{
  if (!ddp.on)
    return 0;
  if (bad_call(slot, grad, count))
    return 1;
  int b = ddp.bucket_of[slot];
  bucket *k = &ddp.buckets[b];
  if (k->state == REDUCED)
    k->state = FILLING, k->n_ready = 0;
  if (k->state != FILLING)
    return 1;
  memcpy(ddp.buffer + ddp.offset[slot], grad, sizeof(float) * (size_t)count);
  note(LOG_READY, slot, b, 0);
  progress();
  return ++k->n_ready == k->end - k->first ? start(b) : 0;
}

/* The bucket's sums, once reduced, become averages. */
static int finish(int b)
{
  bucket *k = &ddp.buckets[b];
  int done = k->done_early;
  if (!done && k->req != MPI_REQUEST_NULL && MPI_Test(&k->req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
    return 1;
  double t = MPI_Wtime();
  if (k->req != MPI_REQUEST_NULL && MPI_Wait(&k->req, MPI_STATUS_IGNORE) != MPI_SUCCESS)
    return 1;
  double waited = MPI_Wtime() - t;
  float *v = ddp.buffer + k->offset, p = (float)ddp.size;
  if (ddp.fault != FAULT_NO_AVERAGE)
    for (size_t i = 0; i < k->count; i++)
      v[i] /= p;
  k->state = REDUCED;
  note(LOG_WAIT, b, done || ddp.fault == FAULT_NO_ALLREDUCE, waited);
  return 0;
}

int aotc_ddp_grad_wait(int slot, float *grad, int64_t count)
{
  if (!ddp.on)
    return 0;
  if (bad_call(slot, grad, count))
    return 1;
  int b = ddp.bucket_of[slot];
  if (ddp.buckets[b].state == FILLING || (ddp.buckets[b].state == IN_FLIGHT && finish(b)))
    return 1;
  memcpy(grad, ddp.buffer + ddp.offset[slot], sizeof(float) * (size_t)count);
  if (++ddp.n_waited == ddp.n_slots)
    ddp.n_waited = 0, ddp.step++;
  return 0;
}

/* ------------------------------------------------------------------------
 * Helpers for the caller
 * ------------------------------------------------------------------------ */

int aotc_ddp_broadcast(void *const *bufs, const size_t *bytes, int n)
{
  for (int i = 0; ddp.on && i < n; i++)
    for (size_t at = 0; at < bytes[i]; at += INT32_MAX) {
      size_t len = bytes[i] - at < INT32_MAX ? bytes[i] - at : INT32_MAX;
      if (MPI_Bcast((char *)bufs[i] + at, (int)len, MPI_BYTE, 0, ddp.comm) != MPI_SUCCESS)
        return 1;
    }
  return 0;
}

double aotc_ddp_mean(double v)
{
  double sum = v;
  if (ddp.on && MPI_Allreduce(&v, &sum, 1, MPI_DOUBLE, MPI_SUM, ddp.comm) != MPI_SUCCESS)
    return v;
  return sum / aotc_ddp_size();
}

int aotc_ddp_same_on_all_ranks(const void *p, size_t bytes)
{
  if (!ddp.on)
    return 1;
  void *copy = malloc(bytes ? bytes : 1);
  int same = 0, all = 0;
  if (copy && ddp.rank == 0)
    memcpy(copy, p, bytes);
  void *bufs[] = {copy};
  int err = !copy || aotc_ddp_broadcast(bufs, &bytes, 1);
  if (!err)
    same = memcmp(copy, p, bytes) == 0;
  free(copy);
  if (MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, ddp.comm) != MPI_SUCCESS || err)
    return -1;
  return all;
}
