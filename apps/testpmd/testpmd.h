/* SPDX-License-Identifier: Apache-2.0 */
/* kvmkit testpmd: the subcommand's entry points (apps/kvmkit.c dispatches). */
#ifndef KK_APPS_TESTPMD_H
#define KK_APPS_TESTPMD_H

#include <stdio.h>

int testpmd_main(int argc, char **argv);
void testpmd_help(FILE *out);

#endif /* KK_APPS_TESTPMD_H */
