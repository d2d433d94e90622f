/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guestfs_cli.h — kvmkit's libguestfs-like tools on lib/guestfs
 * (`kvmkit virt-filesystems`, ...). Each returns the process exit status.
 */
#ifndef KK_GUESTFS_CLI_H
#define KK_GUESTFS_CLI_H

#include <stdio.h>

int virt_filesystems_main(int argc, char **argv);
void virt_filesystems_help(FILE *out);

int virt_inspector_main(int argc, char **argv);
void virt_inspector_help(FILE *out);

int mount_main(int argc, char **argv);
void mount_help(FILE *out);

#endif
