/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/guestfs handle (guestfs.c) and filesystem interface (fs.c): an MBR
 * disk made with sfdisk holding an ext4 root and an ext2 /boot (both
 * written by mke2fs -d), mounted into one tree; paths crossing the mount
 * point both ways, symlinks (absolute ones start at the guest's root),
 * "..", loops and errors; statfs figures compared with what the kernel
 * reports for the same filesystems when loop mounts work here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdarg.h>

#include "guestfs.h"
#include "kk_test.h"

static char tmp[] = "/tmp/kvmkit-test.gfsh.XXXXXX";
static char disk[256];
static bool have_tools;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[4096] = "exec >/dev/null; "; /* TAP owns stdout */
    va_list ap;
    va_start(ap, fmt);
    size_t n = strlen(cmd);
    vsnprintf(cmd + n, sizeof(cmd) - n, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int setup(void **state)
{
    (void)state;
    have_tools = run("command -v mke2fs >/dev/null && command -v sfdisk >/dev/null") == 0;
    if (!have_tools)
        return 0;
    assert_non_null(mkdtemp(tmp));
    snprintf(disk, sizeof(disk), "%s/disk.img", tmp);
    int rc = run("set -e; cd %s; mkdir -p root/etc root/boot root/dir root/x boot/grub\n"
                 "echo myhost > root/etc/hostname; echo file > root/x/file\n"
                 "ln -s /boot/vmlinuz root/link_abs; ln -s etc/hostname root/link_rel\n"
                 "ln -s loop2 root/loop1; ln -s loop1 root/loop2; ln -s ../etc root/dir/up\n"
                 "ln -s /nowhere root/dangling; ln -s / root/rootlink\n"
                 "printf kernel > boot/vmlinuz; echo menu > boot/grub/grub.cfg\n"
                 "ln -s ../etc/hostname boot/back; ln -s /etc boot/etcabs\n"
                 "mke2fs -q -t ext4 -d root p1.img 8M; mke2fs -q -t ext2 -d boot p2.img 4M\n"
                 "truncate -s 14M disk.img\n"
                 "printf 'label: dos\\n2048,16384,83\\n,8192,83\\n' | sfdisk -q disk.img\n"
                 "dd if=p1.img of=disk.img bs=512 seek=2048 conv=notrunc status=none\n"
                 "dd if=p2.img of=disk.img bs=512 seek=18432 conv=notrunc status=none\n",
                 tmp);
    assert_int_equal(rc, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (have_tools)
        run("rm -rf %s", tmp);
    return 0;
}

static struct gfs_handle *open_disk(bool mount)
{
    struct gfs_handle *h;
    assert_int_equal(gfs_handle_new(&h), 0);
    assert_int_equal(gfs_add_drive(h, disk, "raw"), 0);
    assert_int_equal(gfs_launch(h), 0);
    if (mount) {
        assert_int_equal(gfs_mount(h, "/dev/sda1", "/"), 0);
        assert_int_equal(gfs_mount(h, "/dev/sda2", "/boot"), 0);
    }
    return h;
}

static void expect_file(struct gfs_handle *h, const char *path, const char *want)
{
    char *data;
    size_t len;
    int rc = gfs_read_file(h, path, 1 << 20, &data, &len);
    if (rc != 0)
        fail_msg("%s: %d %s", path, rc, gfs_last_error(h));
    assert_int_equal(len, strlen(want));
    assert_memory_equal(data, want, len);
    free(data);
}

static void test_devices(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    struct gfs_handle *h = open_disk(false);
    assert_int_equal(gfs_ndevices(h), 3);
    assert_string_equal(gfs_device_at(h, 0)->name, "/dev/sda");
    assert_false(gfs_device_at(h, 0)->is_partition);
    assert_string_equal(gfs_device_at(h, 1)->name, "/dev/sda1");
    assert_string_equal(gfs_device_at(h, 1)->probe.type, "ext4");
    assert_int_equal(gfs_device_at(h, 1)->size, 16384 * 512);
    assert_string_equal(gfs_device_at(h, 2)->name, "/dev/sda2");
    assert_string_equal(gfs_device_at(h, 2)->probe.type, "ext2");
    assert_int_equal(gfs_device_at(h, 2)->partnum, 2);
    /* libguestfs's other names for the same device */
    assert_ptr_equal(gfs_find_device(h, "/dev/vda2"), gfs_device_at(h, 2));
    assert_ptr_equal(gfs_find_device(h, "/dev/hda1"), gfs_device_at(h, 1));
    assert_null(gfs_find_device(h, "/dev/sdb1"));
    assert_non_null(strstr(gfs_last_error(h), "/dev/sdb1: no such device"));
    /* the whole disk has a table, not a filesystem */
    struct gfs_fs *fs;
    assert_int_equal(gfs_device_fs(h, gfs_device_at(h, 0), &fs), -EINVAL);
    assert_int_equal(gfs_device_fs(h, gfs_device_at(h, 1), &fs), 0);
    assert_string_equal(gfs_fs_type(fs), "ext4");
    /* no adding after launch; nothing resolves before a root is mounted */
    assert_int_equal(gfs_add_drive(h, disk, NULL), -EBUSY);
    struct gfs_stat st;
    assert_int_equal(gfs_stat(h, "/etc", &st), -EINVAL);
    assert_int_equal(gfs_mount(h, "/dev/sda2", "/boot"), -EINVAL);
    assert_int_equal(gfs_mount(h, "/dev/sda3", "/"), -ENOENT);
    gfs_handle_free(h);

    assert_int_equal(gfs_handle_new(&h), 0);
    assert_int_equal(gfs_add_drive(h, "/nonexistent.img", NULL), -ENOENT);
    assert_non_null(strstr(gfs_last_error(h), "nonexistent.img"));
    assert_int_equal(gfs_launch(h), -EINVAL);
    gfs_handle_free(h);
}

static void test_paths(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    struct gfs_handle *h = open_disk(true);
    assert_int_equal(gfs_nmounts(h), 2);
    assert_string_equal(gfs_mount_at(h, 1)->mountpoint, "/boot");
    expect_file(h, "/etc/hostname", "myhost\n");
    expect_file(h, "/boot/vmlinuz", "kernel");
    expect_file(h, "/boot/grub/grub.cfg", "menu\n");
    expect_file(h, "/link_abs", "kernel");          /* into the mounted fs */
    expect_file(h, "/link_rel", "myhost\n");
    expect_file(h, "/boot/back", "myhost\n");       /* .. out of the mount */
    expect_file(h, "/boot/etcabs/hostname", "myhost\n"); /* / is the guest's */
    expect_file(h, "/dir/up/hostname", "myhost\n");
    expect_file(h, "/rootlink/rootlink/boot/vmlinuz", "kernel");
    expect_file(h, "/../../etc/./hostname", "myhost\n");
    expect_file(h, "//boot//grub/../vmlinuz", "kernel");

    char buf[GFS_PATH_MAX];
    assert_int_equal(gfs_realpath(h, "/boot/back", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/etc/hostname");
    assert_int_equal(gfs_realpath(h, "/dir/up/../boot/grub", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/boot/grub");
    assert_int_equal(gfs_realpath(h, "/", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/");

    struct gfs_stat st, lst;
    assert_int_equal(gfs_lstat(h, "/link_abs", &lst), 0);
    assert_true(S_ISLNK(lst.mode));
    assert_int_equal(lst.size, strlen("/boot/vmlinuz"));
    assert_int_equal(gfs_stat(h, "/link_abs", &st), 0);
    assert_true(S_ISREG(st.mode));
    assert_int_equal(st.size, 6);
    assert_int_equal(st.blksize, 1024);
    assert_int_equal(gfs_stat(h, "/boot", &st), 0); /* the mounted root, inode 2 */
    assert_int_equal(st.ino, 2);
    assert_int_equal(gfs_readlink(h, "/boot/back", buf, sizeof(buf)), 15);
    assert_string_equal(buf, "../etc/hostname");
    assert_int_equal(gfs_readlink(h, "/etc", buf, sizeof(buf)), -EINVAL);

    assert_int_equal(gfs_stat(h, "/loop1", &st), -ELOOP);
    assert_int_equal(gfs_lstat(h, "/loop1", &st), 0);
    assert_int_equal(gfs_stat(h, "/dangling", &st), -ENOENT);
    assert_int_equal(gfs_stat(h, "/x/file/y", &st), -ENOTDIR);
    assert_int_equal(gfs_stat(h, "/x/file/", &st), -ENOTDIR);
    assert_int_equal(gfs_stat(h, "/nope", &st), -ENOENT);
    assert_non_null(strstr(gfs_last_error(h), "/nope"));
    assert_int_equal(gfs_stat(h, "etc", &st), -EINVAL);
    char *data;
    size_t len;
    assert_int_equal(gfs_read_file(h, "/boot", 100, &data, &len), -EISDIR);
    assert_int_equal(gfs_read_file(h, "/boot/vmlinuz", 3, &data, &len), -EFBIG);

    /* mounts: busy points, no double mount, umount order */
    assert_int_equal(gfs_mount(h, "/dev/sda2", "/boot"), -EBUSY);
    assert_int_equal(gfs_mount(h, "/dev/sda2", "/x/file"), -ENOTDIR);
    assert_int_equal(gfs_umount(h, "/"), -EBUSY);
    assert_int_equal(gfs_umount(h, "/dev/vda2"), 0);
    assert_int_equal(gfs_stat(h, "/boot/vmlinuz", &st), -ENOENT); /* the empty dir again */
    assert_int_equal(gfs_umount(h, "/boot"), -EINVAL);
    assert_int_equal(gfs_mount(h, "/dev/sda2", "/dir/up/../boot"), 0); /* canonical */
    assert_string_equal(gfs_mount_at(h, 1)->mountpoint, "/boot");
    gfs_umount_all(h);
    assert_int_equal(gfs_nmounts(h), 0);
    gfs_handle_free(h);
}

struct names {
    char buf[1024];
    size_t len;
};

static int collect(void *arg, const struct gfs_dirent *de)
{
    struct names *n = arg;
    n->len += (size_t)snprintf(n->buf + n->len, sizeof(n->buf) - n->len, "%.*s,",
                               (int)de->name_len, de->name);
    return 0;
}

static void test_readdir(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    struct gfs_handle *h = open_disk(true);
    struct names n = {0};
    assert_int_equal(gfs_readdir(h, "/boot", collect, &n), 0);
    assert_non_null(strstr(n.buf, "vmlinuz,"));
    assert_non_null(strstr(n.buf, "grub,"));
    assert_non_null(strstr(n.buf, "lost+found,"));
    assert_null(strstr(n.buf, "hostname"));
    n.len = 0;
    n.buf[0] = 0;
    assert_int_equal(gfs_readdir(h, "/dir/up", collect, &n), 0);
    assert_string_equal(n.buf, "hostname,");
    assert_int_equal(gfs_readdir(h, "/etc/hostname", collect, &n), -ENOTDIR);
    gfs_handle_free(h);
}

/* statfs as the kernel computes it: compared with a loop mount when the
 * machine allows one (root, loop devices), for ext2, ext3 and ext4 images
 * with 1 KiB and 4 KiB blocks. */
static void test_statvfs(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    struct gfs_handle *h = open_disk(true);
    struct gfs_statvfs sv;
    assert_int_equal(gfs_statvfs(h, "/boot/grub", &sv), 0);
    assert_int_equal(sv.bsize, 1024);
    assert_int_equal(sv.files, 1024); /* mke2fs: one inode per 4 KiB of a 4 MiB fs */
    assert_true(sv.bfree < sv.blocks && sv.bavail <= sv.bfree);
    assert_true(sv.flag & ST_RDONLY);
    gfs_handle_free(h);

    bool can_mount = getuid() == 0 && run("cd %s && mkdir -p m && truncate -s 8M lp.img && "
                                          "mke2fs -q -t ext4 lp.img && "
                                          "mount -o loop,ro lp.img m 2>/dev/null && umount m",
                                          tmp) == 0;
    if (!can_mount) {
        fprintf(stderr, "# no loop mounts here: kernel comparison skipped\n");
        return;
    }
    static const char *mkfs[] = {
        "-t ext4 img 8M",    "-t ext4 -b 4096 img 300M", "-t ext3 img 64M",
        "-t ext2 img 20M",   "-t ext4 -O ^has_journal img 40M",
        "-t ext4 -O meta_bg,^resize_inode img 90M", "-t ext4 -m 0 img 2G",
    };
    for (size_t i = 0; i < sizeof(mkfs) / sizeof(mkfs[0]); i++) {
        char out[256];
        assert_int_equal(run("cd %s && rm -f img && mke2fs -q -F -E lazy_itable_init=0 %s && "
                             "mount -o loop,ro img m && stat -f -c '%%S %%b %%f %%a %%c %%d' m "
                             "> kernel.txt; umount m",
                             tmp, mkfs[i]),
                         0);
        snprintf(out, sizeof(out), "%s/kernel.txt", tmp);
        FILE *f = fopen(out, "r");
        assert_non_null(f);
        unsigned long long k[6];
        assert_int_equal(fscanf(f, "%llu %llu %llu %llu %llu %llu", &k[0], &k[1], &k[2], &k[3],
                                &k[4], &k[5]),
                         6);
        fclose(f);
        char img[300];
        snprintf(img, sizeof(img), "%s/img", tmp);
        assert_int_equal(gfs_handle_new(&h), 0);
        assert_int_equal(gfs_add_drive(h, img, "raw"), 0);
        assert_int_equal(gfs_launch(h), 0);
        assert_int_equal(gfs_mount(h, "/dev/sda", "/"), 0);
        assert_int_equal(gfs_statvfs(h, "/", &sv), 0);
        fprintf(stderr, "# mke2fs %s: kernel %llu %llu %llu %llu %llu %llu, ours %llu %llu %llu "
                        "%llu %llu %llu\n",
                mkfs[i], k[0], k[1], k[2], k[3], k[4], k[5], (unsigned long long)sv.bsize,
                (unsigned long long)sv.blocks, (unsigned long long)sv.bfree,
                (unsigned long long)sv.bavail, (unsigned long long)sv.files,
                (unsigned long long)sv.ffree);
        assert_int_equal(sv.bsize, k[0]);
        assert_int_equal(sv.blocks, k[1]);
        assert_int_equal(sv.bfree, k[2]);
        assert_int_equal(sv.bavail, k[3]);
        assert_int_equal(sv.files, k[4]);
        assert_int_equal(sv.ffree, k[5]);
        gfs_handle_free(h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_readdir),
        cmocka_unit_test(test_statvfs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
