/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect.h — find the operating systems on a handle's disks, like
 * libguestfs's inspection (guestfs_inspect_os and inspect_get_*): each
 * filesystem lib/guestfs reads is looked at on its own; one that holds a
 * root (/etc/os-release or an older release file, /etc/fstab, binaries)
 * becomes an OS, described by its type, distribution and version, product
 * name, hostname, architecture (from the ELF header of /bin/sh, /bin/ls or
 * the like), package format and manager, libosinfo short id, and its
 * mount points from /etc/fstab, each resolved to a device of the handle
 * (UUID=, LABEL=, PARTUUID=, PARTLABEL=, /dev/sdX, /dev/vdX, /dev/disk/by-*).
 * Values follow libguestfs's names ("linux", "debian", "x86_64", "deb",
 * "apt", "debian12") and "unknown" where it says "unknown".
 *
 * Inspection reads files only through lib/guestfs (untrusted input): each
 * file read is bounded in size, and a malformed file leaves the field
 * "unknown" rather than failing.
 *
 * Threads: as the handle's.
 */
#ifndef GFS_INSPECT_H
#define GFS_INSPECT_H

#include <stddef.h>

#include "guestfs.h"

struct gfs_inspect_mp {
    char mountpoint[256];         /* "/", "/boot", "/boot/efi" */
    char device[GFS_DEVNAME_MAX]; /* "/dev/sda1" */
};

struct gfs_os {
    char root[GFS_DEVNAME_MAX]; /* the device holding / */
    char type[16];              /* "linux", "unknown" */
    char distro[32];            /* "debian", "ubuntu", "fedora", "rhel", "centos",
                                   "alpinelinux", "archlinux", "opensuse", ..., "unknown" */
    char product_name[256];     /* os-release PRETTY_NAME, or the release file's line */
    char product_variant[64];   /* os-release VARIANT, or "unknown" */
    int major_version, minor_version;
    char arch[16];              /* "x86_64", "aarch64", "i386", "armv7l", ..., "unknown" */
    char hostname[256];         /* /etc/hostname (or older places), or "unknown" */
    char package_format[16];    /* "deb", "rpm", "apk", "pacman", "unknown" */
    char package_management[16]; /* "apt", "dnf", "yum", "zypper", "apk", "pacman", "unknown" */
    char osinfo[64];            /* libosinfo short id: "debian12", "fedora39", "unknown" */
    char format[16];            /* "installed" */
    /* fstab mount points that resolved to a device of the handle, "/"
     * first then in the order of fstab; swap is not a mount point. */
    size_t nmountpoints;
    struct gfs_inspect_mp *mountpoints;
    /* the devices of this OS's filesystems (root, fstab's, swap) */
    size_t nfilesystems;
    char (*filesystems)[GFS_DEVNAME_MAX];
};

struct gfs_app {
    /* release: for deb, what follows the first '-' of the version ("5+deb12u3"),
     * as libguestfs splits it; "" when there is none */
    char *name, *version, *release, *arch;
    int epoch;
    char *url, *source_package, *summary, *description; /* "" when absent */
};

/*
 * Inspect every filesystem of a launched handle. Returns the number of
 * operating systems found (>= 0; *roots NULL when 0) or -errno. Nothing
 * stays mounted in the tree (inspection uses each device's private fs).
 * Free with gfs_inspect_free().
 */
int gfs_inspect_os(struct gfs_handle *h, struct gfs_os **roots);
void gfs_inspect_free(struct gfs_os *roots, int n);

/*
 * Mount @os's filesystems into the handle's tree as its fstab says, shorter
 * mount points first (so /boot before /boot/efi), as guestfish -i and the
 * virt-* tools do. A mount point whose device cannot be read is skipped
 * with a warning (gfs_warning()); failing to mount / is an error.
 */
int gfs_inspect_mount(struct gfs_handle *h, const struct gfs_os *os);

/*
 * Installed packages of @os, whose filesystems are mounted in the tree:
 * dpkg's /var/lib/dpkg/status (installed entries only) and apk's
 * /lib/apk/db/installed; sorted by name. Returns the count or -errno
 * (-EOPNOTSUPP for a package format not read, e.g. rpm's database).
 */
int gfs_inspect_list_applications(struct gfs_handle *h, const struct gfs_os *os,
                                  struct gfs_app **apps);
void gfs_inspect_free_applications(struct gfs_app *apps, int n);

#endif
