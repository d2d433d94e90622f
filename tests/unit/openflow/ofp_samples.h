/* SPDX-License-Identifier: Apache-2.0 */
/* Sample messages of every type the codec knows, for both versions:
 * shared by the unit tests, the tshark interoperability test and the fuzz
 * corpus generator. */
#ifndef OFP_SAMPLES_H
#define OFP_SAMPLES_H

#include <stddef.h>

#include "ofp_msg.h"

#define OFP_SAMPLES_MAX 80

/* Fill @out with the samples of @version (0x01 or 0x04); returns how many.
 * They point into static data: do not ofp_msg_free() them. */
size_t ofp_samples(uint8_t version, struct ofp_msg *out, size_t max);

/* A short name for a sample ("flow_mod", "mp_reply_flow"), for messages
 * and file names. */
const char *ofp_sample_name(const struct ofp_msg *m, char *buf, size_t size);

#endif
