/* reply_arena.c - hiredis reply objects in a bump arena, reset with each reply. */
#include "renewald/reply_arena.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN (64 * 1024)
#define KEEP_MAX  (1024 * 1024) /* chunk bytes kept across replies */

struct chunk {
    struct chunk *next;
    size_t size, used;
    /* followed by the bytes, max_align_t aligned */
};

struct rw_reply_arena {
    struct chunk *head; /* the chunk being filled; older ones follow */
    void *root;         /* the reply being built: freeing it resets the arena */
    size_t held;
};

static const size_t HDR = (sizeof(struct chunk) + 15) & ~(size_t)15;

struct rw_reply_arena *rw_reply_arena_new(void)
{
    return rw_xcalloc(1, sizeof(struct rw_reply_arena));
}

static void free_chunks(struct chunk *c)
{
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
}

void rw_reply_arena_free(struct rw_reply_arena *a)
{
    if (!a)
        return;
    free_chunks(a->head);
    free(a);
}

size_t rw_reply_arena_held(const struct rw_reply_arena *a)
{
    return a->held;
}

/* N bytes, 16-aligned, or NULL (hiredis then reports out of memory). */
static void *take(struct rw_reply_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;
        c = malloc(HDR + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
        a->held += size;
    }
    void *p = (char *)c + HDR + c->used;
    c->used += n;
    return p;
}

/* The reply is done: keep the newest chunk (and no more than KEEP_MAX), reuse it. */
static void reset(struct rw_reply_arena *a)
{
    a->root = NULL;
    struct chunk *c = a->head;
    if (!c)
        return;
    size_t kept = c->size;
    struct chunk **link = &c->next;
    while (*link && kept + (*link)->size <= KEEP_MAX) {
        kept += (*link)->size;
        link = &(*link)->next;
    }
    free_chunks(*link);
    *link = NULL;
    a->held = kept;
    for (struct chunk *k = a->head; k; k = k->next)
        k->used = 0;
}

/* Before each object: its arena (freeObject gets the object alone). */
struct objhdr {
    struct rw_reply_arena *arena;
    void *pad;
};

/* A new object of TASK: attached to its parent array, or the root. */
static redisReply *object(const redisReadTask *task, size_t extra)
{
    struct rw_reply_arena *a = task->privdata;
    struct objhdr *h = take(a, sizeof(struct objhdr) + sizeof(redisReply) + extra);
    if (!h)
        return NULL;
    h->arena = a;
    redisReply *r = (redisReply *)(h + 1);
    memset(r, 0, sizeof(*r));
    r->type = task->type;
    if (task->parent) {
        redisReply *parent = task->parent->obj;
        parent->element[task->idx] = r;
    } else {
        a->root = r;
    }
    return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    redisReply *r = object(task, len + 1);
    if (!r)
        return NULL;
    r->str = (char *)(r + 1);
    memcpy(r->str, str, len);
    r->str[len] = '\0';
    r->len = len;
    return r;
}

static void *create_array(const redisReadTask *task, int elements)
{
    size_t n = elements > 0 ? (size_t)elements : 0;
    redisReply *r = object(task, n * sizeof(redisReply *));
    if (!r)
        return NULL;
    r->elements = n;
    r->element = n ? (redisReply **)(r + 1) : NULL;
    if (n)
        memset(r->element, 0, n * sizeof(redisReply *));
    return r;
}

static void *create_integer(const redisReadTask *task, long long value)
{
    redisReply *r = object(task, 0);
    if (r)
        r->integer = value;
    return r;
}

static void *create_nil(const redisReadTask *task)
{
    redisReply *r = object(task, 0); /* the task's type is the $ or * it came as */
    if (r)
        r->type = REDIS_REPLY_NIL;
    return r;
}

/* hiredis frees the root of each reply (after its callback, or a partial one
 * when the reader goes); the other objects go with it. */
static void free_object(void *obj)
{
    if (!obj)
        return;
    struct rw_reply_arena *a = ((struct objhdr *)obj - 1)->arena;
    if (a->root == obj)
        reset(a);
}

static redisReplyObjectFunctions arena_functions = {
    create_string, create_array, create_integer, create_nil, free_object,
};

void rw_reply_arena_attach(struct rw_reply_arena *a, redisReader *reader)
{
    reader->fn = &arena_functions;
    reader->privdata = a;
}
