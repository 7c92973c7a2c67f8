/* json_arena.c - bump allocation for jansson during event parsing. */
#include "renewald/core/json_arena.h"

#include <jansson.h>
#include <stdlib.h>

#include "renewald/core/common.h"

#define BLOCK_SIZE (64 * 1024)
#define ALIGN      16

struct block {
    struct block *next;
    size_t size, used;
    max_align_t data[]; /* size bytes */
};

static struct {
    struct block *head; /* current block; older ones follow */
} arena;

static void *arena_malloc(size_t n)
{
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    struct block *b = arena.head;
    if (!b || b->size - b->used < n) {
        size_t size = n > BLOCK_SIZE ? n : BLOCK_SIZE;
        struct block *nb = malloc(sizeof *nb + size);
        if (!nb)
            return NULL; /* jansson reports the failure */
        nb->next = b;
        nb->size = size;
        nb->used = 0;
        arena.head = b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

static void arena_free(void *p)
{
    (void)p; /* everything goes at the next reset */
}

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ENABLED 0 /* let AddressSanitizer see every jansson allocation */
#else
#define ARENA_ENABLED 1
#endif

void rw_json_arena_enter(void)
{
    if (ARENA_ENABLED)
        json_set_alloc_funcs(arena_malloc, arena_free);
}

void rw_json_arena_reset(void)
{
    struct block *b = arena.head;
    if (!b)
        return;
    /* Keep the oldest block (the usual working set); free the rest. */
    while (b->next) {
        struct block *older = b->next;
        free(b);
        b = older;
    }
    b->used = 0;
    arena.head = b;
}

void rw_json_arena_leave(void)
{
    if (ARENA_ENABLED)
        json_set_alloc_funcs(malloc, free);
    rw_json_arena_reset();
}
