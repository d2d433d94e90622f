/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the files of lib/pkt/proto; not installed. */
#ifndef PKT_PROTO_INTERNAL_H
#define PKT_PROTO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt_proto.h"

/*
 * Does the IPv6 extension chain of a parsed frame (lay->l3 must be IPV6
 * with its fixed header inside @len) hold a routing header with segments
 * left? Then the destination in the IPv6 header is not the final one that
 * the upper-layer pseudo-header uses (RFC 8200 8.1).
 */
bool pkt__ipv6_routing_pending(const uint8_t *frame, size_t len, const struct pkt_layout *lay);

#endif /* PKT_PROTO_INTERNAL_H */
