/* merge.c - per-stream queues and the event-time order across streams. */
#include "renewald/core/merge.h"

#include <stdlib.h>
#include <string.h>

#include "renewald/config.h"

struct qitem {
    struct rw_merge_item it; /* pointers rebuilt from the offsets at peek */
    size_t id_off, raw_off;
    bool has_raw;
};

struct queue {
    struct qitem *items;
    size_t head, n, cap;
    char *bytes; /* ids and raw events */
    size_t used, bcap;
    bool drained;
    uint64_t drained_seq; /* the read that found it at its end */
};

struct rw_merge {
    int nstreams;
    struct queue q[RW_MAX_STREAMS];
    int peeked; /* stream of the last peek, -1 */
};

struct rw_merge *rw_merge_new(int nstreams)
{
    struct rw_merge *m = rw_xcalloc(1, sizeof(*m));
    m->nstreams = nstreams < 1 ? 1 : nstreams > RW_MAX_STREAMS ? RW_MAX_STREAMS : nstreams;
    m->peeked = -1;
    return m;
}

void rw_merge_free(struct rw_merge *m)
{
    if (!m)
        return;
    for (int s = 0; s < RW_MAX_STREAMS; s++) {
        free(m->q[s].items);
        free(m->q[s].bytes);
    }
    free(m);
}

void rw_merge_clear(struct rw_merge *m)
{
    for (int s = 0; s < RW_MAX_STREAMS; s++) {
        m->q[s].head = m->q[s].n = 0;
        m->q[s].used = 0;
        m->q[s].drained = false;
        m->q[s].drained_seq = 0;
    }
    m->peeked = -1;
}

static size_t put_bytes(struct queue *q, const char *s, size_t n)
{
    if (q->used + n + 1 > q->bcap) {
        size_t cap = q->bcap ? q->bcap : 4096;
        while (cap < q->used + n + 1)
            cap *= 2;
        q->bytes = rw_xrealloc(q->bytes, cap);
        q->bcap = cap;
    }
    size_t off = q->used;
    if (n)
        memcpy(q->bytes + off, s, n);
    q->bytes[off + n] = '\0';
    q->used += n + 1;
    return off;
}

void rw_merge_push(struct rw_merge *m, int stream, struct rw_entry_id id, bool bad_id,
                   const char *id_str, size_t id_len, const char *raw, size_t raw_len,
                   int64_t key_ms, uint64_t read_seq)
{
    if (stream < 0 || stream >= m->nstreams)
        return;
    struct queue *q = &m->q[stream];
    if (q->head == q->n) { /* empty: reuse the memory from the start */
        q->head = q->n = 0;
        q->used = 0;
    }
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 256;
        q->items = rw_xrealloc(q->items, q->cap * sizeof(*q->items));
    }
    struct qitem *qi = &q->items[q->n++];
    memset(qi, 0, sizeof(*qi));
    qi->it.stream = stream;
    qi->it.id = id;
    qi->it.bad_id = bad_id;
    qi->it.id_len = id_len;
    qi->it.raw_len = raw ? raw_len : 0;
    qi->it.key_ms = key_ms;
    qi->it.read_seq = read_seq;
    qi->id_off = put_bytes(q, id_str, id_len);
    qi->has_raw = raw != NULL;
    qi->raw_off = raw ? put_bytes(q, raw, raw_len) : 0;
    m->peeked = -1;
}

void rw_merge_set_drained(struct rw_merge *m, int stream, bool drained, uint64_t read_seq)
{
    if (stream < 0 || stream >= m->nstreams)
        return;
    m->q[stream].drained = drained;
    m->q[stream].drained_seq = read_seq;
}

bool rw_merge_drained(const struct rw_merge *m, int stream)
{
    return stream >= 0 && stream < m->nstreams && m->q[stream].drained;
}

size_t rw_merge_queued(const struct rw_merge *m, int stream)
{
    if (stream < 0 || stream >= m->nstreams)
        return 0;
    return m->q[stream].n - m->q[stream].head;
}

size_t rw_merge_queued_all(const struct rw_merge *m)
{
    size_t n = 0;
    for (int s = 0; s < m->nstreams; s++)
        n += rw_merge_queued(m, s);
    return n;
}

/* The stream whose head goes next given queue heads at HEAD[], or -1 (wait / nothing). */
static int choose(const struct rw_merge *m, const size_t *head)
{
    int best = -1;
    int64_t best_key = 0;
    uint64_t seq = 0;
    for (int s = 0; s < m->nstreams; s++) {
        const struct queue *q = &m->q[s];
        if (head[s] == q->n) {
            if (!q->drained)
                return -1; /* it may hold an earlier entry: read it first */
            continue;
        }
        const struct rw_merge_item *it = &q->items[head[s]].it;
        if (best < 0 || it->key_ms < best_key) { /* ties: the earlier stream in the config */
            best = s;
            best_key = it->key_ms;
            seq = it->read_seq;
        }
    }
    /* An empty stream found at its end before that entry was read may have
     * grown since, with something earlier: look again first. */
    for (int s = 0; best >= 0 && s < m->nstreams; s++)
        if (head[s] == m->q[s].n && m->q[s].drained_seq < seq)
            return -1;
    return best;
}

struct rw_merge_item *rw_merge_peek(struct rw_merge *m)
{
    size_t head[RW_MAX_STREAMS];
    for (int s = 0; s < m->nstreams; s++)
        head[s] = m->q[s].head;
    int s = choose(m, head);
    m->peeked = s;
    if (s < 0)
        return NULL;
    struct queue *q = &m->q[s];
    struct qitem *qi = &q->items[q->head];
    qi->it.id_str = q->bytes + qi->id_off;
    qi->it.raw = qi->has_raw ? q->bytes + qi->raw_off : NULL;
    return &qi->it;
}

struct rw_merge_item *rw_merge_ahead(struct rw_merge *m, int stream, size_t k)
{
    if (stream < 0 || stream >= m->nstreams)
        return NULL;
    struct queue *q = &m->q[stream];
    if (k >= q->n - q->head)
        return NULL;
    struct qitem *qi = &q->items[q->head + k];
    qi->it.id_str = q->bytes + qi->id_off;
    qi->it.raw = qi->has_raw ? q->bytes + qi->raw_off : NULL;
    return &qi->it;
}

void rw_merge_pop(struct rw_merge *m)
{
    int s = m->peeked;
    if (s < 0)
        return;
    struct queue *q = &m->q[s];
    if (q->head < q->n)
        q->head++;
    if (q->head == q->n) {
        q->head = q->n = 0;
        q->used = 0;
    }
    m->peeked = -1;
}

uint32_t rw_merge_would_empty(const struct rw_merge *m)
{
    size_t head[RW_MAX_STREAMS];
    for (int s = 0; s < m->nstreams; s++)
        head[s] = m->q[s].head;
    int s;
    while ((s = choose(m, head)) >= 0)
        head[s]++;
    uint32_t mask = 0;
    for (int i = 0; i < m->nstreams; i++)
        if (head[i] == m->q[i].n)
            mask |= 1u << i;
    return mask;
}
