/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fish_dev.c — kvmkit fish: launch, devices, partitions, filesystems and
 * mounts (run, list-devices, list-partitions, list-filesystems, vfs-*,
 * blkid, blockdev-*, part-*, mount*, umount*, mounts, mountpoints), and
 * the write commands, which fail saying that lib/guestfs only reads.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fish.h"

#define CMD(n) static int n(struct fish *f, const struct fish_cmd *c, int argc, char **argv)

CMD(cmd_launch)
{
    (void)c, (void)argc, (void)argv;
    if (f->launched)
        return fish_error(f, "the libguestfs handle has already been launched");
    if (gfs_ndisks(f->h) == 0)
        return fish_error(f, "you must call guestfs_add_drive before guestfs_launch");
    if (gfs_launch(f->h) < 0)
        return fish_error(f, "%s", gfs_last_error(f->h));
    f->launched = true;
    return 0;
}

CMD(cmd_list_devices)
{
    (void)c, (void)argc, (void)argv;
    for (size_t i = 0; i < gfs_ndevices(f->h); i++)
        if (!gfs_device_at(f->h, i)->is_partition)
            printf("%s\n", gfs_device_at(f->h, i)->name);
    return 0;
}

CMD(cmd_list_partitions)
{
    (void)c, (void)argc, (void)argv;
    for (size_t i = 0; i < gfs_ndevices(f->h); i++)
        if (gfs_device_at(f->h, i)->is_partition)
            printf("%s\n", gfs_device_at(f->h, i)->name);
    return 0;
}

static bool disk_has_partitions(struct fish *f, unsigned disk)
{
    const struct gfs_part_table *t = gfs_disk_table(f->h, disk);
    return t && t->count > 0;
}

static void print_fs(const struct gfs_device *d)
{
    const char *type = d->probe.type;
    /* PVs (*_member) and LUKS are containers, not filesystems */
    size_t n = strlen(type);
    if ((n >= 7 && strcmp(type + n - 7, "_member") == 0) || strcmp(type, "crypto_LUKS") == 0)
        return;
    printf("%s: %s\n", d->name, type[0] ? type : "unknown");
}

CMD(cmd_list_filesystems)
{
    (void)c, (void)argc, (void)argv;
    /* whole devices without partitions first, then partitions */
    for (size_t i = 0; i < gfs_ndevices(f->h); i++) {
        const struct gfs_device *d = gfs_device_at(f->h, i);
        if (!d->is_partition && !disk_has_partitions(f, d->disk))
            print_fs(d);
    }
    for (size_t i = 0; i < gfs_ndevices(f->h); i++) {
        const struct gfs_device *d = gfs_device_at(f->h, i);
        if (d->is_partition && !d->extended)
            print_fs(d);
    }
    return 0;
}

CMD(cmd_vfs_field)
{
    (void)argc;
    const struct gfs_device *d = fish_device_arg(f, c, argv[0]);
    if (!d)
        return -1;
    if (strcmp(c->name, "vfs-type") == 0)
        printf("%s\n", d->probe.type);
    else if (strcmp(c->name, "vfs-uuid") == 0)
        printf("%s\n", d->probe.uuid);
    else
        printf("%s\n", d->probe.label);
    return 0;
}

/* blkid -o export quotes what a shell would take apart with a backslash. */
static void blkid_line(const char *key, const char *value)
{
    printf("%s: ", key);
    for (const char *p = value; *p; p++) {
        if (strchr(" \\\"'`$!&;|<>()*?[]{}#~\t", *p))
            putchar('\\');
        putchar(*p);
    }
    putchar('\n');
}

/* The volume label in a FAT boot sector (blkid's LABEL_FATBOOT), trailing
 * blanks removed; false when it is absent or "NO NAME". */
static bool fat_boot_label(const struct gfs_device *d, char out[12])
{
    uint8_t bs[512];
    if (gf_dev_pread(d->dev, bs, sizeof(bs), 0) < 0)
        return false;
    bool fat32 = bs[22] == 0 && bs[23] == 0; /* no 16-bit FAT size */
    const uint8_t *l = bs + (fat32 ? 71 : 43);
    if (l[-5] != 0x29) /* no extended boot signature: no label field */
        return false;
    memcpy(out, l, 11);
    out[11] = 0;
    for (int i = 10; i >= 0 && out[i] == ' '; i--)
        out[i] = 0;
    for (int i = 0; out[i]; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
            out[i] = '?';
    return out[0] && strcmp(out, "NO NAME") != 0;
}

CMD(cmd_blkid)
{
    (void)argc;
    const struct gfs_device *d = fish_device_arg(f, c, argv[0]);
    if (!d)
        return -1;
    const struct gfs_probe_result *r = &d->probe;
    /* blkid -p -i -o export, in its order */
    printf("DEVNAME: %s\n", d->name);
    char fatboot[12];
    if (strcmp(r->type, "vfat") == 0 && fat_boot_label(d, fatboot))
        blkid_line("LABEL_FATBOOT", fatboot);
    if (r->label[0])
        blkid_line("LABEL", r->label);
    if (r->uuid[0])
        blkid_line("UUID", r->uuid);
    if (r->version[0])
        blkid_line("VERSION", r->version);
    struct gfs_fs *fs;
    struct gfs_statvfs v;
    if (r->readable && gfs_device_fs(f->h, d, &fs) == 0 && gfs_fs_statvfs(fs, &v) == 0)
        printf("BLOCK_SIZE: %" PRIu64 "\n", strcmp(r->type, "vfat") == 0 ? 512 : v.bsize);
    if (r->type[0])
        printf("TYPE: %s\n", r->type);
    if (r->usage[0])
        printf("USAGE: %s\n", r->usage);
    printf("MINIMUM_IO_SIZE: 512\nPHYSICAL_SECTOR_SIZE: 512\nLOGICAL_SECTOR_SIZE: 512\n");
    const struct gfs_part_table *t = gfs_disk_table(f->h, d->disk);
    if (d->part && t) {
        /* blkid -p's partition-table entry of the device */
        const struct gfs_partition *p = d->part;
        bool gpt = t->type == GFS_TABLE_GPT;
        char id[40];
        printf("PART_ENTRY_SCHEME: %s\n", gpt ? "gpt" : "dos");
        if (gpt && p->name[0])
            printf("PART_ENTRY_NAME: %s\n", p->name);
        if (gpt)
            gfs_guid_format(p->unique_guid, id);
        else
            snprintf(id, sizeof(id), "%08x-%02x", t->mbr_signature, p->number);
        printf("PART_ENTRY_UUID: %s\n", id);
        if (gpt) {
            gfs_guid_format(p->type_guid, id);
            printf("PART_ENTRY_TYPE: %s\n", id);
        } else {
            printf("PART_ENTRY_TYPE: 0x%x\n", p->mbr_type);
            if (p->bootable)
                printf("PART_ENTRY_FLAGS: 0x80\n");
        }
        unsigned long long ss = t->sector_size ? t->sector_size : 512;
        printf("PART_ENTRY_NUMBER: %u\nPART_ENTRY_OFFSET: %llu\nPART_ENTRY_SIZE: %llu\n"
               "PART_ENTRY_DISK: 8:%u\n",
               p->number, (unsigned long long)p->start / ss, (unsigned long long)p->size / ss,
               d->disk * 16);
    }
    return 0;
}

CMD(cmd_blockdev)
{
    (void)argc;
    const struct gfs_device *d = fish_device_arg(f, c, argv[0]);
    if (!d)
        return -1;
    if (strcmp(c->name, "blockdev-getsize64") == 0)
        printf("%" PRIu64 "\n", d->size);
    else if (strcmp(c->name, "blockdev-getsz") == 0)
        printf("%" PRIu64 "\n", d->size / 512);
    else if (strcmp(c->name, "blockdev-getss") == 0)
        printf("512\n");
    else if (strcmp(c->name, "blockdev-getbsz") == 0)
        printf("4096\n");
    else /* getro: the drives are added read-only */
        printf("true\n");
    return 0;
}

CMD(cmd_is_whole_device)
{
    (void)argc;
    const struct gfs_device *d = fish_device_arg(f, c, argv[0]);
    if (!d)
        return -1;
    printf("%s\n", d->is_partition ? "false" : "true");
    return 0;
}

CMD(cmd_canonical_device_name)
{
    (void)c, (void)argc;
    const char *s = argv[0];
    /* /dev/vdX, /dev/hdX, /dev/xvdX -> /dev/sdX */
    const char *rest = NULL;
    if (strncmp(s, "/dev/hd", 7) == 0 || strncmp(s, "/dev/vd", 7) == 0)
        rest = s + 7;
    else if (strncmp(s, "/dev/xvd", 8) == 0)
        rest = s + 8;
    if (rest && islower((unsigned char)rest[0]))
        printf("/dev/sd%s\n", rest);
    else
        printf("%s\n", s);
    (void)f;
    return 0;
}

CMD(cmd_device_index)
{
    (void)argc;
    const struct gfs_device *d = fish_device_arg(f, c, argv[0]);
    if (!d)
        return -1;
    if (d->is_partition)
        return fish_daemon_error(f, c, "%s: device not found", argv[0]);
    printf("%u\n", d->disk);
    return 0;
}

/* A whole disk's partition table, or NULL after the error. */
static const struct gfs_part_table *table_arg(struct fish *f, const struct fish_cmd *c,
                                              const char *name, const struct gfs_device **dp)
{
    const struct gfs_device *d = fish_device_arg(f, c, name);
    if (!d)
        return NULL;
    if (d->is_partition) {
        fish_daemon_error(f, c, "parted exited with status 1: Error: %s: unrecognised disk label",
                          name);
        return NULL;
    }
    const struct gfs_part_table *t = gfs_disk_table(f->h, d->disk);
    if (!t || t->type == GFS_TABLE_NONE) {
        fish_daemon_error(f, c, "%s: not a partitioned device", name);
        return NULL;
    }
    *dp = d;
    return t;
}

static const struct gfs_partition *part_arg(struct fish *f, const struct fish_cmd *c,
                                            int argc, char **argv,
                                            const struct gfs_part_table **tp)
{
    (void)argc;
    const struct gfs_device *d;
    int n;
    if (fish_parse_int(c, "partnum", argv[1], &n) < 0)
        return NULL;
    const struct gfs_part_table *t = table_arg(f, c, argv[0], &d);
    if (!t)
        return NULL;
    if (n <= 0) {
        fish_daemon_error(f, c, "partition number must be >= 1");
        return NULL;
    }
    for (size_t i = 0; i < t->count; i++)
        if (t->parts[i].number == (unsigned)n) {
            if (tp)
                *tp = t;
            return &t->parts[i];
        }
    fish_daemon_error(f, c, "%s: partition %d does not exist", argv[0], n);
    return NULL;
}

CMD(cmd_part_get_parttype)
{
    (void)argc;
    const struct gfs_device *d;
    const struct gfs_part_table *t = table_arg(f, c, argv[0], &d);
    if (!t)
        return -1;
    printf("%s\n", t->type == GFS_TABLE_GPT ? "gpt" : "msdos");
    return 0;
}

CMD(cmd_part_list)
{
    (void)argc;
    const struct gfs_device *d;
    const struct gfs_part_table *t = table_arg(f, c, argv[0], &d);
    if (!t)
        return -1;
    for (size_t i = 0; i < t->count; i++) {
        const struct gfs_partition *p = &t->parts[i];
        printf("[%zu] = {\n  part_num: %u\n  part_start: %" PRIu64 "\n  part_end: %" PRIu64
               "\n  part_size: %" PRIu64 "\n}\n",
               i, p->number, p->start, p->start + p->size - 1, p->size);
    }
    return 0;
}

static void print_guid_upper(const uint8_t guid[16])
{
    char s[37];
    gfs_guid_format(guid, s);
    for (char *p = s; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    printf("%s\n", s);
}

static int need_gpt(struct fish *f, const struct fish_cmd *c, const struct gfs_part_table *t,
                    const char *dev)
{
    if (t->type == GFS_TABLE_GPT)
        return 0;
    return fish_daemon_error(f, c, "%s: not a GPT partition table", dev);
}

CMD(cmd_part_get_disk_guid)
{
    (void)argc;
    const struct gfs_device *d;
    const struct gfs_part_table *t = table_arg(f, c, argv[0], &d);
    if (!t || need_gpt(f, c, t, argv[0]) < 0)
        return -1;
    print_guid_upper(t->disk_guid);
    return 0;
}

CMD(cmd_part_gpt_field)
{
    const struct gfs_part_table *t;
    const struct gfs_partition *p = part_arg(f, c, argc, argv, &t);
    if (!p || need_gpt(f, c, t, argv[0]) < 0)
        return -1;
    if (strcmp(c->name, "part-get-gpt-type") == 0)
        print_guid_upper(p->type_guid);
    else if (strcmp(c->name, "part-get-gpt-guid") == 0)
        print_guid_upper(p->unique_guid);
    else if (strcmp(c->name, "part-get-gpt-attributes") == 0)
        printf("%" PRId64 "\n", (int64_t)p->attributes);
    else
        printf("%s\n", p->name);
    return 0;
}

CMD(cmd_part_get_mbr_id)
{
    const struct gfs_part_table *t;
    const struct gfs_partition *p = part_arg(f, c, argc, argv, &t);
    if (!p)
        return -1;
    if (t->type != GFS_TABLE_MBR)
        return fish_daemon_error(f, c, "sfdisk exited with status 1: %s: partition %u: "
                                       "not a DOS partition table", argv[0], p->number);
    printf("%s%x\n", p->mbr_type ? "0x" : "", p->mbr_type);
    return 0;
}

CMD(cmd_part_get_bootable)
{
    const struct gfs_partition *p = part_arg(f, c, argc, argv, NULL);
    if (!p)
        return -1;
    printf("%s\n", p->bootable ? "true" : "false");
    return 0;
}

CMD(cmd_part_to)
{
    (void)argc;
    const struct gfs_device *d = fish_device_arg(f, c, argv[0]);
    if (!d)
        return -1;
    if (!d->is_partition)
        return fish_daemon_error(f, c, "device name is not a partition");
    if (strcmp(c->name, "part-to-partnum") == 0)
        printf("%u\n", d->partnum);
    else
        printf("/dev/sd%c\n", (char)('a' + d->disk));
    return 0;
}

/* ---- mounts -------------------------------------------------------------- */

CMD(cmd_mount)
{
    const char *dev = argv[argc - 2], *mp = argv[argc - 1];
    const struct gfs_device *d = fish_device_arg(f, c, dev);
    if (!d)
        return -1;
    if (mp[0] != '/')
        return fish_daemon_error(f, c, "mount: %s: mount point is not a directory", mp);
    if (strcmp(mp, "/") != 0) {
        if (fish_need_root(f, c) < 0)
            return -1;
        struct gfs_stat st;
        if (gfs_stat(f->h, mp, &st) < 0 || (st.mode & 0170000) != 0040000)
            return fish_daemon_error(f, c, "mount: %s: mount point is not a directory", mp);
    }
    int rc = gfs_mount(f->h, d->name, mp);
    if (rc < 0)
        return fish_daemon_error(f, c, "%s on %s (options: 'ro'): %s", d->name, mp,
                                 gfs_last_error(f->h));
    return 0;
}

CMD(cmd_umount)
{
    static const char *const names[] = {"force", "lazyunmount"};
    int values[2] = {0, 0};
    if (fish_parse_optbools(c, argc, argv, 1, names, values, 2) < 0)
        return -1;
    const char *what = argv[0];
    if (strncmp(what, "/dev/", 5) != 0 && fish_abs_path(f, c, what) < 0)
        return -1;
    int rc = gfs_umount(f->h, what);
    if (rc < 0)
        return fish_daemon_error(f, c, "%s: umount: %s: %s", what, what,
                                 rc == -EBUSY ? "target is busy." : "not mounted.");
    return 0;
}

CMD(cmd_umount_all)
{
    (void)c, (void)argc, (void)argv;
    gfs_umount_all(f->h);
    return 0;
}

CMD(cmd_mounts)
{
    (void)c, (void)argc, (void)argv;
    for (size_t i = 0; i < gfs_nmounts(f->h); i++)
        printf("%s\n", gfs_mount_at(f->h, i)->device->name);
    return 0;
}

CMD(cmd_mountpoints)
{
    (void)c, (void)argc, (void)argv;
    for (size_t i = 0; i < gfs_nmounts(f->h); i++) {
        const struct gfs_mount *m = gfs_mount_at(f->h, i);
        printf("%s: %s\n", m->device->name, m->mountpoint);
    }
    return 0;
}

CMD(cmd_read_only)
{
    (void)argc, (void)argv;
    char name[64];
    return fish_error(f, "%s: kvmkit fish is read-only: lib/guestfs does not write to disk "
                         "images", fish_api_name(c, name, sizeof(name)));
}

#define D FISH_DAEMON
#define L FISH_LIBRARY
#define RO(n) {n, NULL, L, 0, FISH_MAX_ARGS, NULL, "(not available: kvmkit fish is read-only)", \
               cmd_read_only}

const struct fish_cmd fish_dev_cmds[] = {
    {"launch", "run", L, 0, 0, "launch", "launch the backend", cmd_launch},
    {"list-devices", NULL, D, 0, 0, "list-devices", "list the block devices", cmd_list_devices},
    {"list-partitions", NULL, D, 0, 0, "list-partitions", "list the partitions",
     cmd_list_partitions},
    {"list-filesystems", NULL, D, 0, 0, "list-filesystems", "list filesystems",
     cmd_list_filesystems},
    {"vfs-type", NULL, D, 1, 1, "vfs-type mountable",
     "get the Linux VFS type corresponding to a mounted device", cmd_vfs_field},
    {"vfs-uuid", "get-uuid", D, 1, 1, "vfs-uuid mountable", "get the filesystem UUID",
     cmd_vfs_field},
    {"vfs-label", NULL, D, 1, 1, "vfs-label mountable", "get the filesystem label",
     cmd_vfs_field},
    {"blkid", NULL, D, 1, 1, "blkid device", "print block device attributes", cmd_blkid},
    {"blockdev-getsize64", NULL, D, 1, 1, "blockdev-getsize64 device",
     "get total size of device in bytes", cmd_blockdev},
    {"blockdev-getsz", NULL, D, 1, 1, "blockdev-getsz device",
     "get total size of device in 512-byte sectors", cmd_blockdev},
    {"blockdev-getss", NULL, D, 1, 1, "blockdev-getss device",
     "get sectorsize of block device", cmd_blockdev},
    {"blockdev-getbsz", NULL, D, 1, 1, "blockdev-getbsz device",
     "get blocksize of block device", cmd_blockdev},
    {"blockdev-getro", NULL, D, 1, 1, "blockdev-getro device",
     "is block device set to read-only", cmd_blockdev},
    {"is-whole-device", NULL, D, 1, 1, "is-whole-device device",
     "test if a device is a whole device", cmd_is_whole_device},
    {"canonical-device-name", NULL, L, 1, 1, "canonical-device-name device",
     "return canonical device name", cmd_canonical_device_name},
    {"device-index", NULL, L, 1, 1, "device-index device", "convert device to index",
     cmd_device_index},
    {"part-get-parttype", NULL, D, 1, 1, "part-get-parttype device",
     "get the partition table type", cmd_part_get_parttype},
    {"part-list", NULL, D, 1, 1, "part-list device", "list partitions on a device",
     cmd_part_list},
    {"part-get-disk-guid", NULL, D, 1, 1, "part-get-disk-guid device",
     "get the GUID of a GPT-partitioned disk", cmd_part_get_disk_guid},
    {"part-get-gpt-type", NULL, D, 2, 2, "part-get-gpt-type device partnum",
     "get the type GUID of a GPT partition", cmd_part_gpt_field},
    {"part-get-gpt-guid", NULL, D, 2, 2, "part-get-gpt-guid device partnum",
     "get the GUID of a GPT partition", cmd_part_gpt_field},
    {"part-get-gpt-attributes", NULL, D, 2, 2, "part-get-gpt-attributes device partnum",
     "get the attribute flags of a GPT partition", cmd_part_gpt_field},
    {"part-get-name", NULL, D, 2, 2, "part-get-name device partnum", "get partition name",
     cmd_part_gpt_field},
    {"part-get-mbr-id", NULL, D, 2, 2, "part-get-mbr-id device partnum",
     "get the MBR type byte (ID byte) from a partition", cmd_part_get_mbr_id},
    {"part-get-bootable", NULL, D, 2, 2, "part-get-bootable device partnum",
     "return true if a partition is bootable", cmd_part_get_bootable},
    {"part-to-partnum", NULL, D, 1, 1, "part-to-partnum partition",
     "convert partition name to partition number", cmd_part_to},
    {"part-to-dev", NULL, D, 1, 1, "part-to-dev partition",
     "convert partition name to device name", cmd_part_to},
    {"mount", NULL, D, 2, 2, "mount mountable mountpoint",
     "mount a guest disk at a position in the filesystem", cmd_mount},
    {"mount-ro", NULL, D, 2, 2, "mount-ro mountable mountpoint",
     "mount a guest disk, read-only", cmd_mount},
    {"mount-options", NULL, D, 3, 3, "mount-options options mountable mountpoint",
     "mount a guest disk with mount options", cmd_mount},
    {"umount", "unmount", D, 1, 3, "umount pathordevice [force:true|false] "
     "[lazyunmount:true|false]", "unmount a filesystem", cmd_umount},
    {"umount-all", "unmount-all", D, 0, 0, "umount-all", "unmount all filesystems",
     cmd_umount_all},
    {"mounts", NULL, D, 0, 0, "mounts", "show mounted filesystems", cmd_mounts},
    {"mountpoints", NULL, D, 0, 0, "mountpoints", "show mountpoints", cmd_mountpoints},
    RO("write"), RO("write-append"), RO("upload"), RO("mkdir"), RO("mkdir-p"), RO("rm"),
    RO("rm-rf"), RO("rm-f"), RO("rmdir"), RO("touch"), RO("cp"), RO("cp-a"), RO("cp-r"),
    RO("mv"), RO("ln"), RO("ln-s"), RO("ln-sf"), RO("chmod"), RO("chown"), RO("mkfs"),
    RO("part-init"), RO("part-add"), RO("part-disk"), RO("part-del"), RO("tar-in"),
    RO("tgz-in"), RO("copy-in"), RO("edit"), RO("vi"), RO("emacs"), RO("truncate"),
    RO("truncate-size"), RO("fill"), RO("zero"), RO("zero-device"), RO("set-label"),
    RO("set-uuid"), RO("setxattr"), RO("removexattr"), RO("mknod"), RO("mkfifo"),
    RO("sh"), RO("command"), RO("command-lines"), RO("rename"), RO("utimens"),
    {NULL, NULL, 0, 0, 0, NULL, NULL, NULL},
};
