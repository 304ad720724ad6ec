/* mp_reclaim.c - give a pool back the buffers a task left behind when it died.
 *
 * A Lua task that stops on an error cannot say which of its bufArray slots it still
 * owns: after a send the slots keep pointing at buffers that now belong to the driver
 * (MoonGen semantics, and scripts may read them). At the end of the run nothing is in
 * flight any more, so the question becomes simple: every object of the pool that is
 * not among its free objects is held by a task that is gone. */
#include <stdlib.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "mp_reclaim.h"

struct walk {
    void **free_objs;   /* sorted */
    unsigned nb_free;
    void **lost;
    unsigned nb_lost;
};

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : x > y;
}

static void find_lost(struct rte_mempool *mp, void *opaque, void *obj, unsigned idx)
{
    (void)mp;
    (void)idx;
    struct walk *w = opaque;
    if (!bsearch(&obj, w->free_objs, w->nb_free, sizeof(void *), cmp_ptr))
        w->lost[w->nb_lost++] = obj;
}

int mp_mempool_reclaim(struct rte_mempool *mp)
{
    /* the per-lcore caches hold free objects too: move them to the common store so one
     * dequeue sees every free object */
    for (unsigned lc = 0; lc < RTE_MAX_LCORE; lc++) {
        struct rte_mempool_cache *cache = rte_mempool_default_cache(mp, lc);
        if (cache && cache->len)
            rte_mempool_cache_flush(cache, mp);
    }
    struct walk w = {0};
    w.free_objs = malloc(sizeof(void *) * (mp->size + 1));
    w.lost = malloc(sizeof(void *) * (mp->size + 1));
    if (!w.free_objs || !w.lost) {
        free(w.free_objs);
        free(w.lost);
        return -1;
    }
    w.nb_free = rte_mempool_avail_count(mp); /* the caches are empty now */
    if (w.nb_free > mp->size)
        w.nb_free = mp->size;
    if (w.nb_free && rte_mempool_generic_get(mp, w.free_objs, w.nb_free, NULL) != 0) {
        free(w.free_objs);
        free(w.lost);
        return -1;
    }
    qsort(w.free_objs, w.nb_free, sizeof(void *), cmp_ptr);
    rte_mempool_obj_iter(mp, find_lost, &w);
    for (unsigned i = 0; i < w.nb_lost; i++) {
        /* the state a buffer has in its pool: one reference, one segment; a chain's
         * other segments are objects of a pool as well and are found on their own */
        struct rte_mbuf *m = w.lost[i];
        m->next = NULL;
        m->nb_segs = 1;
        rte_mbuf_refcnt_set(m, 1);
    }
    if (w.nb_free)
        rte_mempool_generic_put(mp, w.free_objs, w.nb_free, NULL);
    if (w.nb_lost)
        rte_mempool_generic_put(mp, w.lost, w.nb_lost, NULL);
    int n = (int)w.nb_lost;
    free(w.free_objs);
    free(w.lost);
    return n;
}
