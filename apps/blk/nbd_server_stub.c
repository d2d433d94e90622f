/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stand-in for lib/blk's NBD target until it lands (built only while
 * lib/blk/nbd_server.c does not exist): NBD exports are refused with
 * -ENOTSUP, everything else in kvmkit-blkd works.
 */
#include <errno.h>

#include "nbd_server.h"

int nbd_server_create(struct kk_reactor *ctrl, struct kk_reactor *const *workers,
                      unsigned n_workers, const struct nbd_server_opts *opts,
                      struct nbd_server **out)
{
    return -ENOTSUP;
}

void nbd_server_destroy(struct nbd_server *s) {}

int nbd_server_add_export(struct nbd_server *s, const struct nbd_export_opts *opts)
{
    return -ENOTSUP;
}

int nbd_server_remove_export(struct nbd_server *s, const char *name) { return -ENOENT; }
unsigned nbd_server_export_count(const struct nbd_server *s) { return 0; }
uint16_t nbd_server_tcp_port(const struct nbd_server *s) { return 0; }
json_t *nbd_server_to_json(const struct nbd_server *s) { return json_object(); }
