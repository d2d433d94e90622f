/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KK_BLK_CLI_H
#define KK_BLK_CLI_H

#include <stdio.h>

int blk_cli_main(int argc, char **argv);
void blk_cli_help(FILE *out);

#endif
