/* SPDX-License-Identifier: Apache-2.0 */
/* NBD target internals shared with tests and the fuzz target. */
#ifndef KK_NBD_INTERNAL_H
#define KK_NBD_INTERNAL_H

#include "nbd_server.h"

/*
 * Serve an already connected socket @fd (taken over: closed by the server)
 * as if it had been accepted; @peer names it in logs. Call on the control
 * thread. Returns 0, or -EBUSY (max_connections reached) / -ENOMEM, and
 * then @fd was closed.
 */
int nbd__server_attach_fd(struct nbd_server *s, int fd, const char *peer);

/* Connections alive now (accepted and not yet torn down). Any thread. */
unsigned nbd__server_conn_count(struct nbd_server *s);

#endif /* KK_NBD_INTERNAL_H */
