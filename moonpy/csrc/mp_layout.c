/*
 * mp_layout.c - the rte_mbuf fields LuaJIT scripts use, with their offsets in
 * the installed DPDK. Lua builds its `struct rte_mbuf` view from this table
 * instead of a copied header, so the view cannot drift from the real layout.
 */
#include <stddef.h>

#include <rte_mbuf.h>

#include "mp_layout.h"

#define F(name, ctype) {#name, ctype, offsetof(struct rte_mbuf, name), sizeof(((struct rte_mbuf *)0)->name)}

static const struct mp_field fields[] = {
    F(buf_addr, "void *"),
    F(buf_iova, "uint64_t"),
    F(data_off, "uint16_t"),
    F(refcnt, "uint16_t"),
    F(nb_segs, "uint16_t"),
    F(port, "uint16_t"),
    F(ol_flags, "uint64_t"),
    F(packet_type, "uint32_t"),
    F(pkt_len, "uint32_t"),
    F(data_len, "uint16_t"),
    F(vlan_tci, "uint16_t"),
    /* a union of 32-bit views only, so LuaJIT keeps it at its odd offset */
    F(hash, "union { uint32_t rss; struct { uint32_t lo; uint32_t hi; } fdir; "
            "struct { uint32_t lo; uint32_t hi; } sched; uint32_t usr; }"),
    F(vlan_tci_outer, "uint16_t"),
    F(buf_len, "uint16_t"),
    F(pool, "struct rte_mempool *"),
    F(next, "struct rte_mbuf *"),
    F(tx_offload, "uint64_t"),
    F(priv_size, "uint16_t"),
    F(timesync, "uint16_t"),
};

const struct mp_field *mp_mbuf_fields(int *n)
{
    *n = (int)(sizeof(fields) / sizeof(fields[0]));
    return fields;
}

size_t mp_mbuf_size(void) { return sizeof(struct rte_mbuf); }
