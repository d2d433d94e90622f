/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guestfs_cli.h — kvmkit's libguestfs-like tools on lib/guestfs
 * (`kvmkit virt-filesystems`, virt-ls, virt-cat, virt-copy-out,
 * virt-tar-out, virt-df). Each returns the process exit status.
 */
#ifndef KK_GUESTFS_CLI_H
#define KK_GUESTFS_CLI_H

#include <stdio.h>

int virt_filesystems_main(int argc, char **argv);
void virt_filesystems_help(FILE *out);
int virt_ls_main(int argc, char **argv);
void virt_ls_help(FILE *out);
int virt_cat_main(int argc, char **argv);
void virt_cat_help(FILE *out);
int virt_copy_out_main(int argc, char **argv);
void virt_copy_out_help(FILE *out);
int virt_tar_out_main(int argc, char **argv);
void virt_tar_out_help(FILE *out);
int virt_df_main(int argc, char **argv);
void virt_df_help(FILE *out);

/* kvmkit fish: a guestfish-compatible shell (apps/guestfs/fish*.c) */
int fish_main(int argc, char **argv);
void fish_help(FILE *out);

int virt_inspector_main(int argc, char **argv);
void virt_inspector_help(FILE *out);

int mount_main(int argc, char **argv);
void mount_help(FILE *out);

#endif
